"""What the corpus teaches the layout stage, kept in the build store and learned from the files
that changed (the layout stage's `learn`; layout.py's apply_layout is its `apply`).

Each read file contributes rows to a few SQLite tables: the outlet names and days its metadata
lines state, the line shapes it shows (with their texts, whether dated, the names ending them),
and each candidate line's key with the story it stands beside. The corpus facts are aggregates
of those rows (an outlet's number of days, a shape's role, the set of repeated lines), kept in
tables of their own. A build removes the rows of the files gone or edited, adds those of the
new ones, and derives again only the facts whose rows it touched. The facts that came out
different name the files that must be decided again: those that show the shape, the line or
the outlet name (plus every file a new file's contributions touch). A fact equal to the last
build's stops there (early cutoff): the other files keep their stored decisions.

Wider redos, by design and rare: the bar a repeated *sentence* must reach is a share of all
documents, so when the count of documents moves it past a step, every sentence line's fact is
derived again (not every file: only those whose line changed side); a change of settings,
outlets in site.yaml or of the stage's code starts the facts over.
"""
from __future__ import annotations

import itertools
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.model import ARTICLE, Document
from ..ingest.clean import line_key, looks_like_sentence

KNOWN_OUTLET_DAYS = 3  # an outlet is known when the corpus shows it on this many different days
ALIASED_RANK = 100  # an outlet site.yaml names is known whatever the corpus shows
MAX_REPORTED_SHAPES = 50
MAX_REPORTED_OUTLETS = 20
TAIL_OFFSETS = (-1, -2, -3)  # which name of a dated line's pieces can be its outlet, from the end
ROWS_BATCH = 2000  # files whose rows are made and written at once (and decisions kept at once)


def outlet_rank(days: int) -> int:
    """How well the corpus knows an outlet, coarsely: 0 under KNOWN_OUTLET_DAYS days, then one
    step per doubling. Coarse on purpose: a page depends on the rank of the names it shows, and
    a new day of an outlet it names changes the rank of none but the rarest outlets."""
    return 0 if days < KNOWN_OUTLET_DAYS else days.bit_length() - 1


@dataclass
class Contribution:
    """The rows one file adds to the layout tables (from its kept documents, as read)."""

    rel: str = ""  # the file's name: the corpus's order, in which an outlet's first spelling is found
    docs: int = 0
    outlet_days: set[tuple[str, str]] = field(default_factory=set)  # (casefolded name, date or '')
    spellings: dict[str, tuple[int, str]] = field(default_factory=dict)  # casefolded -> (position, as written)
    shapes: dict[str, list[int]] = field(default_factory=dict)  # shape -> [documents counted, dated]
    shape_texts: set[tuple[str, str]] = field(default_factory=set)
    tails: set[tuple[str, int, str]] = field(default_factory=set)  # (shape, offset from the end, name)
    lines: set[tuple[bytes, bytes, int]] = field(default_factory=set)  # (line key, story key, is a sentence)
    names: set[str] = field(default_factory=set)  # casefolded names whose rank deciding the file reads


def candidate_lines(doc: Document) -> list[tuple[bytes, str]]:
    """(key, text) of the lines the repeated-lines rule looks at: a text page's lines that no
    rule took, or another document's body."""
    if doc.page is None:
        return [(line_key(line), line) for line in doc.lines]
    return [(line.key, line.text) for line in doc.page if not line.rule and not line.meta]


def line_stories(page: list[tuple[bytes, str]]) -> Iterator[tuple[bytes, str, bytes]]:
    """(line key, text, story key) of a document's candidate lines. A document's story is told by its
    longest other line: counting distinct stories, not documents, keeps a paragraph that five
    outlets syndicated (every copy shares its longest paragraph), whereas a footer recurs beside
    unrelated paragraphs."""
    by_length = sorted(range(len(page)), key=lambda i: -len(page[i][1]))[:2]
    for key, text in page:
        other = [j for j in by_length if page[j][0] != key]
        yield key, text, page[other[0]][0] if other else b""


# a saved page's title followed by its site's name ("Headline - Le Monde"): the name is cut when known
SITE_SUFFIX = re.compile(r"^(.{20,}?)\s+[-–—|·:]\s+([^-–—|·]{2,60})$")


