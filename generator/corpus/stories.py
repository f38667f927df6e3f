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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import wordfreq
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
    """Names and numbers, folded: what a French and an English write-up of one event share."""
    stop = _stop_words()
    out = []
    for i, raw in enumerate(_WORD.findall(text)):
        if raw[:1].isupper() and i > 0 or raw.isdigit() and len(raw) >= 2:
            word = fold(raw)
            if word not in stop:
                out.append(word)
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
    counts = Counter(head for title in titles if title for head in {h for h, _ in title_heads(title)})
    return frozenset(head for head, n in counts.items() if n >= LABEL_MIN)


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
    keys = [digest(stage_version("stories"), it.title or "", it.text) for it in items]
    known = cache.get_many(keys) if cache else {}
    todo = [i for i, k in enumerate(keys) if k not in known]
    todo_items = [items[i] for i in todo]
    computed = mapper(features_batch, todo_items) if mapper and len(todo) > 500 else features_batch(todo_items)
    fresh = {keys[i]: f for i, f in zip(todo, computed)}
    if cache:
        cache.put_many(fresh)
    known.update(fresh)
    return [known[k] for k in keys]


def story_features(items: list[StoryInput], cache: StageCache | None, mapper: Any = None) -> list[Features]:
    """cached_features() of ITEMS with their titles less the corpus's section labels."""
    labels = title_labels([it.title for it in items])
    return cached_features([replace(it, title=without_label(it.title, labels)) for it in items], cache, mapper)


def _weighted_rows(arrays: list[np.ndarray], column_weight: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   sublinear: bool = True) -> sparse.csr_matrix:
    """L2-normalised rows of token counts (ARRAYS: each document's token ids), each count taken
    to 1 + log of it when SUBLINEAR, times its column's weight: column_weight(vocab, df), df
    the number of documents that hold each token of the sorted vocabulary."""
    flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint64)
    vocab, columns = np.unique(flat, return_inverse=True)  # 1.5M tokens at 10,000 articles
    rows = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
    m = sparse.csr_matrix((np.ones(len(flat)), (rows, columns.ravel())),
                          shape=(len(arrays), max(1, len(vocab))))  # repeated tokens summed: counts
    m.sort_indices()
    weight = column_weight(vocab, np.bincount(m.indices, minlength=len(vocab)))
    if sublinear:
        m.data = np.log(m.data) + 1
    m.data *= weight[m.indices]
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m.data /= np.repeat(np.where(norms > 0, norms, 1), np.diff(m.indptr))
    return m.astype(np.float32)


def _tfidf(docs: Sequence[bytes | list[str]], sublinear: bool = True) -> sparse.csr_matrix:
    """L2-normalised TF-IDF rows of token ids (token_ids) or lists of tokens, weighted as
    scikit-learn's TfidfVectorizer does (smoothed idf, log tf) but counted by numpy: importing
    scikit-learn and its token loop in Python were most of this stage in an incremental build."""
    numbered: dict[str, int] = {}  # lists of tokens (a few entity keys each): numbered here, not hashed
    arrays = [np.frombuffer(doc, dtype=np.uint64) if isinstance(doc, bytes) else
              np.fromiter((numbered.setdefault(t, len(numbered)) for t in doc), dtype=np.uint64, count=len(doc))
              for doc in docs]
    return _weighted_rows(arrays, lambda vocab, df: np.log((1 + len(arrays)) / (1 + df)) + 1, sublinear)


def _make_rarity_table() -> tuple[np.ndarray, np.ndarray]:
    """(sorted token ids, their weights) for every word wordfreq knows in French or English,
    folded and cut as words_of() does; a stem weighs as its most frequent form."""
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


