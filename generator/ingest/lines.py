"""One line of a text scrape read on its own: what it is before the corpus is looked at.

`analyse_line` runs in the read workers (cached per file): the boilerplate rule a line
matches, the dates and times in it, what is left once they are out (outlet, author), its
shape (dates, numbers and names abstracted) and whether it is prose. corpus/layout.py then
decides each page from these records and from what the whole corpus teaches.
"""
from __future__ import annotations

import re

from ..core.model import Line, Part
from .clean import boilerplate_rule, line_key
from .dates import find_dates, find_times

META_MAX_CHARS = 200  # a metadata line is short
SHAPE_MAX_WORDS = 15
TITLE_MAX_CHARS = 300
# Rules that name exact boilerplate; a line they match is never put back as article text.
EXACT_RULES = {"ticker", "image_report", "source_footer", "paywall", "subscriber_label", "message_links"}


# --------------------------------------------------------------------------- one line
_CONNECTOR = r"(?:le|la|on|at|à|dans|in|sur|de|du|am|um|the|el|il)"
# the words of a metadata line that states a revision rather than the publication
_REVISION_WORDS = (r"mis[e]? à jour|derni[èe]re mise à jour|modifi[ée]e?|actualis[ée]e?|updated|last updated|edited|"
                   r"aktualisiert")
REVISED = re.compile(rf"\b(?:{_REVISION_WORDS})\b", re.I)  # "Mis à jour le ...", "Publié le ..., modifié le ..."
_KEYWORDS = re.compile(
    r"^(?:(?:publi[ée]e?|mis[e]? en ligne|" + _REVISION_WORDS + r"|published|first published|posted|"
    r"date de publication|date|il y a|publicado|pubblicato|ver[öo]ffentlicht|source|sources|via|cr[ée]dits?|"
    r"credits?|from)(?:\s+" + _CONNECTOR + r")*\b\s*:?\s*)+", re.I)
_SLOT_TEMPLATE = re.compile(r"^\s*(?:publi[ée]e? dans|paru dans|published in|posted in)\s+(?P<name>\S.{0,79}?)\s+"
                            r"(?:le|on)\s+\|(?P<rest>.*)$", re.I)
_ONLY_CONNECTOR = re.compile(r"^" + _CONNECTOR + r"$", re.I)
_OUTLET_SLOT = re.compile(
    r"^(?:publi[ée]e? (?:dans|sur|par)|published (?:in|by)|posted (?:in|on)|source|sources|via|cr[ée]dits?|"
    r"credits?|from|paru dans|extrait de)\b\s*:?\s*", re.I)
_AUTHOR = re.compile(r"^(?:par|by|written by|écrit par|reported by|texte|propos recueillis par|"
                     r"auteur|author|por)\b\s*:?\s*", re.I)  # not "de", "von": "De Standaard" is an outlet
_TRAILING = re.compile(r"\s+(?:le|on|at|à|the|du|am|el|il)$", re.I)
# Any run of symbols between names separates them ("|", "·", "—", "~", "::", "¦", brackets, ...);
# apostrophes, dots, "&" and hyphens inside a name do not.
_SEPARATORS = re.compile(r"\s*(?:[^\w\s'’.&+-]+|(?<!\S)[-/:.]+(?!\S)|,|;)\s*")
_TAIL_SEPARATORS = re.compile(r"\s*(?:[^\w\s'’.&+()\[\]-]+|(?<!\S)[-/:.]+(?!\S)|,|;)\s*")
_PARTICLES = {"de", "du", "des", "la", "le", "les", "l", "d", "of", "the", "and", "et", "&", "en", "on", "in",
              "for", "am", "al", "el", "à", "a", "y", "di", "da", "do", "van", "von", "der", "den", "sur", "+"}
