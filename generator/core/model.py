"""Plain data passed between the pipeline stages."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# The kinds of entity an article names, in the order pages list them; with outlets, the
# taxonomies of the site.
ENTITY_TYPES = ("people", "organizations", "places")
TAXONOMIES = ENTITY_TYPES + ("outlets",)


class BuildError(Exception):
    """A fatal problem that stops the build; printed as one line."""


class UsageError(BuildError):
    """The command points at what is not there (a missing seeds folder): nothing was done."""


# Fates of an input in build-report.json (the output contract).
ARTICLE, DUPLICATE, REJECTED, SKIPPED = "article", "duplicate", "rejected", "skipped"


@dataclass
class Document:
    """One article candidate as read from the seeds folder, then cleaned and extracted.

    A file usually holds one document; a .csv/.json/.jsonl file holds one per record, told
    apart by `record` (its 0-based index in the file); a feed, one per item, by its position; an
    e-mail alert or a section page, one per article it lists, and a mailbox, one per article of
    its messages, in order.
    """

    file: str  # path relative to the seeds folder, with forward slashes
    kind: str  # reader that produced it: aggregator, plain, html, record, markdown, feed, email
    record: int | None = None
    lines: list[str] = field(default_factory=list)  # body paragraphs, one per line
    title: str | None = None
    title_derived: bool = False
    dateline: str | None = None  # the metadata line the date was read from ("Publié dans X le ...")
    outlet: str | None = None
    date: str | None = None  # YYYY-MM-DD
    updated: str | None = None  # YYYY-MM-DD of the last revision, when the input states one (a feed item)
    lang: str | None = None
    url: str | None = None
    excerpt: bool = False  # only a summary of the article (a feed item without its full text)
    encoding: str | None = None
    repaired: dict[str, int] = field(default_factory=dict)  # lines each repair changed (ingest/repair.py)
    status: str = ARTICLE
    reason: str = ""
    article_slug: str | None = None  # the page it ended up on
    page: list[Line] | None = None  # a text page's lines as read, until the layout stage decides them
    layout: str | None = None  # where a text page's metadata sat (build-report stats.layouts)
    notes: list[str] = field(default_factory=list)  # what the report should say about this input

    @property
    def key(self) -> str:
        """Unique id of this document among all inputs."""
        return self.file if self.record is None else f"{self.file}#{self.record}"

    @property
    def body(self) -> str:
        return "\n\n".join(self.lines)

    # Facts of the decided body, computed once: the layout stage keeps them with its decision,
    # so the dedup stage reads them for every document without going over every body again.
    @cached_property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)

    @cached_property
    def body_hash(self) -> bytes:
        """A hash of the body's words, lowercased: copies that differ only in line breaks match."""
        return hashlib.blake2b(" ".join(self.body.lower().split()).encode("utf-8"), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Part:
    """A name left on a metadata line once dates, times and keywords are out."""

    text: str
    author: bool = False  # introduced by "Par", "By": a byline, unless it is the only name
    explicit: bool = False  # in an outlet slot ("Publié dans X", "Source : X"): trusted as written

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return Part, tuple(getattr(self, name) for name in self.__slots__)  # see Line.__reduce__


@dataclass(slots=True)
class Line:
    """What one line of a text page is, read on its own (a few hundred thousand are held at once)."""

    text: str
    words: int
    rule: str | None = None  # the boilerplate rule it matches
    dates: tuple[str, ...] = ()  # calendar dates written in it (YYYY-MM-DD)
    parts: tuple[Part, ...] = ()
    meta: bool = False  # a metadata line: its words are dates, times, keywords and names only
    keyword: bool = False  # a metadata keyword ("Publié", "Updated", "Source", "Par") is on it
    name_only: bool = False  # a short name and nothing else ("Evening Standard"): an outlet beside a date
    url: str | None = None
    shape: str | None = None
    prose: bool = False
    key: bytes = b""  # clean.line_key of the text, for the corpus-wide repeated lines
    tails: tuple[str, ...] = ()  # names ending the pieces of a dated line that is not all names

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        """Pickled as its constructor's arguments: half the size and twice as fast to load as
        the field-by-field state of a slotted dataclass (the store holds every page's lines)."""
        return Line, tuple(getattr(self, name) for name in self.__slots__)  # the fields, in order


@dataclass
class FileOutcome:
    """What became of a file that yielded no document (skipped or rejected outright)."""

    file: str
    status: str
    reason: str


@dataclass
class Article:
    """One page of the digest: a cluster of documents merged into a canonical story."""

    slug: str
    title: str
    title_derived: bool
    outlet: str | None
    date: str | None
    lang: str | None
    lines: list[str]
    members: list[Document]  # canonical first
    also_published_by: list[str] = field(default_factory=list)
    entities: dict[str, list[str]] = field(
        default_factory=lambda: {"people": [], "organizations": [], "places": []})
    url: str | None = None
    curation: dict[str, Any] = field(default_factory=dict)  # frontmatter keys an editor's override adds
    aliases: list[str] = field(default_factory=list)  # slugs of published pages merged into this one
    story: str | None = None  # slug of its story's lead article (stories.py); its own slug when alone
    excerpt: bool = False  # the body is only a summary: no member of the cluster had the full text
    updated: str | None = None  # the latest revision date of its members, when after `date`

    @property
    def body(self) -> str:
        return "\n\n".join(self.lines)
