"""Near-duplicate clusters on cleaned bodies, and one canonical article per cluster.

Exact copies (same body words) are grouped first by hash. One representative of each group
gets a MinHash signature (datasketch) of its word shingles; LSH banding over the signatures
proposes candidate pairs, as do documents sharing a real headline; each candidate is then
checked exactly on the shingle sets, by Jaccard (rescrapes, reworded copies) or by
containment (a clean copy inside its raw scrape, a syndicated copy with its last paragraph
trimmed). Clusters are the connected components (union-find).
"""
from __future__ import annotations

import functools
import logging
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.model import DUPLICATE, Article, Document
from ..core.store import StageCache
from ..core.versions import stage_version
from .permalinks import assign_slugs

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
MAX_TITLE_GROUP = 50
MAX_BUCKET = 200
SCHEME = "affine32"  # datasketch 2's permutation scheme for 32-bit hash values
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class Link:
    """Why a document joined its cluster: the pair and the similarity figures that matched."""

    other: str  # key of the document it was found to duplicate
    rule: str  # exact, jaccard, containment or excerpt
    jaccard: float = 1.0
    containment: float = 1.0

    def describe(self, threshold: dict[str, Any]) -> str:
        if self.rule == "exact":
            return f"exact copy of {self.other} (same body after cleaning)"
        if self.rule == "excerpt":
            return (f"excerpt of {self.other}: opens as it does, containment {self.containment:.2f} "
                    f"(rule: containment >= {threshold['containment']})")
        bar = threshold[self.rule]
        return (f"near-duplicate of {self.other}: jaccard {self.jaccard:.2f}, containment "
                f"{self.containment:.2f} (rule: {self.rule} >= {bar})")


class _WithoutMarks(dict):
    """A str.translate table that deletes combining marks, filled as characters are first met
    (a C lookup per character instead of a Python call)."""

    def __missing__(self, code: int) -> int | None:
        self[code] = None if unicodedata.combining(chr(code)) else code
        return self[code]


_NO_MARKS = _WithoutMarks()


def normalise_words(text: str) -> list[str]:
    """Lowercase words without accents or punctuation, so typography never hides a copy."""
    return _WORD.findall(unicodedata.normalize("NFKD", text.lower()).translate(_NO_MARKS))


def shingle_set(words: list[str], k: int) -> np.ndarray:
    """Sorted unique 32-bit hashes of the k-word shingles (a short text is one shingle)."""
    if not words:
        return np.zeros(0, dtype=np.uint32)
    word_hashes = np.array([zlib.crc32(w.encode()) for w in words], dtype=np.uint64)
    k = min(k, len(word_hashes))
    n = len(word_hashes) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):  # polynomial rolling combination, wrapping in 64 bits
        acc = acc * _MIX + word_hashes[j:j + n]
    return np.unique(((acc >> np.uint64(32)) ^ acc).astype(np.uint32))


def _title_key(doc: Document) -> str:
    """Normalised real title, or '' for a derived or missing one."""
    return " ".join(normalise_words(doc.title)) if doc.title and not doc.title_derived else ""


LEAD_WORDS = 12  # an excerpt (a feed's summary, an alert's snippet, a paywall stub) opens as its article does


def _lead_key(doc: Document) -> str:
    """The body's first LEAD_WORDS words, lowercased, or '' for a shorter body."""
    opening = ""
    for line in doc.lines:
        opening += line + " "
        if len(opening) >= 40 * LEAD_WORDS:
            break
    words = _WORD.findall(opening[:40 * LEAD_WORDS].lower())[:LEAD_WORDS]
    return " ".join(words) if len(words) == LEAD_WORDS else ""


def _identity(value: int) -> int:  # shingles are already hashed
    return value


class UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if rb < ra:  # the smaller key is the root: independent of input order
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True


def similarity(shared: int, size_a: int, size_b: int) -> tuple[float, float]:
    """(Jaccard, containment in the smaller set) of two shingle sets sharing SHARED shingles."""
    if not size_a or not size_b:
        return 0.0, 0.0
    return shared / (size_a + size_b - shared), shared / min(size_a, size_b)