_WORD = re.compile(r"[\w'’.&+-]+")
_URL = re.compile(r"^(?:(?:url|source|lien|link)\s*:?\s*)?(https?://\S+)$", re.I)
_SENTENCE_END = re.compile(r"[.…][»\"”’)\]]*$")
_EXCLAIM_END = re.compile(r"[!?][»\"”’)\]]*$")
_CAPITALISED = re.compile(r"^[A-ZÀ-ÝÞ0-9]")
_CAMEL = re.compile(r"^[a-z]{1,2}[A-Z]")  # iNews, eBay
_SHAPE_WORD = re.compile(r"https?://\S+|\d+|[A-ZÀ-ÝÞ][\w'’.-]*|\w[\w'’-]*", re.U)
_SHAPE_WORTHY = re.compile(r"\d|[|·•/>»]")


def _is_name(text: str, explicit: bool) -> bool:
    """A name as an outlet or author is written: a few capitalised words, never a sentence."""
    words = _WORD.findall(text)
    if not words or not re.search(r"[^\W\d_]", text) or len(text) > (80 if explicit else 60):
        return False
    if explicit:  # the slot says it is a name: only refuse what reads as a sentence
        return len(words) <= 8 and not (len(words) >= 5 and _SENTENCE_END.search(text))
    if len(words) > 6 or (text.endswith(".") and len(words) > 2):
        return False
    lowered = 0
    for word in words:
        bare = re.sub(r"^[dlDL]['’]", "", word)  # d'Alsace, l'Express
        if (word.lower().strip(".'’") not in _PARTICLES and not _CAPITALISED.match(bare)
                and not _CAMEL.match(bare) and "." not in bare.strip(".")):  # 'lemonde.fr' is a name
            lowered += 1
    # "La Gazette des communes", "Coup d'œil": one lowercase word in a capitalised name
    return lowered == 0 or (lowered == 1 and len(words) <= 5 and bool(_CAPITALISED.match(words[0])))


def _parts(residue: str) -> tuple[tuple[Part, ...], bool, bool]:
    """(names, clean, keyword): the names in what is left of a line, whether nothing else is
    left, and whether a metadata keyword ("Publié", "Source", "By") introduced any of it."""
    parts: list[Part] = []
    explicit_next = keyword = False
    pieces = _SEPARATORS.split(residue)
    separators = _SEPARATORS.findall(residue)
    for n, segment in enumerate(pieces):
        in_brackets = n > 0 and separators[n - 1].strip() == "("
        segment = segment.strip(" .,;:-'\"")
        if not segment:
            continue
        slot = _OUTLET_SLOT.match(segment)
        explicit = explicit_next or bool(slot)
        if slot:
            segment = segment[slot.end():]
        stripped = _KEYWORDS.sub("", segment)
        keyword = keyword or bool(slot) or stripped != segment
        if not stripped or _ONLY_CONNECTOR.match(stripped):  # "Source", "Publié le": a name may follow
            explicit_next = explicit_next or bool(slot) or bool(re.match(r"(?i)source|via|from", segment))
            continue
        explicit_next = False
        author = _AUTHOR.match(stripped)
        if author:
            stripped = stripped[author.end():]
            keyword = True
        stripped = _TRAILING.sub("", stripped).strip(" .,;:-")
        if not stripped:
            continue
        if not _is_name(stripped, explicit):
            return tuple(parts), False, keyword
        if in_brackets and parts and not parts[-1].author and not author:
            parts[-1] = Part(f"{parts[-1].text} ({stripped})", explicit=parts[-1].explicit)  # "L'Express (Votre Argent)"
            continue
        parts.append(Part(stripped, author=bool(author), explicit=explicit))
    return tuple(parts), True, keyword


def _name_tail(segment: str) -> str | None:
    """The longest name that ends a piece of text ("la rédaction de La Voix du Nord")."""
    words = segment.strip(" .,;:-'\"").split()
    for k in range(max(0, len(words) - 6), len(words)):
        tail = " ".join(words[k:])
        if (_CAPITALISED.match(words[k]) or _CAMEL.match(words[k])) and _is_name(tail, False):
            return tail
    return None


