"""Stories: articles about one event, in several outlets' own words, grouped into one story.

Runs after dedup, entities and curation, over the whole corpus. Candidates are pairs of
articles within `stories.window_days` of each other that share a salient entity or a title
word; a candidate pair in one language is scored by the cosine of title and body, a pair
across languages by the overlap of their entities and of the names and numbers of title and
lead. Average linkage then merges groups while the mean similarity of every pair across them
(pairs never scored count 0) stays at or above `stories.threshold`, so one article that
resembles two unrelated groups never chains them into one story.

A word's weight in the cosine comes from how rare it is in the language at large (wordfreq's
French and English frequencies), not from the corpus: it does not move as articles come and
go, and on short texts it tells a place or a name from a common word better than a few
hundred articles can (bench/stories_cv.py). Only a word held by a large share of the corpus
(the period's topic) weighs less, by halves as that share doubles, so the weights change when
a word crosses such a step, rarely. A title's section label ("Val-d'Oise. Photo :") is no
part of the similarity (title_labels).

So the stage learns by steps (by_steps): it keeps its facts (how many articles hold each
token, title segment and candidate key) and its scored pairs in the store, and a build scores
only the pairs of the articles that changed, then merges again; the result is the grouping
from scratch (learn), bit for bit, which test_stories asserts.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import heapq
import importlib.metadata
import importlib.util
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from ..core.model import ENTITY_TYPES, Article
from ..core.store import StageCache, StoredOnce, digest
from ..core.versions import stage_version

log = logging.getLogger(__name__)

SALIENT = 6  # leading entities of each type that may propose a candidate pair
LEAD_WORDS = 80  # words of the body that count as its lead
ROW_CHUNK = 512  # articles scored at once against their window (bounds memory)
COMMON_KEY_SHARE = 0.05  # a key in more of the articles than this names the period, not an event
RARITY_FLOOR = 1e-8  # the frequency of a word wordfreq does not know (a rare name)
RARITY_POWER = 1.5  # weight = (-ln frequency) ** this: rare names and places over common words (2 joined
# a day's parliamentary items on make_seeds, 1 lowered the agreement on leads: bench/stories_cv.py)
BURST_SHARE = 0.2  # a word in more of the articles than this weighs half, a quarter past twice that...
BURST_MIN = 20  # ...when it is in more articles than this (small folders have no topic of the period)
LABEL_MIN = 3  # a title's leading segment shared by this many titles is a section label, not an event
LABEL_WORDS = 6  # ...when it is at most this many words
KEPT_PAIR = 0.5  # pairs under this share of the threshold are dropped: they count 0 in any mean
CLOSE_CALL = 0.1  # a pair scored this close to the threshold is a decision worth an editor's look
CLOSE_CALLS_KEPT = 100  # of those, the closest kept in the build report
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # an elision splits off ("l'état": "l", "etat"; "l" is too short)
_MARKS = re.compile(r"[\u0300-\u036f]+")
_TITLE_SEPARATOR = re.compile(r"\s*(?:[:|–—]|\.\s|\s-\s)\s*")  # "Val-d'Oise. Photo : ...", "Maroc - ..."


@dataclass
class StoryInput:
    """What the stage reads of an article (plain data, so tests can build it from content/)."""

    slug: str
    title: str
    lang: str | None
    date: str | None
    entities: dict[str, list[str]]
    text: str  # the body, paragraphs separated by blank lines


@dataclass
class Story:
    """Articles reporting one event: `members` are slugs, the lead article first."""

    slug: str
    members: list[str] = field(default_factory=list)


def fold(text: str) -> str:
    """Lowercase without accents: 'Élysée' and 'elysee' are one word (a whole text at once:
    one C pass rather than one call per word)."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))


@functools.lru_cache(maxsize=65536)
def fold_name(name: str) -> str:
    """fold() for an entity name: the same names recur across thousands of articles."""
    return fold(name)