def site_suffix_name(doc: Document) -> str | None:
    """The name after a saved page's title, whose rank deciding the page reads."""
    suffix = SITE_SUFFIX.match(doc.title or "") if doc.kind == "html" else None
    return suffix.group(2).strip() if suffix else None


def contribution(rel: str, result: Any) -> Contribution:
    """What one file's read result (a list of documents, or a FileOutcome) teaches the corpus."""
    out = Contribution(rel)
    if not isinstance(result, list):
        return out
    position = 0
    for doc in result:
        if doc.status != ARTICLE:
            continue
        out.docs += 1
        # a sentence must recur far more often than a label (clean.looks_like_sentence)
        out.lines.update((key, story, int(looks_like_sentence(text)))
                         for key, text, story in line_stories(candidate_lines(doc)))
        if doc.page is None:
            if doc.outlet:  # a record's or an HTML page's stated outlet
                folded = doc.outlet.casefold()
                out.outlet_days.add((folded, doc.date or ""))
                out.spellings.setdefault(folded, (position, doc.outlet))
                out.names.add(folded)
            suffix = site_suffix_name(doc)
            if suffix:
                out.names.add(suffix.casefold())
            position += 1
            continue
        shapes: set[str] = set()
        for line in doc.page:
            position += 1
            out.names.update(part.text.casefold() for part in line.parts)
            if line.meta and len(line.parts) == 1:
                folded = line.parts[0].text.casefold()
                out.outlet_days.add((folded, min(line.dates, default="")))
                out.spellings.setdefault(folded, (position, line.parts[0].text))
            if line.shape and not line.rule:
                entry = out.shapes.setdefault(line.shape, [0, 0])  # every shape a decision may look up
                if not line.prose:  # the shapes learned from
                    shapes.add(line.shape)
                    for offset in TAIL_OFFSETS:
                        if len(line.tails) >= -offset:
                            out.tails.add((line.shape, offset, line.tails[offset]))
                    out.shape_texts.add((line.shape, line.text))
                    if line.dates:
                        entry[1] = 1
        for shape in shapes:
            out.shapes[shape][0] += 1
    return out


def horizon(result: Any, today: str) -> str | None:
    """The earliest date after TODAY written on a file's text pages: a date in the future is no
    publication date, so the file is decided again on that day."""
    if not isinstance(result, list):
        return None
    return min((date for doc in result if doc.page for line in doc.page for date in line.dates if date > today),
               default=None)


def furniture_shape(shape: str) -> bool:
    """A shape that varies only in a number or time (counters, bylines of reading time) or a row
    of three or more names between separators (share rows, breadcrumbs); never bare names."""
    tokens = shape.split()
    if "0" in tokens or "{time}" in tokens:
        return any(t.isalpha() and t != "N" for t in tokens)
    return tokens.count("N") >= 3 and all(t == "N" or not t.isalnum() for t in tokens)


@dataclass
class ChangedFacts:
    """The facts that came out different from the last build's: what names the files to decide again."""

    shapes: set[str] = field(default_factory=set)
    lines: set[bytes] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


# Each file's contributions: table -> its columns, the one facts are derived by first (each table
# also has the column `file`, and an index on both).
_ROW_TABLES = {
    "layout_outlet": ("name TEXT", "day TEXT"),
    "layout_spelling": ("name TEXT", "position TEXT", "form TEXT"),
    "layout_name": ("name TEXT",),
    "layout_shape": ("shape TEXT", "docs INTEGER", "dated INTEGER"),
    "layout_shape_text": ("shape TEXT", "text TEXT"),
    "layout_tail": ("shape TEXT", "offset INTEGER", "name TEXT"),
    "layout_line": ("key BLOB", "story BLOB", "sentence INTEGER"),
}
_LOOKUP = {table: columns[0].split()[0] for table, columns in _ROW_TABLES.items()}
_SCHEMA = "\n".join(
    [f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)}, file TEXT);\n"
     f"CREATE INDEX IF NOT EXISTS {table}_{_LOOKUP[table]} ON {table} ({_LOOKUP[table]});\n"
     f"CREATE INDEX IF NOT EXISTS {table}_file ON {table} (file);" for table, columns in _ROW_TABLES.items()]
    + ["""
CREATE TABLE IF NOT EXISTS layout_state (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS layout_files (file TEXT PRIMARY KEY, docs INTEGER, horizon TEXT, result BLOB);
CREATE TABLE IF NOT EXISTS layout_fact_outlet (name TEXT PRIMARY KEY, days INTEGER, rank INTEGER, form TEXT);
CREATE TABLE IF NOT EXISTS layout_fact_shape (shape TEXT PRIMARY KEY, files INTEGER, role TEXT, tail INTEGER,
                                              example TEXT);
CREATE TABLE IF NOT EXISTS layout_fact_line (key BLOB PRIMARY KEY, sentence INTEGER);
"""])
_TABLES = (*_ROW_TABLES, "layout_state", "layout_files", "layout_fact_outlet", "layout_fact_shape", "layout_fact_line")