def signature_batch(k: int, num_perm: int, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(shingle set, MinHash values) per text; runs in worker processes."""
    from datasketch import (
        MinHash,  # imported here: a build with nothing to do never needs it
    )

    shingles = [shingle_set(normalise_words(t), k) for t in texts]
    signatures = MinHash.bulk((s.tolist() for s in shingles), num_perm=num_perm, hashfunc=_identity,
                              seed=1, scheme=SCHEME)
    return [(s, m.hashvalues) for s, m in zip(shingles, signatures)]


class Signatures:
    """signature_batch() of each document's body: the MinHash values of all (a row each of
    `matrix`); the shingle sets only as `overlaps` needs them, so a build loads from the store
    the sets of the pairs it has not checked before and no other. Stored under the body's hash (the words,
    lowercased: all a signature reads), as the arrays' bytes (ten thousand load several times
    faster than pickled arrays)."""

    def __init__(self, docs: list[Document], k: int, num_perm: int, map_batches: Callable[..., list],
                 cache: StageCache | None) -> None:
        self.cache, self.k = cache, k
        self.hashes = [doc.body_hash for doc in docs]
        compute = functools.partial(signature_batch, k, num_perm)
        if cache is None:
            computed = map_batches(compute, [doc.body for doc in docs])
            self.sets: dict[int, np.ndarray] = {i: sh for i, (sh, _) in enumerate(computed)}
            self.matrix = _stack([hv for _, hv in computed], num_perm)
            return
        keys = [cache.key("minhash", str(k), str(num_perm), h) for h in self.hashes]
        known = cache.get_many(set(keys))
        todo = sorted({key: i for i, key in enumerate(keys) if key not in known}.values())
        computed = map_batches(compute, [docs[i].body for i in todo])
        self.sets = {i: sh for i, (sh, _) in zip(todo, computed)}
        known.update((keys[i], hv.astype(np.uint32, copy=False).tobytes()) for i, (_, hv) in zip(todo, computed))
        cache.put_many({keys[i]: known[keys[i]] for i in todo}
                       | {self._set_key(i): sh.tobytes() for i, sh in self.sets.items()})
        cache.keep(*(self._set_key(i) for i in range(len(docs)) if i not in self.sets))
        self.matrix = _stack([np.frombuffer(known[key], dtype=np.uint32) for key in keys], num_perm)

    def _set_key(self, i: int) -> str:
        assert self.cache is not None
        return self.cache.key("shingles", str(self.k), self.hashes[i])

    def overlaps(self, pairs: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
        """(shared shingles, size of the first set, size of the second) of each index pair; from
        the store for pairs checked before, the shingle sets loaded once for the others."""
        if self.cache is None:
            return [_overlap(self.sets[i], self.sets[j]) for i, j in pairs]
        keys = [self.cache.key("pair", str(self.k), self.hashes[i], self.hashes[j]) for i, j in pairs]
        known = self.cache.get_many(set(keys))
        todo = [n for n, key in enumerate(keys) if key not in known]
        missing = sorted({i for n in todo for i in pairs[n]} - self.sets.keys())
        loaded = self.cache.get_many(self._set_key(i) for i in missing)
        self.sets.update((i, np.frombuffer(loaded[self._set_key(i)], dtype=np.uint32)) for i in missing)
        fresh = {keys[n]: _overlap(self.sets[pairs[n][0]], self.sets[pairs[n][1]]) for n in todo}
        self.cache.put_many(fresh)
        known.update(fresh)
        return [known[key] for key in keys]


def _stack(rows: list[np.ndarray], num_perm: int) -> np.ndarray:
    return np.stack(rows) if rows else np.zeros((0, num_perm), dtype=np.uint32)


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    shared = len(np.intersect1d(a, b, assume_unique=True)) if len(a) and len(b) else 0
    return shared, len(a), len(b)


@functools.lru_cache(maxsize=None)
def _pairs_within(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (i < j) index pair of a bucket of SIZE members."""
    return np.triu_indices(size, 1)