def _stop_words() -> frozenset[str]:
    """French and English stop words (spaCy's lists), folded; loaded once.

    Each list is read from its own file: importing spacy.lang.fr would build the French
    tokenizer exceptions first, 5 s in a process where no French model was loaded.
    """
    global _STOP
    if _STOP is None:
        words: set[str] = set()
        spacy_dir = Path(importlib.util.find_spec("spacy").origin).parent
        for lang in ("fr", "en"):
            spec = importlib.util.spec_from_file_location(f"_stop_words_{lang}", spacy_dir / "lang" / lang / "stop_words.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            words |= module.STOP_WORDS
        _STOP = frozenset(fold(w) for w in words)
    return _STOP


_STOP: frozenset[str] | None = None


def words_of(text: str) -> list[str]:
    """Content words, folded and cut to 7 letters: a crude stem that joins 'confinement'
    and 'confinés' without a language model."""
    stop = _stop_words()
    return [word[:7] for word in _WORD.findall(fold(text)) if len(word) > 2 and word not in stop]


def anchors_of(text: str) -> list[str]:
    """Names and numbers, folded and cut as words_of() cuts (their rarity is looked up the same
    way): what a French and an English write-up of one event share."""
    stop = _stop_words()
    out = []
    for i, raw in enumerate(_WORD.findall(text)):
        if raw[:1].isupper() and i > 0 or raw.isdigit() and len(raw) >= 2:
            word = fold(raw)
            if word not in stop:
                out.append(word[:7])
    return out


def entity_keys(entities: dict[str, list[str]], limit: int | None = None) -> list[str]:
    """'type:name' keys of an article's entities (the `limit` most salient of each type)."""
    return [f"{t[0]}:{fold_name(name)}" for t in ENTITY_TYPES for name in (entities.get(t) or [])[:limit]]


def title_heads(title: str) -> list[tuple[str, int]]:
    """Each leading segment of TITLE that ends at a separator (folded, and where the rest
    starts): "Val-d'Oise. Photo : X" has "val-d'oise" and "val-d'oise. photo"."""
    heads = []
    for match in _TITLE_SEPARATOR.finditer(title):
        head = title[:match.start()]
        if 0 < len(head.split()) <= LABEL_WORDS and match.end() < len(title):
            heads.append((fold(head).strip(), match.end()))
    return heads


def title_labels(titles: Sequence[str | None]) -> frozenset[str]:
    """The corpus's section labels: leading title segments ("Coronavirus :", "Val-d'Oise.
    Photo :", "Maroc -") that LABEL_MIN or more titles share. A label names a rubric, not an
    event, so it carries no weight (without_label). A corpus fact: a segment reaching
    LABEL_MIN titles changes the features of the titles that hold it, and only those."""
    return labels_of(Counter(head for title in titles for head in heads_of(title)))


def heads_of(title: str | None) -> tuple[str, ...]:
    """TITLE's leading segments (title_heads), each once."""
    return tuple(sorted({head for head, _ in title_heads(title)})) if title else ()


def labels_of(heads: Counter[str]) -> frozenset[str]:
    """The section labels among title segments counted by the titles holding them (HEADS)."""
    return frozenset(head for head, n in heads.items() if n >= LABEL_MIN)


def without_label(title: str | None, labels: frozenset[str]) -> str:
    """TITLE less its longest leading section label."""
    title = title or ""
    cut = max((end for head, end in title_heads(title) if head in labels), default=0)
    return title[cut:]


@dataclass
class Features:
    """Per-article tokens the similarity needs, cached by the article's text. The words and
    anchors are token ids (token_ids: a 64-bit hash of each, in order, as the bytes of an
    array), so the corpus's matrix is made by numpy from stored arrays, not by Python
    over every token of every article at each build."""

    words: bytes  # title (twice: it names the event) and body
    title_words: str  # space-separated
    anchors: bytes  # names and numbers of title and lead


def token_ids(tokens: list[str]) -> bytes:
    """A stable 64-bit hash of each token (the same in every process and build; a collision
    among the corpus's tens of thousands of tokens has odds of about 1e-10)."""
    ids = {t: int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
           for t in set(tokens)}
    return np.fromiter((ids[t] for t in tokens), dtype=np.uint64, count=len(tokens)).tobytes()


def features_of(item: StoryInput) -> Features:
    title = words_of(item.title or "")
    lead = " ".join(item.text.split()[:LEAD_WORDS])
    return Features(words=token_ids(title + title + words_of(item.text)), title_words=" ".join(sorted(set(title))),
                    anchors=token_ids(anchors_of(f"{item.title or ''}. {lead}")))


def features_batch(items: Sequence[StoryInput]) -> list[Features]:
    """features_of() for a batch (in worker processes)."""
    return [features_of(it) for it in items]


def cached_features(items: list[StoryInput], cache: StageCache | None, mapper: Any = None) -> list[Features]:
    """features_of() every article, from the cache for texts seen before (the others through
    `mapper`, the pipeline's process pool, when given)."""
    keys = [feature_key(it) for it in items]
    known = cache.get_many(keys) if cache else {}
    todo = [i for i, k in enumerate(keys) if k not in known]
    todo_items = [items[i] for i in todo]
    computed = mapper(features_batch, todo_items) if mapper and len(todo) > 500 else features_batch(todo_items)
    fresh = {keys[i]: f for i, f in zip(todo, computed)}
    if cache:
        cache.put_many(fresh)
    known.update(fresh)
    return [known[k] for k in keys]


# ------------------------------------------------------------------------------------- weights

def _make_rarity_table() -> tuple[np.ndarray, np.ndarray]:
    """(sorted token ids, their weights) for every word wordfreq knows in French or English,
    folded and cut as words_of() does; a stem weighs as its most frequent form."""
    import wordfreq  # here: the table is read back from the store (importing it costs 0.1 s a build)

    frequency: dict[str, float] = {}
    for lang in ("fr", "en"):
        for word, f in wordfreq.get_frequency_dict(lang).items():
            stem = fold(word)[:7]
            if f > frequency.get(stem, 0.0):
                frequency[stem] = f
    ids = np.frombuffer(token_ids(list(frequency)), dtype=np.uint64)
    weights = (-np.log(np.fromiter(frequency.values(), dtype=np.float64, count=len(frequency)))) ** RARITY_POWER
    order = np.argsort(ids)
    return ids[order], weights[order]


_RARITY = StoredOnce(_make_rarity_table)  # 1.4 s to make, read back from the store in a few ms
RARITY_KEY = "rarity-table"  # its key in the stage's store


def rarity_table(cache: StageCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """_make_rarity_table(), once per process, kept in the stage's store when there is one (the
    stage's version names wordfreq's)."""
    return _RARITY.get(cache, cache.key(RARITY_KEY) if cache else "")


def rarity_weights(vocab: np.ndarray) -> np.ndarray:
    """The weight of each token id of VOCAB (see rarity_table; unknown: RARITY_FLOOR's)."""
    ids, weights = rarity_table()
    at = np.minimum(np.searchsorted(ids, vocab), len(ids) - 1)
    return np.where(ids[at] == vocab, weights[at], (-np.log(RARITY_FLOOR)) ** RARITY_POWER)


def name_rarity(keys: Sequence[str]) -> np.ndarray:
    """The weight of each entity key ('p:emmanuel macron'): that of its rarest word, so
    "France" weighs as a common word and "Leggeri" as an unknown one."""
    stems = [[w[:7] for w in _WORD.findall(key[2:])] or [key[2:]] for key in keys]
    flat = [stem for words in stems for stem in words]
    weights = rarity_weights(np.frombuffer(token_ids(flat), dtype=np.uint64)) if flat else np.zeros(0)
    bounds = np.cumsum([0] + [len(words) for words in stems])
    return np.array([weights[bounds[i]:bounds[i + 1]].max() for i in range(len(keys))], dtype=np.float64)


def damping(df: np.ndarray, n: int) -> np.ndarray:
    """1 for a token held by at most BURST_SHARE of the N articles (or at most BURST_MIN of
    them); past that, a half for each doubling of its share: the period's topic, not an event."""
    out = np.ones(len(df))
    bursty = (df > BURST_MIN) & (df > BURST_SHARE * n)
    out[bursty] = 0.5 ** np.ceil(np.log2(df[bursty] / (BURST_SHARE * n)))
    return out


@dataclass
class DocFreq:
    """How many articles hold each token: ids sorted, and their counts."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def of(self, vocab: np.ndarray) -> np.ndarray:
        if not len(self.ids):
            return np.zeros(len(vocab), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids, vocab), len(self.ids) - 1)
        return np.where(self.ids[at] == vocab, self.counts[at], 0)

    def updated(self, added: list[np.ndarray], removed: list[np.ndarray]) -> DocFreq:
        """The counts once the documents ADDED come and REMOVED go (each an array of its tokens)."""
        parts = [np.unique(a) for a in added] + [np.unique(a) for a in removed]
        if not parts:
            return self
        signs = np.concatenate([np.full(len(p), 1 if k < len(added) else -1, dtype=np.int64)
                                for k, p in enumerate(parts)])
        tokens, at = np.unique(np.concatenate(parts).astype(np.uint64), return_inverse=True)
        delta = np.bincount(at.ravel(), weights=signs, minlength=len(tokens)).astype(np.int64)
        tokens, delta = tokens[delta != 0], delta[delta != 0]
        ids = np.union1d(self.ids, tokens)
        counts = self.of(ids)
        counts[np.searchsorted(ids, tokens)] += delta
        kept = counts > 0
        return DocFreq(ids[kept], counts[kept])


TOKEN_KINDS = ("words", "anchors", "names")  # Tokens' and CorpusFacts' fields of each kind of token


@dataclass
class CorpusFacts:
    """What an article's similarity reads of the rest of the corpus: the number of articles
    and how many hold each token (words, names and numbers of title and lead, entity keys).
    A token's weight is its rarity in the language damped past a share of the corpus
    (damping), so it changes only when that damping steps: an article's vectors do not move
    as others come and go, and a build scores only the pairs of the articles that changed."""

    n: int
    words: DocFreq  # the kinds of TOKEN_KINDS, in its order
    anchors: DocFreq
    names: DocFreq
    cross_language: bool

    def weights(self, kind: str, vocab: np.ndarray, base: np.ndarray) -> np.ndarray:
        """BASE (each token's rarity) damped by the corpus's counts of tokens of KIND."""
        return base * damping(getattr(self, kind).of(vocab), self.n)


def _counts(arrays: list[np.ndarray]) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """The rows of token counts of ARRAYS (each document's token ids), their sorted vocabulary
    and how many documents hold each token of it."""
    flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint64)
    vocab, columns = np.unique(flat, return_inverse=True)  # 1.5M tokens at 10,000 articles
    rows = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
    m = sparse.csr_matrix((np.ones(len(flat)), (rows, columns.ravel())),
                          shape=(len(arrays), max(1, len(vocab))))  # repeated tokens summed: counts
    m.sort_indices()
    return m, vocab, np.bincount(m.indices, minlength=len(vocab))


def _normalised(m: sparse.csr_matrix, weight: np.ndarray, sublinear: bool) -> sparse.csr_matrix:
    """L2-normalised rows of the counts M, each count taken to 1 + log of it when SUBLINEAR,
    times its column's WEIGHT. Each row is computed from its own counts and the weights alone
    (in the order of its sorted token ids): the same bits whichever rows stand beside it."""
    m = m.copy()
    if sublinear:
        m.data = np.log(m.data) + 1
    m.data *= weight[m.indices]
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m.data /= np.repeat(np.where(norms > 0, norms, 1), np.diff(m.indptr))
    return m.astype(np.float32)


@dataclass
class Tokens:
    """What the similarity reads of each article: its Features' word and anchor token ids,
    its entity keys' ids and their rarities."""

    words: list[np.ndarray]
    anchors: list[np.ndarray]
    names: list[np.ndarray]
    name_weights: dict[int, float]  # entity key id -> its rarity (name_rarity)
    langs: np.ndarray

    @classmethod
    def of(cls, items: Sequence[StoryInput], feats: Sequence[Features]) -> Tokens:
        keys = [entity_keys(it.entities) for it in items]
        names = [np.frombuffer(token_ids(k), dtype=np.uint64) for k in keys]
        unique = sorted({k for ks in keys for k in ks})
        rarity = dict(zip(np.frombuffer(token_ids(unique), dtype=np.uint64).tolist(), name_rarity(unique).tolist()))
        return cls([np.frombuffer(f.words, dtype=np.uint64) for f in feats],
                   [np.frombuffer(f.anchors, dtype=np.uint64) for f in feats], names, rarity,
                   np.array([it.lang or "" for it in items]))


class Similarity:
    """The similarity of pairs of articles (TOKENS of them), by index: the cosine of title and
    body for a pair in one language (words weighted by their rarity, see CorpusFacts); across
    languages (when the FACTS say so), the overlap of their entities and of the names and
    numbers of title and lead, weighted the same way."""

    def __init__(self, tokens: Tokens, facts: CorpusFacts,
                 counted: dict[str, tuple[sparse.csr_matrix, np.ndarray, np.ndarray]] | None = None) -> None:
        """COUNTED: the _counts() of TOKENS' kinds, when made already."""
        def rows(kind: str, base: Callable[[np.ndarray], np.ndarray], sublinear: bool) -> sparse.csr_matrix:
            m, vocab, _ = counted[kind] if counted else _counts(getattr(tokens, kind))
            return _normalised(m, facts.weights(kind, vocab, base(vocab)), sublinear)

        self.text = rows("words", rarity_weights, True)
        self.cross_language = facts.cross_language
        if self.cross_language:
            def name_weight(vocab: np.ndarray) -> np.ndarray:
                return np.array([tokens.name_weights[t] for t in vocab.tolist()], dtype=np.float64)

            self.names = rows("names", name_weight, False)
            self.anchors = rows("anchors", rarity_weights, True)
        self.langs = tokens.langs

    def __call__(self, ri: np.ndarray, ci: np.ndarray) -> np.ndarray:
        same = (self.langs[ri] == self.langs[ci]) & (self.langs[ri] != "")
        # entity overlap blended into same-language scores lowered the agreement with human
        # ratings (SemEval: Pearson 0.83 alone, 0.81 with 0.3 of entities): it only proposes pairs
        score = np.zeros(len(ri))
        score[same] = _rowwise_dot(self.text, ri[same], ci[same])
        cross = ~same & self.cross_language
        if cross.any():
            score[cross] = (0.5 * _rowwise_dot(self.names, ri[cross], ci[cross])
                            + 0.5 * _rowwise_dot(self.anchors, ri[cross], ci[cross]))
        return score


def corpus_similarity(tokens: Tokens, cross_language: bool) -> tuple[Similarity, CorpusFacts]:
    """The similarity of the articles of TOKENS taken as the whole corpus, and its facts (each
    kind of token counted once for both)."""
    counted = {kind: _counts(getattr(tokens, kind)) for kind in TOKEN_KINDS}
    facts = CorpusFacts(len(tokens.words), *(DocFreq(vocab, df) for _, vocab, df in counted.values()),
                        cross_language)
    return Similarity(tokens, facts, counted), facts


def _day(date: str | None) -> int | None:
    try:
        return dt.date.fromisoformat(date).toordinal() if date else None
    except ValueError:
        return None


def candidate_keys(item: StoryInput, feats: Features) -> tuple[str, ...]:
    """The keys that propose an article's candidate pairs: its salient entities, its title's words."""
    return tuple(sorted(set(entity_keys(item.entities, SALIENT) + ["w:" + w for w in feats.title_words.split()])))


def common_keys(counts: Counter[str], n: int) -> frozenset[str]:
    """Keys held by more than COMMON_KEY_SHARE of N articles (and more than a handful): they
    name the period, not an event, and propose nothing."""
    floor = max(20, COMMON_KEY_SHARE * n)
    return frozenset(k for k, c in counts.items() if c > floor)


def _days(items: list[StoryInput]) -> np.ndarray:
    """Each article's day (an ordinal), -1 for an undated one."""
    return np.array([d if d is not None else -1 for d in (_day(it.date) for it in items)])


def scored_candidates(items: list[StoryInput], keys: list[tuple[str, ...]], key_counts: Counter[str],
                      similarity: Similarity, settings: dict[str, Any]) -> dict[tuple[int, int], float]:
    """Every candidate pair (i < j) of ITEMS, the whole corpus, with its similarity (see
    score), chunk by chunk: 100,000 articles have tens of millions of candidates, never all
    held at once. Candidates are pairs within the date window (an undated article may pair
    with any) that share a key (KEYS: candidate_keys) other than a common one."""
    scored: dict[tuple[int, int], float] = {}
    if len(items) < 2:
        return scored
    for first, second in _candidate_chunks(keys, common_keys(key_counts, len(items)), _days(items),
                                           settings["window_days"]):
        scored.update(score(first, second, similarity, settings))
    return scored


def candidate_pairs(items: list[StoryInput], keys: list[tuple[str, ...]], key_counts: Counter[str],
                    settings: dict[str, Any], touching: Sequence[int]) -> list[tuple[int, int]]:
    """The candidate pairs (i < j, sorted) of ITEMS one of whose articles is in TOUCHING (see
    scored_candidates)."""
    if len(items) < 2:
        return []
    return sorted(_candidates_touching(keys, common_keys(key_counts, len(items)), _days(items),
                                       settings["window_days"], touching))


def score(first: np.ndarray, second: np.ndarray, similarity: Similarity,
          settings: dict[str, Any]) -> dict[tuple[int, int], float]:
    """The similarity of the pairs (FIRST[k], SECOND[k]), indexes into SIMILARITY, those under
    KEPT_PAIR of the threshold left out (they count 0 in any mean)."""
    if not len(first):
        return {}
    scores = similarity(first, second)
    kept = scores >= KEPT_PAIR * settings["threshold"]
    return dict(zip(zip(first[kept].tolist(), second[kept].tolist()), scores[kept].tolist()))


def _within_window(days_a: np.ndarray, days_b: np.ndarray, window: int) -> np.ndarray:
    """Whether two articles' days (arrays or single days) are at most WINDOW apart; an
    undated article (-1) is within any window."""
    return (days_a < 0) | (days_b < 0) | (np.abs(days_a - days_b) <= window)


def _candidate_chunks(keys: list[tuple[str, ...]], common: frozenset[str], days: np.ndarray,
                      window: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every candidate pair, as arrays of first (< second) indexes and second ones, from one
    sparse product per chunk of articles sorted by day."""
    n = len(keys)
    incidence = _binary([[k for k in ks if k not in common] for ks in keys])
    # rows sorted by day so each chunk meets only the articles of its window; undated last
    order = sorted(range(n), key=lambda i: (days[i] < 0, days[i]))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    sorted_days = days[order]
    dated = int((sorted_days >= 0).sum())
    starts = [(s, min(s + ROW_CHUNK, dated)) for s in range(0, dated, ROW_CHUNK)]
    starts += [(s, min(s + ROW_CHUNK, n)) for s in range(dated, n, ROW_CHUNK)]
    for start, end in starts:
        rows = np.array(order[start:end])
        if start >= dated:  # undated articles: against every article before them in the order
            cols = np.array(order[:start + len(rows)])
        else:
            lo = int(np.searchsorted(sorted_days[:dated], sorted_days[start] - window, side="left"))
            hi = int(np.searchsorted(sorted_days[:dated], sorted_days[end - 1], side="right"))
            cols = np.array(order[lo:hi])
        shared = (incidence[rows] @ incidence[cols].T).tocoo()
        ri, ci = rows[shared.row], cols[shared.col]
        keep = position[ci] < position[ri]  # each pair once
        keep &= _within_window(days[ri], days[ci], window)
        ri, ci = ri[keep], ci[keep]
        yield np.minimum(ri, ci), np.maximum(ri, ci)


def _candidates_touching(keys: list[tuple[str, ...]], common: frozenset[str], days: np.ndarray,
                         window: int, touching: Sequence[int]) -> set[tuple[int, int]]:
    """The candidate pairs one of whose articles is in TOUCHING, from the holders of their keys."""
    wanted = {k for r in touching for k in keys[r] if k not in common}
    holders: dict[str, list[int]] = {}
    for i, ks in enumerate(keys):
        for k in ks:
            if k in wanted:
                holders.setdefault(k, []).append(i)
    found: set[tuple[int, int]] = set()
    for r in touching:
        for c in {c for k in keys[r] if k in wanted for c in holders[k]}:
            if c != r and _within_window(days[r], days[c], window):
                found.add((r, c) if r < c else (c, r))
    return found


def _binary(docs: list[list[str]]) -> sparse.csr_matrix:
    """Article x key incidence."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        for key in set(doc):
            rows.append(i)
            cols.append(vocab.setdefault(key, len(vocab)))
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                             shape=(len(docs), max(1, len(vocab))))


def pair_similarity(items: list[StoryInput], pairs: list[tuple[int, int]],
                    settings: dict[str, Any] | None = None) -> np.ndarray:
    """The similarity of these PAIRS (indexes into ITEMS), candidates and dates aside: what
    the tests and bench/stories_cv.py compare with people's ratings."""
    _, _, tokens = _rows_of(items, title_labels([it.title for it in items]), None, None)
    similarity, _ = corpus_similarity(tokens, cross_language(settings or {"cross_language": True}, items))
    return similarity(np.array([a for a, _ in pairs], dtype=np.int64), np.array([b for _, b in pairs], dtype=np.int64))


def _rowwise_dot(m: sparse.csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """m[a[k]] . m[b[k]] for every k, without forming the full product."""
    return np.asarray(m[a].multiply(m[b]).sum(axis=1), dtype=np.float64).ravel()


def average_linkage(n: int, pairs: dict[tuple[int, int], float], threshold: float) -> list[list[int]]:
    """Groups of 0..n-1: repeatedly merge the two groups whose mean pair similarity is highest
    (pairs never scored count 0) while it is at least `threshold`. Deterministic."""
    size = [1] * n
    neighbours: list[dict[int, float]] = [dict() for _ in range(n)]
    for (i, j), s in pairs.items():
        neighbours[i][j] = s
        neighbours[j][i] = s
    version = [0] * n
    heap = [(-s, i, j, 0, 0) for (i, j), s in pairs.items() if s >= threshold]
    heapq.heapify(heap)
    parent = list(range(n))
    while heap:
        neg, a, b, va, vb = heapq.heappop(heap)
        if version[a] != va or version[b] != vb or parent[a] != a or parent[b] != b:
            continue
        # a merges b: sums of similarities add up, the mean is recomputed from them
        parent[b] = a
        size[a] += size[b]
        version[a] += 1
        for c, s in neighbours[b].items():
            if c == a:
                continue
            neighbours[a][c] = neighbours[a].get(c, 0.0) + s
            del neighbours[c][b]
            neighbours[c][a] = neighbours[a][c]
        neighbours[a].pop(b, None)
        neighbours[b] = {}
        for c, s in neighbours[a].items():
            mean = s / (size[a] * size[c])
            if mean >= threshold:
                x, y = (a, c) if a < c else (c, a)
                heapq.heappush(heap, (-mean, x, y, version[x], version[y]))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        root = i
        while parent[root] != root:
            root = parent[root]
        groups.setdefault(root, []).append(i)
    return list(groups.values())


def lead_of_story(items: list[StoryInput], members: list[int]) -> int:
    """The earliest article; between equally early ones the most complete body, then the slug."""
    return min(members, key=lambda i: (items[i].date or "9999", -len(items[i].text), items[i].slug))


def make_story(items: list[StoryInput], members: list[int]) -> Story:
    """The story of these ITEMS: its lead first, then the others by date and slug."""
    lead = lead_of_story(items, members)
    rest = sorted((i for i in members if i != lead), key=lambda i: (items[i].date or "9999", items[i].slug))
    return Story(items[lead].slug, [items[lead].slug] + [items[i].slug for i in rest])


# ----------------------------------------------------------------------------- learn, by steps

@dataclass
class Row:
    """What the stage keeps of an article between builds: enough to tell whether it changed and
    to take it out of the corpus facts without reading it again."""

    digest: str  # of everything the stage reads of the article (item_digest)
    heads: tuple[str, ...]  # its title's leading segments (title_heads), counted for the labels
    features: str  # the key of its Features in the store
    keys: tuple[str, ...]  # its candidate keys (candidate_keys)
    names: bytes  # its entity keys' token ids


@dataclass
class StoriesState:
    """The stage's facts and results, kept in its store from one build to the next."""

    rows: dict[str, Row]  # article slug -> Row
    facts: CorpusFacts
    heads: Counter[str]  # title segment -> titles that hold it (LABEL_MIN of them: a label)
    keys: Counter[str]  # candidate key -> articles that hold it (common_keys)
    pairs: dict[tuple[str, str], float]  # (slug, slug) in slug order -> similarity, KEPT_PAIR and above
    stories: list[Story]
    close: list[dict[str, Any]]


def item_digest(item: StoryInput) -> str:
    # repr, not sorted JSON (twice the time): entities listed in another order only cost a rescoring
    return digest(repr((item.title, item.lang, item.date, item.entities)), item.text)


def feature_key(item: StoryInput) -> str:
    """The store's key of ITEM's Features (its title already less its label)."""
    return digest(stage_version("stories"), item.title or "", item.text)


def _rows_of(items: list[StoryInput], labels: frozenset[str], cache: StageCache | None,
             mapper: Any) -> tuple[list[Row], list[Features], Tokens]:
    """The Row, Features and Tokens of each of ITEMS."""
    unlabelled = [replace(it, title=without_label(it.title, labels)) for it in items]
    feats = cached_features(unlabelled, cache, mapper)
    tokens = Tokens.of(items, feats)
    rows = [Row(item_digest(it), heads_of(it.title), feature_key(bare), candidate_keys(it, f), names.tobytes())
            for it, bare, f, names in zip(items, unlabelled, feats, tokens.names)]
    return rows, feats, tokens


def cross_language(settings: dict[str, Any], items: Sequence[StoryInput]) -> bool:
    return bool(settings["cross_language"]) and len({it.lang for it in items}) > 1


def learn(items: list[StoryInput], settings: dict[str, Any], cache: StageCache | None = None,
          mapper: Any = None) -> StoriesState:
    """The stories of ITEMS (sorted by slug) from scratch: every fact counted, every candidate pair scored."""
    heads = Counter(head for it in items for head in heads_of(it.title))
    rarity_table(cache)  # from the store (or made and kept there) before the scoring reads it
    rows, _, tokens = _rows_of(items, labels_of(heads), cache, mapper)
    similarity, facts = corpus_similarity(tokens, cross_language(settings, items))
    keys = Counter(k for row in rows for k in row.keys)
    scored = scored_candidates(items, [row.keys for row in rows], keys, similarity, settings)
    pairs = {(items[i].slug, items[j].slug): s for (i, j), s in scored.items()}
    return settle(items, settings, {it.slug: row for it, row in zip(items, rows)}, facts, heads, keys, pairs)


def by_steps(state: StoriesState, items: list[StoryInput], settings: dict[str, Any], cache: StageCache,
             mapper: Any = None) -> StoriesState | None:
    """The stories of ITEMS (sorted by slug) from STATE, the build before's: only the pairs of
    the articles that changed are scored, and the result is learn()'s, bit for bit.

    None when a fact that other articles' vectors read changed, and learn() must run: a
    token's damping stepped (a word crossing a share of the corpus), a second language came or
    went. Rare by design: an edit or a day of new articles seldom moves either. A title segment
    becoming a section label (or ceasing to be one) only re-reads the titles that hold it; a
    candidate key becoming common (or ceasing to be), only the candidates of its holders."""
    old = state.rows
    changed = [i for i, it in enumerate(items) if it.slug not in old or old[it.slug].digest != item_digest(it)]
    present = {it.slug for it in items}
    leaving = [row for slug, row in old.items() if slug not in present]
    if not changed and not leaving:
        return state
    leaving += [old[items[i].slug] for i in changed if items[i].slug in old]
    heads = state.heads.copy()
    for row in leaving:
        heads.subtract(row.heads)
    heads.update(head for i in changed for head in heads_of(items[i].title))
    heads = +heads  # counts of zero go
    labels = labels_of(heads)
    flipped = labels ^ labels_of(state.heads)
    if flipped:  # the titles holding a new or a lost label read otherwise: they change too
        again = [i for i, it in enumerate(items) if it.slug in old and old[it.slug].digest == item_digest(it)
                 and not flipped.isdisjoint(old[it.slug].heads)]
        leaving += [old[items[i].slug] for i in again]
        changed = sorted(set(changed) | set(again))
    rows, feats, tokens = _rows_of([items[i] for i in changed], labels, cache, mapper)
    gone = cache.get_many([row.features for row in leaving])
    if len(gone) < len({row.features for row in leaving}):
        return None  # the store lost what the articles that left were made of
    facts = CorpusFacts(len(items), *(getattr(state.facts, kind).updated(
        getattr(tokens, kind), [np.frombuffer(getattr(gone[row.features], kind) if kind != "names" else row.names,
                                              dtype=np.uint64) for row in leaving])
        for kind in TOKEN_KINDS), cross_language(settings, items))
    if facts.cross_language != state.facts.cross_language:
        log.info("stories: from scratch, a language came or went")
        return None
    stepped = _damping_stepped(state.facts, facts)
    if stepped:
        log.info("stories: from scratch, the damping of %s stepped", stepped)
        return None
    keys = state.keys.copy()
    for row in leaving:
        keys.subtract(row.keys)
    keys.update(k for row in rows for k in row.keys)
    keys = +keys
    new_rows = {slug: row for slug, row in old.items() if slug in present}
    new_rows.update((items[i].slug, row) for i, row in zip(changed, rows))
    dirty = {slug for slug in old if slug not in present} | {items[i].slug for i in changed}
    # a key that became common proposes no pair any more, one that stopped being so proposes
    # pairs again: the candidates of the articles holding it are found again (not their scores)
    flipped_keys = common_keys(keys, len(items)) ^ common_keys(state.keys, state.facts.n)
    holders = []
    if flipped_keys:
        holders = [i for i, it in enumerate(items) if not flipped_keys.isdisjoint(new_rows[it.slug].keys)]
        log.info("stories: the candidates of %d articles found again (keys %s)", len(holders), sorted(flipped_keys))
    proposed = {items[i].slug for i in holders} | dirty
    pairs = {pair: s for pair, s in state.pairs.items() if pair[0] not in proposed and pair[1] not in proposed}
    found = candidate_pairs(items, [new_rows[it.slug].keys for it in items], keys, settings,
                            touching=sorted(set(changed) | set(holders)))
    todo = []
    for i, j in found:
        pair = (items[i].slug, items[j].slug)
        if pair[0] in dirty or pair[1] in dirty or pair not in state.pairs:
            todo.append((i, j))
        else:
            pairs[pair] = state.pairs[pair]
    involved = sorted({i for pair in todo for i in pair})
    mine = dict(zip(changed, feats))
    held = cache.get_many([new_rows[items[i].slug].features for i in involved if i not in mine])
    try:
        sub_feats = [mine[i] if i in mine else held[new_rows[items[i].slug].features] for i in involved]
    except KeyError:
        return None  # the store lost an article's Features
    similarity = Similarity(Tokens.of([items[i] for i in involved], sub_feats), facts)
    at = {i: k for k, i in enumerate(involved)}  # the similarity's rows are the involved articles
    scored = score(np.array([at[i] for i, _ in todo], dtype=np.int64), np.array([at[j] for _, j in todo], dtype=np.int64),
                   similarity, settings)
    pairs.update(((items[involved[a]].slug, items[involved[b]].slug), s) for (a, b), s in scored.items())
    return settle(items, settings, new_rows, facts, heads, keys, pairs)


def _damping_stepped(before: CorpusFacts, after: CorpusFacts) -> str | None:
    """The kind of the tokens of which one weighs otherwise in AFTER than in BEFORE (see
    damping), or None: only tokens held by more than BURST_MIN articles can."""
    kinds = TOKEN_KINDS if after.cross_language else ("words",)
    for kind in kinds:
        was, now = getattr(before, kind), getattr(after, kind)
        tokens = np.union1d(was.ids[was.counts > BURST_MIN], now.ids[now.counts > BURST_MIN])
        if np.any(damping(was.of(tokens), before.n) != damping(now.of(tokens), after.n)):
            return kind
    return None


def settle(items: list[StoryInput], settings: dict[str, Any], rows: dict[str, Row], facts: CorpusFacts,
           heads: Counter[str], keys: Counter[str], pairs: dict[tuple[str, str], float]) -> StoriesState:
    """The stories of the scored PAIRS (average linkage) and the close calls among them."""
    index = {it.slug: i for i, it in enumerate(items)}
    stories = [make_story(items, members) for members in
               average_linkage(len(items), {(index[a], index[b]): s for (a, b), s in pairs.items()},
                               settings["threshold"])]
    story_of = {slug: story.slug for story in stories for slug in story.members}
    threshold = settings["threshold"]
    close = sorted((abs(s - threshold), a, b, s) for (a, b), s in pairs.items() if abs(s - threshold) < CLOSE_CALL)
    return StoriesState(rows, facts, heads, keys, pairs, sorted(stories, key=lambda story: story.slug),
                        [{"a": a, "b": b, "score": round(s, 3), "together": story_of[a] == story_of[b]}
                         for _, a, b, s in close[:CLOSE_CALLS_KEPT]])


def cluster_stories(items: list[StoryInput], settings: dict[str, Any], cache: StageCache | None = None,
                    mapper: Any = None, close_calls: list[dict[str, Any]] | None = None) -> list[Story]:
    """Every article in exactly one story (alone: a story of its own); stories in slug order.

    CLOSE_CALLS, when given, gets the pairs scored within CLOSE_CALL of the threshold, the
    closest first: {a, b, score, together} (the editor's review queue)."""
    items = sorted(items, key=lambda it: it.slug)  # the same stories whatever the input order
    if not settings["enabled"]:
        return [Story(it.slug, [it.slug]) for it in items]
    state = learn(items, settings, cache, mapper)
    if close_calls is not None:
        close_calls += state.close
    return state.stories



def move_members(stories: list[Story], items: list[StoryInput], moves: dict[str, str]) -> list[Story]:
    """The editor's moves (curation.overrides.<slug>.story): an article taken out of its story
    (STORY_ALONE) or put into the story that holds another article. Applied in slug order, each to
    the stories as the moves before it left them; a move to an article not in the build
    leaves the article alone. Leads are chosen again as cluster_stories chooses them."""
    if not moves:
        return stories
    groups = {story.slug: list(story.members) for story in stories}
    home = {member: story.slug for story in stories for member in story.members}
    for slug, target in sorted(moves.items()):
        if slug not in home or target == slug:
            continue
        groups[home[slug]].remove(slug)
        key = home[target] if target in home else slug
        groups.setdefault(key, [])
        if key == slug and groups[key]:  # its own slug names a story it left: a fresh key
            key = f"{slug}\0alone"
            groups[key] = []
        groups[key].append(slug)
        home[slug] = key
    index = {it.slug: i for i, it in enumerate(items)}
    moved = [make_story(items, [index[m] for m in members]) for members in groups.values() if members]
    return sorted(moved, key=lambda story: story.slug)


def keep_published_slugs(stories: list[Story], previous: dict[str, str]) -> list[Story]:
    """A story keeps the slug it was published under (`previous`: article slug -> story slug
    of the published build) while the article of that slug is still one of its own: an
    earlier write-up joining a story does not move its page."""
    kept = []
    for story in stories:
        held = Counter(previous[m] for m in story.members if previous.get(m) in story.members)
        if held:
            slug = min(held, key=lambda s: (-held[s], story.members.index(s)))
            story = Story(slug, [slug] + [m for m in story.members if m != slug])
        kept.append(story)
    return kept


def story_input(article: Article) -> StoryInput:
    return StoryInput(slug=article.slug, title=article.title, lang=article.lang, date=article.date,
                      entities=article.entities, text=article.body)


def assign_stories(articles: list[Article], settings: dict[str, Any], cache_path: Path | None = None,
                   mapper: Any = None, previous: dict[str, str] | None = None,
                   moves: dict[str, str] | None = None) -> dict[str, Any]:
    """Set each article's `story` (the slug of its story's lead article); returns stats.stories.

    The editor's MOVES (article slug -> "alone" or another article's slug) are applied to the
    grouping (move_members). A story published before keeps its slug, and so its page (see
    keep_published_slugs). The grouping is made by steps from the build before's (by_steps).
    """
    items = sorted((story_input(a) for a in articles), key=lambda it: it.slug)
    if settings["enabled"]:
        cache = StageCache(cache_path, stage_version("stories"), "stories") if cache_path else None
        try:
            state = stored_state(items, settings, cache, mapper)
        finally:
            if cache:
                cache.close()
        stories, close = state.stories, state.close
    else:
        stories, close = [Story(it.slug, [it.slug]) for it in items], []
    stories = move_members(stories, items, moves or {})
    if previous and settings["enabled"]:
        stories = keep_published_slugs(stories, previous)
    story_of = {slug: s.slug for s in stories for slug in s.members}
    for art in articles:
        art.story = story_of.get(art.slug, art.slug)
    return {**story_stats(stories), "close_calls": close}


def stored_state(items: list[StoryInput], settings: dict[str, Any], cache: StageCache | None,
                 mapper: Any = None) -> StoriesState:
    """The stage's state for ITEMS: by steps from the one in the store, else learnt from
    scratch; kept in the store for the next build."""
    if cache is None:
        return learn(items, settings, None, mapper)
    rarity_table(cache)  # from the store (or made and kept there) before the scoring reads it
    key = cache.key("state", json.dumps(settings, sort_keys=True))
    before = cache.get_many([key]).get(key)
    state = by_steps(before, items, settings, cache, mapper) if before is not None else None
    if state is None:
        state = learn(items, settings, cache, mapper)
    if state is not before:
        cache.put_many({key: state})
    # what the next build reads: the Features of texts edited or gone and the states of other settings go
    cache.prune_to({key, cache.key(RARITY_KEY)} | {row.features for row in state.rows.values()})
    return state


def story_stats(stories: list[Story]) -> dict[str, Any]:
    """build-report.json stats.stories: how many stories, and how many of each size."""
    sizes = Counter(len(s.members) for s in stories)
    return {"count": len(stories), "multi_article": sum(n for size, n in sizes.items() if size > 1),
            "sizes": {str(size): sizes[size] for size in sorted(sizes)}}
