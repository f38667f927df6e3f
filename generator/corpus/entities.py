"""People, organizations and places of every article, normalised across the corpus.

ner.py gives each article's entities as its own text names them. This stage joins the names
across the corpus (acronyms to the long forms another article defines, surnames to the one
full name they can stand for), picks one display form and one type per entity, looks for the
names the corpus knows verbatim in every text (which recovers mentions NER missed, and gives
articles in languages without a model their entities), then tags each article, most salient
first.
"""
from __future__ import annotations

import functools
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ..core.model import Article
from ..core.store import StageCache, digest
from ..core.versions import stage_version
from .ner import (
    MISC,
    ORG_WORD,
    TYPES,
    UPPER_ACRONYM,
    Found,
    Mapper,
    Mention,
    ModelServer,
    acronym_of,
    article_text,
    defined_acronyms,
    normalise_article,
    run_ner,
    typed_by_words,
)
from .reference import fold, load_reference

log = logging.getLogger(__name__)


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


FEW_FIRST_WORDS = 50  # up to this many, a text is first searched for each first word as a substring


def _may_occur(text: str, by_first: dict[str, list[tuple[str, str | None]]]) -> bool:
    """Whether a name of BY_FIRST may occur in TEXT (_candidates). A day's build changes a few
    names: their first words looked for as substrings (C-fast) rule out most of the corpus
    without splitting every text into words (0.9 s at 10,000 articles)."""
    if len(by_first) <= FEW_FIRST_WORDS and not any(word in text for word in by_first):
        return False
    return bool(_candidates(text, by_first))


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
            if k not in cached and k in stored and stored[k][0] == last[1] and not _may_occur(text, changed):
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
                    server: ModelServer | None = None, language: str | None = None) -> dict[str, Any]:
    """Fill art.entities for every article (in place); returns {corrections: how many entities
    each of the editor's corrections (aliases, types, ignore, canonical) changed, unsure: the
    entities shown whose type is the vote of a single mention (unsure_names)}.

    `ner_map` runs NER batches (and may advance a progress bar); `map_batches`, the other
    per-article work; both may spread it over processes. With keep_models the spaCy models
    stay loaded afterwards (build-site serve); SERVER (closed once NER is done) has them loaded already.
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
                     server: ModelServer | None = None, language: str | None = None) -> dict[str, Any]:
    reference = load_reference(cache)  # before NER: its workers clean names with it
    per_article, tagged = run_ner(articles, cache, ner_map, keep_models, server)
    if server is not None:  # its models and workers go before the verbatim pass forks its own
        server.close()
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
    shown = {(name, kind) for entities in tags for kind, listed in entities.items() for name in listed}
    return {"corrections": names.changed, "unsure": unsure_names(names, reference, editor, outlet_keys, shown)}


UNSURE_KEPT = 100  # unsure entities listed in the build report (the editor's review queue)


def unsure_names(names: CorpusNames, reference: Any, editor: Corrections, outlets: set[str],
                 shown: set[tuple[str, str]]) -> list[dict[str, str]]:
    """Entities SHOWN (name, type) whose type rests on one mention's NER label alone: no
    reference entry, not an outlet, no telling word, no editor's type ({name, type}, by name,
    at most UNSURE_KEPT)."""
    unsure = [{"name": name, "type": kind} for key, (name, kind) in names.known.items()
              if (name, kind) in shown and sum(names.display[key].values()) <= 1 and key not in editor.types
              and not reference.type_of(key) and key not in outlets and not typed_by_words(name)]
    return sorted(unsure, key=lambda u: (u["name"].casefold(), u["type"]))[:UNSURE_KEPT]


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
        local_forms = _tally(local or {}, self.joins).display
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
    tally = _tally(found, joins)
    changed["aliases"] = len(editor.aliases.keys() & tally.display.keys())
    types = _settle_types(tally, reference, outlets)
    joins.update(_corpus_acronyms(tally.display, types))  # "OIM" alone where another article defined it
    tally = _tally(found, joins)
    types = _settle_types(tally, reference, outlets)
    joins.update(_partial_names(tally.display, tally.votes, types))  # "Trump" -> "Donald Trump"
    tally = _tally(found, joins)
    display = tally.display
    evidence = _settle_types(tally, reference, outlets)
    forced = {key: kind for key, kind in editor.types.items() if key in display}
    types = {**evidence, **forced}  # the editor's type wins over all evidence
    changed["types"] = sum(evidence.get(key) != kind for key, kind in forced.items())
    known: dict[str, tuple[str, str]] = {}
    local_forms = _tally(local or {}, joins).display
    openers = {key.split()[0] for key, t in types.items() if t == "organizations" and " " in key}
    for key, forms in display.items():
        name = _display_form(local_forms.get(key) or forms, key if types.get(key) == "people" else None)
        if " " not in key and key in openers and key not in reference.types and ORG_WORD.fullmatch(name):
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


RawTally = dict[str, tuple[Counter[str], Counter[str], list[int]]]
# matching key -> (surface forms, labels: by mentions; [the most mentions labelled a person in one text])


def raw_tally(found_lists: Any) -> RawTally:
    """The mentions of FOUND_LISTS (one list per text) summed by matching key, before any join:
    the corpus-wide passes tally under changing joins several times, over these rather than
    every list."""
    out: RawTally = {}
    for found_list in found_lists:
        for f in found_list:
            forms, labels, peak = out.get(f.key) or out.setdefault(f.key, (Counter(), Counter(), [0]))
            forms[f.surface] += f.mentions
            labels[f.label] += f.mentions
            if f.label == "people" and f.mentions > peak[0]:
                peak[0] = f.mentions
    return out


@dataclass
class Tally:
    """Every entity's evidence under the keys the joins lead to."""

    display: dict[str, Counter[str]]  # surface forms, by mentions
    votes: dict[str, Counter[str]]  # labels, by mentions
    peaks: dict[str, int]  # the most mentions labelled a person in one text