def lsh_candidates(signatures: np.ndarray, threshold: float, margin: float = 0.1) -> np.ndarray:
    """Index pairs (i < j) that share a band of their MinHash signatures, keeping those whose
    signature agreement estimates a Jaccard of at least threshold - margin.

    The banding is done in numpy over the signature matrix: datasketch's MinHashLSH keeps a
    Python set per bucket per band, which costs about 1 GB at 100,000 documents.
    """
    n, num_perm = signatures.shape
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    from datasketch.lsh import _optimal_param  # the (bands, rows) MinHashLSH would use

    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    found = []
    for band in range(bands):
        block = signatures[:, band * rows:(band + 1) * rows].astype(np.uint64)
        key = np.zeros(n, dtype=np.uint64)
        for col in range(rows):
            key = key * _MIX + block[:, col]
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, n])
        pairs_of_two = starts[sizes == 2]  # most buckets: one pair, all of them at once
        first, second = order[pairs_of_two], order[pairs_of_two + 1]
        found.append(np.stack([np.minimum(first, second), np.maximum(first, second)], axis=1))
        for start, size in zip(starts[sizes > 2], sizes[sizes > 2]):
            if size > MAX_BUCKET:  # a bucket this full is noise, not copies
                continue
            members = np.sort(order[start:start + size])
            left, right = _pairs_within(int(size))
            found.append(np.stack([members[left], members[right]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.unique(np.concatenate(found), axis=0)
    agreement = np.empty(len(pairs))
    for start in range(0, len(pairs), 100_000):  # bounded memory for the comparison
        chunk = pairs[start:start + 100_000]
        agreement[start:start + len(chunk)] = (signatures[chunk[:, 0]] == signatures[chunk[:, 1]]).mean(axis=1)
    return pairs[agreement >= threshold - margin]


def _serial(func: Callable[[Sequence[str]], list], items: Sequence[str]) -> list:
    return func(items)


def cluster_duplicates(docs: list[Document], settings: dict[str, Any],
                       map_batches: Callable[[Callable[[Sequence[str]], list], Sequence[str]], list] = _serial,
                       cache: StageCache | None = None) -> tuple[list[list[Document]], dict[str, Link]]:
    """Group documents telling the same story in the same words.

    Returns the clusters (each sorted by document key, clusters sorted by their first key)
    and, for every document in a cluster of two or more, a Link to a document it copies.
    `map_batches` may spread the signature work over processes; `cache` keeps signatures
    by body between builds.
    """
    by_key = {d.key: d for d in docs}
    keys = sorted(by_key)
    uf = UnionFind(keys)
    links: dict[str, Link] = {}
    k = settings["shingle_words"]

    # 1. exact copies, by a hash of the body: nearly free, and spares them the MinHash work
    first_with: dict[bytes, str] = {}
    representatives = []
    for key in keys:
        digest = by_key[key].body_hash
        if digest in first_with:
            uf.union(first_with[digest], key)
            links[key] = Link(first_with[digest], "exact")
            links.setdefault(first_with[digest], Link(key, "exact"))
        else:
            first_with[digest] = key
            representatives.append(key)

    # 2. MinHash signatures (datasketch), LSH banding for candidates, then an exact check
    signatures = Signatures([by_key[key] for key in representatives], k, settings["num_perm"], map_batches, cache)
    pairs = lsh_candidates(signatures.matrix, settings["lsh_threshold"])
    # Same real headline: candidates too, since a wire copy cut to its lead can fall below the
    # LSH threshold yet keeps its headline.
    titles = [_title_key(by_key[key]) for key in representatives]
    same_title: dict[str, list[int]] = defaultdict(list)
    for i, title in enumerate(titles):
        if title:
            same_title[title].append(i)
    extra = [(a, b) for members in same_title.values() if 1 < len(members) <= MAX_TITLE_GROUP
             for x, a in enumerate(members) for b in members[x + 1:]]
    # An excerpt with the lead of a longer copy: a candidate too, whatever its title (a clean
    # copy has none, a syndicated copy its own) and however short it is beside the article.
    has_excerpts = any(by_key[key].excerpt for key in representatives)
    leads = [_lead_key(by_key[key]) if has_excerpts else "" for key in representatives]
    same_lead: dict[str, list[int]] = defaultdict(list)
    for i, lead in enumerate(leads):
        if lead:
            same_lead[lead].append(i)
    extra += [(min(a, b), max(a, b)) for members in same_lead.values() if 1 < len(members) <= MAX_TITLE_GROUP
              for a in members if by_key[representatives[a]].excerpt for b in members if b != a]
    candidates = sorted(set(map(tuple, pairs.tolist())) | set(extra))
    excerpt_of: dict[int, list[tuple[float, float, int]]] = defaultdict(list)  # excerpt -> (con, jac, full copy)
    for (i, j), (shared, size_i, size_j) in zip(candidates, signatures.overlaps(candidates)):
        jac, con = similarity(shared, size_i, size_j)
        sizes = sorted((size_i, size_j))
        rule = None
        if jac >= settings["jaccard"]:
            rule = "jaccard"
        elif con >= settings["containment"] and sizes[0] >= settings["min_shingles"]:
            shorter, longer = (i, j) if size_i <= size_j else (j, i)
            if sizes[0] >= settings["min_length_ratio"] * sizes[1] or (titles[i] and titles[i] == titles[j]):
                # A whole short brief quoted inside a long article is not a copy of it, unless
                # both carry the same headline (a syndicated copy cut to its lead).
                rule = "containment"
            elif by_key[representatives[shorter]].excerpt and leads[i] and leads[i] == leads[j]:
                # an excerpt (a feed's summary, an alert's snippet) opening as the article does
                excerpt_of[shorter].append((con, jac, longer))
        a, b = representatives[i], representatives[j]
        if rule and uf.union(a, b):
            links.setdefault(b, Link(a, rule, jac, con))
            links.setdefault(a, Link(b, rule, jac, con))
    # An excerpt joins one full copy only, its best, and none when it is with one already (by
    # its headline): two articles that open alike but go on apart stay apart.
    with_full = {uf.find(key) for key in representatives if not by_key[key].excerpt}
    for shorter, matches in sorted(excerpt_of.items()):
        if uf.find(representatives[shorter]) in with_full:
            continue
        con, jac, longer = max(matches, key=lambda m: (m[0], m[1], -m[2]))
        a, b = representatives[longer], representatives[shorter]
        if uf.union(a, b):
            links.setdefault(b, Link(a, "excerpt", jac, con))
            links.setdefault(a, Link(b, "excerpt", jac, con))
    log.info("dedup: %d documents, %d exact copies, %d candidate pairs checked",
             len(keys), len(keys) - len(representatives), len(candidates))

    groups: dict[str, list[Document]] = defaultdict(list)
    for key in keys:
        groups[uf.find(key)].append(by_key[key])
    clusters = sorted(groups.values(), key=lambda members: members[0].key)
    return clusters, links


def _completeness(doc: Document) -> tuple[int, int, int, int]:
    """How much of the article a copy holds; at equal length a full copy beats a feed summary
    or a paywall stub (a short article is its own lead) and a titled copy an untitled one."""
    return (doc.words, 0 if doc.excerpt else 1, len(doc.lines), 0 if doc.title_derived else 1)


REVISION_MIN_SHARE = 0.8  # a revision shorter than this share of the longest copy is a summary, not the text


def choose_canonical(members: list[Document]) -> Document:
    """The member whose body the page shows: the latest revision an input states ("Mis à jour
    le ...", dateModified) when it holds most of the text, else the most complete member;
    ties broken by key."""
    ranked = sorted(members, key=lambda d: (tuple(-x for x in _completeness(d)), d.key))
    revised = [d for d in ranked if d.updated]
    if revised:
        latest = max(revised, key=lambda d: d.updated)  # the first of the latest: the most complete
        if _completeness(latest)[0] >= REVISION_MIN_SHARE * _completeness(ranked[0])[0]:
            return latest
    return ranked[0]


def merge_cluster(members: list[Document]) -> Article:
    """One article from a cluster; metadata merged from every member (slug set later)."""
    body_doc = choose_canonical(members)
    # The original publication: the earliest dated member, then the most complete.
    original = min(members, key=lambda d: (d.date or "9999-99-99", d.outlet is None,
                                           tuple(-x for x in _completeness(d)), d.key))
    titled = [d for d in members if d.title and not d.title_derived]
    title_doc = min(titled, key=lambda d: (d is not original, d is not body_doc, d.key)) if titled else body_doc
    outlet = original.outlet or next((d.outlet for d in sorted(members, key=lambda d: d.key) if d.outlet), None)
    seen = {outlet.casefold()} if outlet else set()
    also = []
    for doc in sorted(members, key=lambda d: (d.date or "9999-99-99", d.key)):
        if doc.outlet and doc.outlet.casefold() not in seen:
            seen.add(doc.outlet.casefold())
            also.append(doc.outlet)
    dates = sorted(d.date for d in members if d.date)
    updated = max((d.updated for d in members if d.updated), default=None)
    ordered = [body_doc] + sorted((d for d in members if d is not body_doc), key=lambda d: d.key)
    return Article(
        slug="", title=title_doc.title or "", title_derived=not titled,
        outlet=outlet, date=dates[0] if dates else None,
        lang=body_doc.lang or next((d.lang for d in members if d.lang), None),
        lines=list(body_doc.lines), members=ordered, also_published_by=also,
        url=next((d.url for d in ordered if d.url), None),
        # a feed's summary shows only while no copy brings the full text (the longest body wins)
        excerpt=body_doc.excerpt, updated=updated if dates and updated and updated > dates[0] else None)


def make_articles(docs: list[Document], settings: dict[str, Any], mapper: Any,
                  cache_path: Path | None = None, previous_slugs: dict[str, list[str]] | None = None) -> list[Article]:
    """Cluster duplicates, merge each cluster into one article, name the pages (keeping the
    published build's slugs, see content.assign_slugs)."""
    if settings["enabled"]:
        cache = StageCache(cache_path, stage_version("dedup"), "dedup") if cache_path else None
        try:
            clusters, links = cluster_duplicates(docs, settings, mapper, cache)
            if cache:
                cache.prune()
        finally:
            if cache:
                cache.close()
    else:
        clusters, links = [[d] for d in sorted(docs, key=lambda d: d.key)], {}
    articles = [merge_cluster(members) for members in clusters]
    assign_slugs(articles, previous_slugs)
    for art in articles:
        canonical = art.members[0]
        canonical.reason = f"{canonical.kind} input ({canonical.encoding})"
        if len(art.members) > 1:
            canonical.reason += f"; canonical of {len(art.members)} copies"
        for doc in art.members:
            doc.article_slug = art.slug
            if doc is not canonical:
                doc.status = DUPLICATE
                doc.reason = links[doc.key].describe(settings)
            doc.reason = "; ".join([doc.reason, *doc.notes])
    return articles