def line_shape(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The line with its variable parts abstracted: dates, times, numbers, names, URLs."""
    out, pos = [], 0
    for start, end, token in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(f" {token} ")
        pos = end
    out.append(text[pos:])
    shape = []
    for piece in re.split(r"(\{date\}|\{time\})", "".join(out)):
        if piece in ("{date}", "{time}"):
            shape.append(piece)
            continue
        for m in _SHAPE_WORD.finditer(piece):
            word = m.group()
            shape.append("{url}" if word.startswith("http") else "0" if word.isdigit()
                         else "N" if _CAPITALISED.match(word) else word.lower())
        punct = re.sub(r"[\w\s'’.()\[\]-]+", " ", piece).split()  # brackets belong to names
        if punct:
            shape.append("".join(punct))
    return " ".join(_merge_names(shape))


def _merge_names(tokens: list[str]) -> list[str]:
    """One N for a whole name: 'La Voix du Nord', "Dernières Nouvelles d'Alsace", "Coup d'œil"."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if out and out[-1] == "N":
            if token == "N" or re.match(r"[dl]['’]\w", token):
                continue
            if token in _PARTICLES and i + 1 < len(tokens) and tokens[i + 1] == "N":
                continue
        out.append(token)
    return out


def is_prose(text: str, words: int) -> bool:
    """Reads as written sentences rather than a label, headline or credit."""
    if words >= 30:
        return True
    return words >= 6 and bool(_SENTENCE_END.search(text) or (words >= 12 and _EXCLAIM_END.search(text)))


def analyse_line(text: str) -> Line:
    """What a line is on its own (the corpus may still change its role)."""
    words = len(text.split())
    line = Line(text=text, words=words, rule=boilerplate_rule(text), prose=is_prose(text, words))
    if line.rule:
        return line
    line.key = line_key(text)
    if len(text) > META_MAX_CHARS:
        return line
    url = _URL.match(text)
    if url:
        line.url, line.meta = url.group(1), True
        return line
    dates = find_dates(text)
    times = find_times(text)
    spans = [(d.start, d.end, "{date}") for d in dates]
    spans += [(a, b, "{time}") for a, b in times if not any(s <= a < e for s, e, _ in spans)]
    if words <= SHAPE_MAX_WORDS and not line.prose and (spans or _SHAPE_WORTHY.search(text)):
        line.shape = line_shape(text, spans)  # learned shapes hold a date, time, number or a row of names
    residue = text
    for start, end, _ in sorted(spans, reverse=True):
        residue = residue[:start] + " | " + residue[end:]
    if not dates and (words > 8 or not (_is_name(text, False) or _AUTHOR.match(text) or _OUTLET_SLOT.match(text))):
        return line  # neither a dated line, nor a name alone, nor a byline or source line
    slot = _SLOT_TEMPLATE.match(residue)
    if slot:  # "Publié dans X le <date>": X is the outlet as written, whatever its characters
        parts, clean, _ = _parts(slot.group("rest"))
        parts, line.keyword = (Part(slot.group("name").strip(), explicit=True), *parts), True
    else:
        parts, clean, line.keyword = _parts(residue)
    if dates:
        line.dates = tuple(d.date for d in dates)
        line.parts = parts
        line.meta = clean and len(parts) <= 3
        if not line.meta:  # words around the names: a learned shape may vouch for the line
            line.parts = ()
            if line.shape:
                line.tails = tuple(t for t in map(_name_tail, _TAIL_SEPARATORS.split(residue)) if t)
    elif clean and parts and words <= 8:
        author_line = bool(_AUTHOR.match(text)) and len(parts) == 1
        source_line = bool(_OUTLET_SLOT.match(text))
        if author_line or source_line:  # "Par Jean Dupont", "Source : AFP"
            line.parts, line.meta = parts, True
        elif len(parts) == 1 and not spans and parts[0].text == text.strip(" .,;:"):
            line.parts, line.name_only = parts, True
    return line


def analyse_page(lines: list[str]) -> list[Line]:
    return [analyse_line(text) for text in lines]


def without_spent_furniture(page: list[Line]) -> list[Line]:
    """The page less the lines a rule took for good (a ticker is kilobytes, and a build may hold
    100,000 pages at once); prose that only a broad rule took stays, it may yet be the text."""
    return [line for line in page if not line.rule or (line.prose and line.rule not in EXACT_RULES)]