def _tally(found: RawTally, joins: dict[str, str]) -> Tally:
    tally = Tally(defaultdict(Counter), defaultdict(Counter), defaultdict(int))
    resolve = _resolver(joins)
    for key, (forms, labels, peak) in found.items():
        key = resolve(key)
        tally.display[key].update(forms)
        tally.votes[key].update(labels)
        tally.peaks[key] = max(tally.peaks[key], peak[0])
    return tally


STRONG_VOTE = (10, 0.9)  # mentions and share with which the corpus overrules a reference list
PERSON_REPEATS = 4  # a one-word person stands alone when a text names it a person this many times


def _settle_types(tally: Tally, reference: Any, outlets: set[str]) -> dict[str, str]:
    """One type per entity from the evidence: a reference list's (unless the corpus strongly
    says otherwise), an outlet is an organization, words like "Parti" or "Strip", else the
    vote. An entity only NER's MISC label ever tagged, with none of this evidence, gets no type."""
    display, votes = tally.display, tally.votes
    person_words = {w for key, v in votes.items() if v.get("people") and len(key.split()) >= 2
                    for w in key.split()}
    surnames = {key.split()[-1] for key, v in votes.items() if v.get("people") and len(key.split()) >= 2}
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
        if " " not in key and not listed and _family(key, surnames, vote):
            continue  # "the Harrises", "the Soroses": a family, no one's page
        if label == "places" and not listed and _two_places(key, reference):
            continue  # "Russie La Chine", "Arequipa-Lima": two places run together, each found as written
        if label == "places" and not listed and typed.get("people") and " " in _display_form(forms):
            label = "people"  # a full name some text calls a person is no place no list knows ("Kyriakos Mitsotakis")
        if label == "people" and " " not in key and not (
                tally.peaks[key] >= PERSON_REPEATS and typed[vote] >= STRONG_VOTE[1] * total):
            # one word that joined no full name of the corpus (see _partial_names), which no text
            # names as a person again and again: a reader cannot tell who "Paul" is, and "Spurs",
            # "Abba" or "APA" are no one (a band, a team or an agency a list knows is typed above)
            continue
        if label in TYPES:
            out[key] = label
    return out