def rarity_table(cache: StageCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """_make_rarity_table(), once per process, kept in the stage's store when there is one (the
    stage's version names wordfreq's)."""
    return _RARITY.get(cache, cache.key("rarity-table") if cache else "")


def rarity_weights(vocab: np.ndarray) -> np.ndarray:
    """The weight of each token id of VOCAB (see rarity_table; unknown: RARITY_FLOOR's)."""
    ids, weights = rarity_table()
    at = np.minimum(np.searchsorted(ids, vocab), len(ids) - 1)
    return np.where(ids[at] == vocab, weights[at], (-np.log(RARITY_FLOOR)) ** RARITY_POWER)


def _weighted(docs: Sequence[bytes]) -> sparse.csr_matrix:
    """L2-normalised rows of token ids (token_ids) weighted by log tf and rarity_weights, a word
    in more than BURST_SHARE of the articles damped by halves (see the module's docstring)."""
    arrays = [np.frombuffer(doc, dtype=np.uint64) for doc in docs]

    def rarity_damped(vocab: np.ndarray, df: np.ndarray) -> np.ndarray:
        weight = rarity_weights(vocab)
        bursty = (df > BURST_MIN) & (df > BURST_SHARE * len(arrays))
        weight[bursty] *= 0.5 ** np.ceil(np.log2(df[bursty] / (BURST_SHARE * len(arrays))))
        return weight

    return _weighted_rows(arrays, rarity_damped)


def _day(date: str | None) -> int | None:
    try:
        return dt.date.fromisoformat(date).toordinal() if date else None
    except ValueError:
        return None


class Similarity:
    """The similarity of pairs of ITEMS, by index: the cosine of title and body for a pair in
    one language (words weighted by their rarity, see _weighted); across languages (when
    `cross_language` is on and the corpus has several), the overlap of their entities and of
    the names and numbers of title and lead."""

    def __init__(self, items: list[StoryInput], feats: list[Features], settings: dict[str, Any]) -> None:
        self.text = _weighted([f.words for f in feats])
        self.cross_language = bool(settings["cross_language"]) and len({it.lang for it in items}) > 1
        self.ents = _tfidf([entity_keys(it.entities) for it in items], sublinear=False) if self.cross_language else None
        self.anchors = _tfidf([f.anchors for f in feats]) if self.cross_language else None
        self.langs = np.array([it.lang or "" for it in items])

    def __call__(self, ri: np.ndarray, ci: np.ndarray) -> np.ndarray:
        same = (self.langs[ri] == self.langs[ci]) & (self.langs[ri] != "")
        # entity overlap blended into same-language scores lowered the agreement with human
        # ratings (SemEval: Pearson 0.83 alone, 0.81 with 0.3 of entities): it only proposes pairs
        score = np.zeros(len(ri))
        score[same] = _rowwise_dot(self.text, ri[same], ci[same])
        cross = ~same & self.cross_language
        if cross.any():
            score[cross] = (0.5 * _rowwise_dot(self.ents, ri[cross], ci[cross])
                            + 0.5 * _rowwise_dot(self.anchors, ri[cross], ci[cross]))
        return score


def score_pairs(items: list[StoryInput], feats: list[Features], settings: dict[str, Any]) -> dict[tuple[int, int], float]:
    """Similarity of every candidate pair (i < j), by index into `items`.

    Candidates are pairs within the date window (an undated article may pair with any) that
    share a salient entity or a title word; both come from one sparse product per chunk.
    """
    n = len(items)
    if n < 2:
        return {}
    similarity = Similarity(items, feats, settings)
    keys = _binary([entity_keys(it.entities, SALIENT) + ["w:" + w for w in f.title_words.split()]
                    for it, f in zip(items, feats)], COMMON_KEY_SHARE)
    days = np.array([d if d is not None else -1 for d in (_day(it.date) for it in items)])
    window = settings["window_days"]
    # rows sorted by day so each chunk meets only the articles of its window; undated last
    order = sorted(range(n), key=lambda i: (days[i] < 0, days[i]))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    sorted_days = days[order]
    dated = int((sorted_days >= 0).sum())
    pairs: dict[tuple[int, int], float] = {}
    starts = [(s, min(s + ROW_CHUNK, dated)) for s in range(0, dated, ROW_CHUNK)]
    starts += [(s, min(s + ROW_CHUNK, n)) for s in range(dated, n, ROW_CHUNK)]
    for start, end in starts:
        rows = np.array(order[start:end])
        if start >= dated:  # undated articles: against every article before them in the order
            cols = np.array(order[:start + len(rows)])
        else:
            lo = int(np.searchsorted(sorted_days[:dated], sorted_days[start] - window, side="left"))
            hi_day = sorted_days[end - 1]
            hi = int(np.searchsorted(sorted_days[:dated], hi_day, side="right"))
            cols = np.array(order[lo:hi])
        shared = (keys[rows] @ keys[cols].T).tocoo()
        ri, ci = rows[shared.row], cols[shared.col]
        keep = position[ci] < position[ri]  # each pair once
        d_r, d_c = days[ri], days[ci]
        keep &= (d_r < 0) | (d_c < 0) | (np.abs(d_r - d_c) <= window)
        ri, ci = ri[keep], ci[keep]
        if not len(ri):
            continue
        score = similarity(ri, ci)
        floor = KEPT_PAIR * settings["threshold"]
        for i, j, s in zip(ri.tolist(), ci.tolist(), score.tolist()):
            if s >= floor:
                pairs[(i, j) if i < j else (j, i)] = s
    return pairs


def pair_similarity(items: list[StoryInput], pairs: list[tuple[int, int]],
                    settings: dict[str, Any] | None = None) -> np.ndarray:
    """The similarity of these PAIRS (indexes into ITEMS), candidates and dates aside: what
    the tests and bench/stories_cv.py compare with people's ratings."""
    similarity = Similarity(items, story_features(items, None), settings or {"cross_language": True})
    return similarity(np.array([a for a, _ in pairs], dtype=np.int64), np.array([b for _, b in pairs], dtype=np.int64))


def _binary(docs: list[list[str]], max_share: float) -> sparse.csr_matrix:
    """Article x key incidence; a key held by more than `max_share` of the articles (and by
    more than a handful) proposes nothing: it names the period, not an event."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        for key in set(doc):
            rows.append(i)
            cols.append(vocab.setdefault(key, len(vocab)))
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(docs), max(1, len(vocab))))
    df = np.asarray(m.sum(axis=0)).ravel()
    common = df > max(20, max_share * len(docs))
    if common.any():
        m = m @ sparse.diags((~common).astype(np.float32))
        m.eliminate_zeros()
    return m.tocsr()


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


def cluster_stories(items: list[StoryInput], settings: dict[str, Any], cache: StageCache | None = None,
                    mapper: Any = None, close_calls: list[dict[str, Any]] | None = None) -> list[Story]:
    """Every article in exactly one story (alone: a story of its own); stories in slug order.

    CLOSE_CALLS, when given, gets the pairs scored within CLOSE_CALL of the threshold, the
    closest first: {a, b, score, together} (the editor's review queue)."""
    items = sorted(items, key=lambda it: it.slug)  # the same stories whatever the input order
    if not settings["enabled"]:
        return [Story(it.slug, [it.slug]) for it in items]
    feats = story_features(items, cache, mapper)
    rarity_table(cache)  # from the store (or made and kept there) before the scoring reads it
    pairs = score_pairs(items, feats, settings)
    log.info("stories: %d scored pairs among %d articles", len(pairs), len(items))
    stories = []
    for members in average_linkage(len(items), pairs, settings["threshold"]):
        stories.append(make_story(items, members))
    if close_calls is not None:
        story_of = {slug: story.slug for story in stories for slug in story.members}
        threshold = settings["threshold"]
        close = sorted(((abs(score - threshold), items[i].slug, items[j].slug, score) for (i, j), score in pairs.items()
                        if abs(score - threshold) < CLOSE_CALL))[:CLOSE_CALLS_KEPT]
        close_calls += [{"a": a, "b": b, "score": round(score, 3), "together": story_of[a] == story_of[b]}
                        for _, a, b, score in close]
    return sorted(stories, key=lambda s: s.slug)


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
    keep_published_slugs).

    The grouping is cached as a whole by a digest of what it reads, and per-article tokens by
    text, so a rebuild where only templates or one article changed redoes little.
    """
    cache = StageCache(cache_path, stage_version("stories"), "stories") if cache_path else None
    try:
        items = [story_input(a) for a in articles]
        key = digest(stage_version("stories"), json.dumps(settings, sort_keys=True),  # the code's too
                     *(json.dumps([it.slug, it.title, it.lang, it.date, it.entities], sort_keys=True) + it.text
                       for it in sorted(items, key=lambda it: it.slug)))
        known = cache.get_many([key]) if cache else {}
        stories, close = known.get(key) or (None, [])
        if stories is None:
            stories = cluster_stories(items, settings, cache, mapper, close)
            if cache:
                cache.put_many({key: (stories, close)})
                cache.prune()  # every article's tokens were looked up: the others are gone
    finally:
        if cache:
            cache.close()
    stories = move_members(stories, items, moves or {})
    if previous and settings["enabled"]:
        stories = keep_published_slugs(stories, previous)
    story_of = {slug: s.slug for s in stories for slug in s.members}
    for art in articles:
        art.story = story_of.get(art.slug, art.slug)
    return {**story_stats(stories), "close_calls": close}


def story_stats(stories: list[Story]) -> dict[str, Any]:
    """build-report.json stats.stories: how many stories, and how many of each size."""
    sizes = Counter(len(s.members) for s in stories)
    return {"count": len(stories), "multi_article": sum(n for size, n in sizes.items() if size > 1),
            "sizes": {str(size): sizes[size] for size in sorted(sizes)}}