class LayoutFacts:
    """The layout stage's tables in the build store (or in memory): contributions per file, the
    facts derived from them, and each file's decided documents."""

    def __init__(self, db: sqlite3.Connection, context: str, min_docs: int, sentence_share: float) -> None:
        self.db, self.min_docs, self.sentence_share = db, min_docs, sentence_share
        db.executescript(_SCHEMA)
        if self._state("context") != context:  # other settings or code: the facts start over
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")
            self._set_state("context", context)

    # ------------------------------------------------------------------ state
    def _state(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM layout_state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set_state(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO layout_state VALUES (?, ?)", (name, value))

    def files(self) -> dict[str, str | None]:
        """Every file counted in the facts: its key -> the date its decision expires, if any."""
        return dict(self.db.execute("SELECT file, horizon FROM layout_files"))

    def documents(self) -> int:
        return int(self.db.execute("SELECT coalesce(sum(docs), 0) FROM layout_files").fetchone()[0])

    def bars(self, documents: int) -> tuple[float, float]:
        """The distinct stories a line must recur beside to be boilerplate: (a label, a sentence).
        A sentence must recur in a share of all documents; under min_docs documents nothing is."""
        if documents < self.min_docs:
            return math.inf, math.inf
        return self.min_docs, max(self.min_docs, math.ceil(self.sentence_share * documents))

    # ------------------------------------------------------------------ learn
    def update(self, removed: Iterable[str], added: Iterable[tuple[str, Contribution]]) -> ChangedFacts:
        """Take the rows of REMOVED files out, put those of ADDED (key, contribution) in, derive
        again the facts they touched; returns the facts that came out different."""
        removed = list(removed)
        bars_before = self.bars(self.documents())
        touched: dict[str, set[Any]] = {table: set() for table in _ROW_TABLES}
        self._temp_keys("gone_files", removed)
        for table, column in _LOOKUP.items():
            touched[table].update(row[0] for row in self.db.execute(
                f"SELECT DISTINCT {column} FROM {table} WHERE file IN (SELECT k FROM gone_files)"))
            self.db.execute(f"DELETE FROM {table} WHERE file IN (SELECT k FROM gone_files)")
        self.db.execute("DELETE FROM layout_files WHERE file IN (SELECT k FROM gone_files)")
        added = iter(added)
        while chunk := list(itertools.islice(added, ROWS_BATCH)):  # bounded memory at 100,000 files
            self._insert(chunk, touched)
        changed = ChangedFacts()
        changed.names = self._derive_outlets(touched["layout_outlet"] | touched["layout_spelling"])
        changed.shapes = self._derive_shapes(touched["layout_shape"] | touched["layout_shape_text"]
                                             | touched["layout_tail"])
        bars = self.bars(self.documents())
        lines = touched["layout_line"]
        if bars != bars_before:  # a step of the bars: every line on the side that moved
            flags = [flag for flag, (old, new) in enumerate(zip(bars_before, bars)) if old != new]
            lines = lines | {row[0] for row in self.db.execute(
                f"SELECT DISTINCT key FROM layout_line WHERE sentence IN ({','.join(map(str, flags))})")}
            lines |= {row[0] for row in self.db.execute(
                f"SELECT key FROM layout_fact_line WHERE sentence IN ({','.join(map(str, flags))})")}
        changed.lines = self._derive_lines(lines, bars)
        return changed

    def _insert(self, added: list[tuple[str, Contribution]], touched: dict[str, set[Any]]) -> None:
        """The rows of the ADDED files, and the keys they touch."""
        self.db.executemany("INSERT OR REPLACE INTO layout_files (file, docs) VALUES (?, ?)",
                            [(key, c.docs) for key, c in added])
        rows = {
            "layout_outlet": [(name, day, key) for key, c in added for name, day in c.outlet_days],
            "layout_spelling": [(name, f"{c.rel}\x01{pos:09d}", form, key) for key, c in added
                                for name, (pos, form) in c.spellings.items()],
            "layout_name": [(name, key) for key, c in added for name in c.names],
            "layout_shape": [(shape, n, dated, key) for key, c in added for shape, (n, dated) in c.shapes.items()],
            "layout_shape_text": [(shape, text, key) for key, c in added for shape, text in c.shape_texts],
            "layout_tail": [(shape, offset, name, key) for key, c in added for shape, offset, name in c.tails],
            "layout_line": [(k, story, sentence, key) for key, c in added for k, story, sentence in c.lines],
        }
        for table, values in rows.items():
            if values:
                width = len(values[0])
                self.db.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * width)})", values)
                touched[table].update(v[0] for v in values)

    def _temp_keys(self, table: str, keys: Iterable[Any]) -> None:
        self.db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (k PRIMARY KEY)")
        self.db.execute(f"DELETE FROM {table}")
        self.db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", ((k,) for k in keys))

    def _derive_outlets(self, names: set[str]) -> set[str]:
        """Days and rank of each touched outlet name; returns the names whose rank changed."""
        self._temp_keys("touched", names)
        before = dict(self.db.execute(
            "SELECT name, rank FROM layout_fact_outlet WHERE name IN (SELECT k FROM touched)"))
        days = dict(self.db.execute("SELECT name, count(DISTINCT day) FROM layout_outlet "
                                    "WHERE name IN (SELECT k FROM touched) GROUP BY name"))
        forms = {name: form for name, form, _ in self.db.execute(
            "SELECT name, form, min(position) FROM layout_spelling WHERE name IN (SELECT k FROM touched) "
            "GROUP BY name")}
        self.db.execute("DELETE FROM layout_fact_outlet WHERE name IN (SELECT k FROM touched)")
        self.db.executemany("INSERT INTO layout_fact_outlet VALUES (?, ?, ?, ?)",
                            [(name, n, outlet_rank(n), forms.get(name, name)) for name, n in days.items()])
        return {name for name in names if before.get(name, 0) != outlet_rank(days.get(name, 0))}

    def _derive_shapes(self, shapes: set[str]) -> set[str]:
        """Role (metadata, furniture or none) and outlet position of each touched shape; returns
        the shapes whose role or outlet position changed."""
        self._temp_keys("touched", shapes)
        before = {shape: (role, tail) for shape, role, tail in self.db.execute(
            "SELECT shape, role, tail FROM layout_fact_shape WHERE shape IN (SELECT k FROM touched)")}
        counts = {shape: (n, dated) for shape, n, dated in self.db.execute(
            "SELECT shape, sum(docs), max(dated) FROM layout_shape WHERE shape IN (SELECT k FROM touched) "
            "GROUP BY shape")}
        texts = {shape: (n, example) for shape, n, example in self.db.execute(
            "SELECT shape, count(*), min(text) FROM (SELECT DISTINCT shape, text FROM layout_shape_text "
            "WHERE shape IN (SELECT k FROM touched)) GROUP BY shape")}
        varying: dict[str, set[int]] = {}
        for shape, offset in self.db.execute(
                "SELECT shape, offset FROM layout_tail WHERE shape IN (SELECT k FROM touched) "
                "GROUP BY shape, offset HAVING count(DISTINCT name) >= 2"):
            varying.setdefault(shape, set()).add(offset)
        facts = []
        for shape, (files, dated) in counts.items():
            distinct, example = texts.get(shape, (0, None))
            role, tail = "", None
            if files >= self.min_docs and distinct >= 2:  # a constant line is the repeated-lines rule's business
                if dated and "{date}" in shape:
                    role = "metadata"
                    # the outlet is the last name, from the end, that changes from file to file
                    tail = next((o for o in TAIL_OFFSETS if o in varying.get(shape, ())), None)
                elif furniture_shape(shape):
                    role = "furniture"
            facts.append((shape, files, role, tail, example))
        self.db.execute("DELETE FROM layout_fact_shape WHERE shape IN (SELECT k FROM touched)")
        self.db.executemany("INSERT INTO layout_fact_shape VALUES (?, ?, ?, ?, ?)", facts)
        after = {shape: (role, tail) for shape, _, role, tail, _ in facts}
        return {shape for shape in shapes if before.get(shape, ("", None)) != after.get(shape, ("", None))}

    def _derive_lines(self, keys: set[bytes], bars: tuple[float, float]) -> set[bytes]:
        """Whether each touched line is repeated across the corpus; returns the lines that changed side."""
        self._temp_keys("touched", keys)
        before = {row[0] for row in self.db.execute(
            "SELECT key FROM layout_fact_line WHERE key IN (SELECT k FROM touched)")}
        after = {key: sentence for key, sentence, stories in self.db.execute(
            "SELECT key, max(sentence), count(DISTINCT story) FROM layout_line WHERE key IN (SELECT k FROM touched) "
            "GROUP BY key") if stories >= bars[sentence]}
        self.db.execute("DELETE FROM layout_fact_line WHERE key IN (SELECT k FROM touched)")
        self.db.executemany("INSERT INTO layout_fact_line VALUES (?, ?)", after.items())
        return before ^ after.keys()

    def dependents(self, changed: ChangedFacts) -> set[str]:
        """The files whose decision read a fact that changed."""
        found: set[str] = set()
        for table, column, keys in (("layout_shape", "shape", changed.shapes), ("layout_line", "key", changed.lines),
                                    ("layout_name", "name", changed.names)):
            if keys:
                self._temp_keys("touched", keys)
                found.update(row[0] for row in self.db.execute(
                    f"SELECT DISTINCT file FROM {table} WHERE {column} IN (SELECT k FROM touched)"))
        return found

    # ------------------------------------------------------------------ the facts as apply reads them
    def knowledge_parts(self) -> dict[str, Any]:
        shapes = list(self.db.execute("SELECT shape, role, tail FROM layout_fact_shape WHERE role != ''"))
        return {
            "ranks": dict(self.db.execute("SELECT name, rank FROM layout_fact_outlet WHERE rank > 0")),
            "meta_shapes": {shape for shape, role, _ in shapes if role == "metadata"},
            "outlet_tail": {shape: tail for shape, role, tail in shapes if role == "metadata"},
            "furniture_shapes": {shape for shape, role, _ in shapes if role == "furniture"},
            "repeated": {row[0] for row in self.db.execute("SELECT key FROM layout_fact_line")},
        }

    def report(self) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
        """The learned shapes most files show, and the outlets seen on most days (build-report)."""
        shapes = [{"shape": shape, "files": files, "taken_for": role, "example": example}
                  for shape, files, role, example in self.db.execute(
                      "SELECT shape, files, role, example FROM layout_fact_shape WHERE role != '' "
                      "ORDER BY files DESC, shape LIMIT ?", (MAX_REPORTED_SHAPES,))]
        outlets = list(self.db.execute("SELECT form, days FROM layout_fact_outlet ORDER BY days DESC, name LIMIT ?",
                                       (MAX_REPORTED_OUTLETS,)))
        return shapes, outlets

    # ------------------------------------------------------------------ decisions
    def decided(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        self._temp_keys("wanted", keys)
        yield from self.db.execute(
            "SELECT file, result FROM layout_files WHERE file IN (SELECT k FROM wanted) AND result IS NOT NULL")

    def keep_decisions(self, decisions: dict[str, tuple[bytes, str | None]]) -> None:
        self.db.executemany("UPDATE layout_files SET result = ?, horizon = ? WHERE file = ?",
                            [(blob, horizon, key) for key, (blob, horizon) in decisions.items()])