def _family(key: str, surnames: set[str], vote: str | None) -> bool:
    """Whether one word KEY is the plural of a surname of the corpus's people: "Harrises" of
    Harris, "Soroses" of Soros (an -es plural, after s, x, z, ch or sh), or "Obamas" when NER
    calls it a person ("the Hawks", an organization, stay: "Hawk" may be someone's surname)."""
    stem = key[:-2] if key.endswith("es") else ""
    if stem in surnames and stem.endswith(("s", "x", "z", "ch", "sh")):
        return True
    return vote == "people" and key.endswith("s") and key[:-1] in surnames


_RUN_TOGETHER = {"la", "le", "les", "l", "et", "and", "the"}  # what may stand between two places in one span


def _two_places(key: str, reference: Any) -> bool:
    """Whether KEY (folded: a hyphen is a space) is two places of the lists run together:
    "Russie La Chine" (two places with a word between), "Russie-France" (two places that are
    more than cities: "Stamford Bridge" is a stadium, not Stamford and Bridge)."""
    words = key.split()
    for cut in range(1, len(words)):
        left, right = " ".join(words[:cut]), words[cut:]
        between = False
        while right and right[0] in _RUN_TOGETHER:
            right, between = right[1:], True
        right_key = " ".join(right)
        if right and reference.type_of(left) == "places" == reference.type_of(right_key) and (
                between or left not in reference.cities and right_key not in reference.cities):
            return True
    return False


def _partial_names(display: dict[str, Counter[str]], votes: dict[str, Counter[str]],
                   types: dict[str, str]) -> dict[str, str]:
    """People named in part, joined to the one full name of the corpus they can stand for.

    "Trump" or "Ben Sedrine" (an ending) joins the full name when exactly one person of the
    corpus has that ending; a full name with a stray word in front ("Libérez Fariba
    Adelkhah") joins the better-known name it ends with; a name with a middle name or initial
    ("Donald J. Trump") joins the one two-word name of its first and last words. Otherwise a
    name stays apart.
    """
    people = [k for k, t in types.items() if t == "people"]
    joins = {}
    for key in people:
        words = key.split()
        tail = " ".join(words[1:])
        if (len(words) >= 3 and types.get(tail) == "people"
                and sum(display[tail].values()) > sum(display[key].values())):
            joins[key] = tail
    first_last = {tuple(key.split()): key for key in people if len(key.split()) == 2}
    for key in people:  # "Donald J. Trump", "Jacob Gedleyihlekisa Zuma": "Donald Trump", "Jacob Zuma"
        words = key.split()
        if len(words) >= 3 and key not in joins and (words[0], words[-1]) in first_last:
            joins[key] = first_last[(words[0], words[-1])]
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
        lone_institution = len(short.surface.split()) == 1 and len(opens) == 1 and ORG_WORD.search(short.surface)
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


def _display_form(forms: Counter[str], person: str | None = None) -> str:
    """The most frequent full form: longer names first, then frequency, then spelling.

    PERSON (a person's key): the forms that are the name itself, when there are any, rather
    than the parts joined to it ("Gary Mottola", however often the articles say "Mottola":
    a person's page kept its full name only while the surname alone was said less than 1.5
    times as often, so a day of articles saying "Mottola" renamed it)."""
    own = Counter({form: n for form, n in forms.items() if fold(form) == person}) if person else None
    return max((own or forms).items(), key=lambda kv: (kv[1] * (1 + 0.5 * (len(kv[0].split()) - 1)), kv[0]))[0]


def _corpus_acronyms(display: dict[str, Counter[str]], types: dict[str, str]) -> dict[str, str]:
    """Organization acronyms matching the initials of one known organization's long form."""
    shown = {key: _display_form(forms) for key, forms in display.items() if types.get(key) == "organizations"}
    by_initials: dict[str, list[str]] = defaultdict(list)
    for key, long_form in shown.items():
        if len(long_form.split()) >= 2:
            by_initials[acronym_of(long_form)].append(key)
    out = {}
    for key, surface in shown.items():
        if UPPER_ACRONYM.match(surface) and len(by_initials.get(surface, [])) == 1:
            out[key] = by_initials[surface][0]
    return out
