"""People, organizations, places and outlets as terms of the site, and related articles by shared terms."""
from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from slugify import slugify

from ..core.model import ENTITY_TYPES, TAXONOMIES
from ..core.store import StageCache

RELATED = 5


@functools.lru_cache(maxsize=200_000)
def term_slug(name: str) -> str:
    """URL folder of an entity or outlet name (kept: the same names recur on every page)."""
    return slugify(name, max_length=80, word_boundary=True) or "x"


@dataclass
class Term:
    name: str
    slug: str
    taxonomy: str
    articles: list[dict[str, Any]] = field(default_factory=list)
    names: Counter[str] = field(default_factory=Counter)

    @property
    def folder(self) -> str:
        return term_folder(self.taxonomy, self.slug)

    @property
    def ref(self) -> TermRef:
        return TermRef(self.name, self.slug, self.taxonomy)


@dataclass(frozen=True)
class TermRef:
    """What each page of a term shows of it: its name and address. Its articles are given
    page by page, so a numbered page keeps its key (and is not rendered) while the term grows."""

    name: str
    slug: str
    taxonomy: str

    @property
    def folder(self) -> str:
        return term_folder(self.taxonomy, self.slug)


def term_folder(taxonomy: str, slug: str) -> str:
    """The site folder of a term's pages ('people/emmanuel-macron/')."""
    return f"{taxonomy}/{slug}/"


def collect_terms(views: list[dict[str, Any]]) -> dict[str, dict[str, Term]]:
    """Taxonomy -> term slug -> Term. Names that slug alike are one term (one page, never two
    pages overwriting each other); its display name is the most frequent spelling."""
    terms: dict[str, dict[str, Term]] = {t: {} for t in TAXONOMIES}
    for view in views:
        named: dict[str, list[str]] = {t: list(view["entities"].get(t) or []) for t in ENTITY_TYPES}
        named["outlets"] = [o for o in [view["outlet"], *view["also_published_by"]] if o]
        view["terms"] = {t: [] for t in TAXONOMIES}
        for taxonomy, names in named.items():
            for name in names:
                slug = term_slug(name)
                term = terms[taxonomy].setdefault(slug, Term(name, slug, taxonomy))
                term.names[name] += 1
                if not term.articles or term.articles[-1] is not view:
                    term.articles.append(view)
                    view["terms"][taxonomy].append(term)
    for taxonomy in terms.values():
        for term in taxonomy.values():
            term.name = max(term.names.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return terms


RELATED_ROWS = 1024  # articles whose shared-term counts are computed at once (bounds memory)
UNDATED_DAY = 10 ** 7  # an undated article's day, for nearness in date: far from every dated one


def link_related(views: list[dict[str, Any]], max_postings: int = 500, cache: StageCache | None = None) -> None:
    """Related articles (`related`: most shared entities, ties to the nearest in date, then to the
    earlier view; an entity on hundreds of pages relates nothing) and the `newer` and `older` view
    of each.

    They are kept in CACHE under a digest of all they are made of, each article's entity terms
    in the views' order: a build whose articles name the same entities (a body edited, a title
    corrected) reads them back instead of counting again."""
    cache = cache or StageCache(None, "", "related")  # no store: counted every time
    key = cache.key(str(max_postings), "\n".join(  # the cache's key names the code's version too
        view["slug"] + "".join(f"\0{t}:{term.slug}" for t in ENTITY_TYPES for term in view["terms"][t])
        for view in views))
    related = cache.get_many([key]).get(key)
    if related is None:
        related = _related(views, max_postings)
        cache.put_many({key: related})
    cache.prune_to({key})
    for i, view in enumerate(views):
        view["related"] = [views[j] for j in related[i]]
        view["newer"] = views[i - 1] if i > 0 else None
        view["older"] = views[i + 1] if i + 1 < len(views) else None


def _related(views: list[dict[str, Any]], max_postings: int) -> list[list[int]]:
    """The related articles of each view, as indexes into VIEWS. Counts come from one sparse
    product (article x term incidence times its transpose) per chunk of rows, not from a
    counter per article."""
    columns: dict[tuple[str, str], int] = {}
    rows, cols = [], []
    for i, view in enumerate(views):
        for taxonomy in ENTITY_TYPES:
            for term in view["terms"][taxonomy]:
                rows.append(i)
                cols.append(columns.setdefault((taxonomy, term.slug), len(columns)))
    n = len(views)
    # ties go to the articles nearest in date: what was said around the same time, and a day
    # of news does not enter the related links of every older article sharing a country with it
    days = np.array([dt.date.fromisoformat(view["date"][:10]).toordinal() if view["date"] else UNDATED_DAY
                     for view in views], dtype=np.int64)
    incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n, max(1, len(columns))))
    postings = np.bincount(np.asarray(cols, dtype=np.int64), minlength=incidence.shape[1])
    incidence = incidence[:, np.flatnonzero(postings <= max_postings)].tocsr()
    transposed = incidence.T.tocsc()
    related = []
    for start in range(0, n, RELATED_ROWS):
        shared = (incidence[start:start + RELATED_ROWS] @ transposed).tocsr()
        for offset in range(shared.shape[0]):
            i = start + offset
            lo, hi = shared.indptr[offset], shared.indptr[offset + 1]
            others, counts = shared.indices[lo:hi], shared.data[lo:hi]
            keep = others != i
            others, counts = others[keep], counts[keep]
            distance = np.abs(days[others] - days[i])
            best = np.lexsort((others, distance, -counts))[:RELATED]  # most shared, nearest, then view order
            related.append(others[best].tolist())
    return related


def letter_of(name: str) -> str:
    first = unicodedata.normalize("NFKD", name[:1]).encode("ascii", "ignore").decode().upper()
    return first if first.isalpha() else "#"
