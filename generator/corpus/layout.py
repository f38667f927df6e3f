"""The page model of a text scrape: each line is furniture, title, metadata or body.

A line's role comes from what it is, not from where it stands. `analyse_line` reads one line
alone (in the read workers, cached per file): a boilerplate rule, the dates and times in it,
what is left once they are out (outlet, author), its shape, whether it is prose. Then the
corpus is looked at as a whole (layout_facts.py: outlets that recur, line shapes that recur
with only a date, number or name changing, lines repeated beside many different stories,
learned from the files that changed), and `apply_layout` decides each page: metadata wherever
it sits (above or under the title, split over two lines, at the very end), the title, and
every body line in its order. A file is decided again only when it is new or a fact it read
changed (`layout_files`).
"""
from __future__ import annotations

import contextlib
import json
import logging
import pickle
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import clock
from ..core.model import ARTICLE, Document, FileOutcome, Line, Part
from ..core.store import connect, digest
from ..core.versions import stage_version
from ..ingest.clean import remove_lines
from ..ingest.extract import check_length, derive_title
from ..ingest.lines import EXACT_RULES, REVISED, TITLE_MAX_CHARS, analyse_line
from .layout_facts import ALIASED_RANK, ROWS_BATCH, SITE_SUFFIX, LayoutFacts, contribution, horizon

log = logging.getLogger(__name__)

FURNITURE, META, TEXT = "furniture", "metadata", "text"


# --------------------------------------------------------------------------- the corpus
@dataclass
class Knowledge:
    """What the corpus taught (layout_facts.py keeps and updates it): outlet names, line shapes,
    lines repeated across stories."""

    ranks: dict[str, int] = field(default_factory=dict)  # casefolded outlet name -> outlet_rank, when known
    aliases: dict[str, str] = field(default_factory=dict)  # casefolded alias or name -> display name
    meta_shapes: set[str] = field(default_factory=set)
    outlet_tail: dict[str, int | None] = field(default_factory=dict)  # meta shape -> its outlet name, from the end
    furniture_shapes: set[str] = field(default_factory=set)
    repeated: set[bytes] = field(default_factory=set)
    today: str = ""

    def outlet_name(self, name: str | None) -> str | None:
        """The display name of an outlet: an editor's alias from site.yaml, else as written."""
        if name is None:
            return None
        return self.aliases.get(name.casefold(), name)

    def known(self, name: str) -> int:
        """How well the corpus knows NAME as an outlet: 0 not at all, more the more days it shows."""
        folded = name.casefold()
        return ALIASED_RANK if folded in self.aliases else self.ranks.get(folded, 0)


def configured_outlets(entries: list[Any]) -> dict[str, str]:
    """site.yaml `outlets:` (names, or {name, aliases}) as casefolded spelling -> display name."""
    out: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, str):
            out[entry.casefold()] = entry
        elif isinstance(entry, dict) and entry.get("name"):
            name = str(entry["name"])
            out[name.casefold()] = name
            for alias in entry.get("aliases") or []:
                out[str(alias).casefold()] = name
    return out


# --------------------------------------------------------------------------- one page
def tidy(text: str) -> str:
    """Single spaces (the reader kept a ticker's non-breaking spaces for the ticker rule)."""
    return " ".join(text.split()) if "\u00a0" in text else text


def title_like(line: Line) -> bool:
    """A headline as written: short, not a paragraph, not ending like a clause."""
    return (1 <= line.words <= 30 and len(line.text) <= TITLE_MAX_CHARS and not re.search(r"[,;:]$", line.text)
            and (not line.prose or _one_short_sentence(line)))


def _one_short_sentence(line: Line) -> bool:
    return line.words <= 25 and not re.search(r"[.!?…]\s+\S", line.text)


def _headline_sentence(page: list[Line], roles: list[str], i: int) -> bool:
    """A headline that ends with a full stop: one short sentence with a metadata line right
    above or below it, before any other text."""
    if not _one_short_sentence(page[i]) or any(roles[k] == TEXT for k in range(i)):
        return False
    neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(page)]
    return any(roles[j] == META and page[j].dates for j in neighbours)


def apply_layout(doc: Document, known: Knowledge, min_words: int) -> None:
    """Decide a text page's roles and fill title, outlet, date, url and body (in place)."""
    page = doc.page or []
    roles = [_role(line, known) for line in page]
    # A dated line that nothing vouches for ("June 20, 1990: Nelson Mandela", a caption) is text
    # when the page has a metadata line that something does.
    dated = [i for i, role in enumerate(roles) if role == META and page[i].dates]
    strong = [i for i in dated if _vouched(page[i], known)]
    if strong:
        for i in set(dated) - set(strong):
            roles[i] = TEXT
    # An outlet alone on a line beside a date-only line ("Evening Standard" / "May 2, 2024").
    for i, line in enumerate(page):
        if line.name_only and not line.rule and _beside_bare_date(page, roles, i, known):
            roles[i] = META  # (an outlet's name recurs across the corpus: it may have been taken as repeated)
    first_prose = next((i for i, line in enumerate(page) if roles[i] == TEXT and line.prose), len(page))
    if first_prose < len(page) and _headline_sentence(page, roles, first_prose):
        first_prose = next((i for i in range(first_prose + 1, len(page)) if roles[i] == TEXT and page[i].prose),
                           len(page))
    last_prose = max((i for i, line in enumerate(page) if roles[i] == TEXT and line.prose), default=-1)
    top_meta = [i for i in range(first_prose) if roles[i] == META]
    head = [i for i in range(first_prose) if roles[i] == TEXT]
    title_at = _title_index(page, head, top_meta)
    notes = []
    body_lines: list[str] = []
    for i, line in enumerate(page):
        if roles[i] == TEXT and i != title_at and not (title_at is not None and i in head and i < title_at):
            body_lines.append(tidy(line.text))
    words = sum(len(t.split()) for t in body_lines)
    if words < min_words:  # nothing real is dropped: prose that only a broad rule took comes back
        rescued = [i for i, line in enumerate(page)
                   if roles[i] == FURNITURE and line.prose and line.rule not in EXACT_RULES]
        if rescued and words + sum(page[i].words for i in rescued) >= min_words:
            rules = sorted({page[i].rule or "repeated across the corpus" for i in rescued})
            notes.append(f"kept {len(rescued)} prose line(s) a boilerplate rule matched ({', '.join(rules)}): "
                         "they are the article's text")
            keep = set(rescued)
            body_lines = [tidy(line.text) for i, line in enumerate(page)
                          if (roles[i] == TEXT and i != title_at) or i in keep]
    doc.lines = body_lines
    if title_at is not None and not doc.title:
        doc.title = tidy(page[title_at].text)
    meta = [i for i, role in enumerate(roles) if role == META]
    _fill_metadata(doc, page, meta, known)
    doc.layout = ("no metadata" if not any(page[i].dates for i in meta)
                  else "metadata at the end" if all(i > last_prose for i in meta if page[i].dates) and last_prose >= 0
                  else "metadata above the title" if title_at is not None and all(
                      i < title_at for i in meta if page[i].dates)
                  else "metadata under the title")
    doc.notes.extend(notes)
    doc.page = None  # decided: the line analysis is not needed downstream


def _role(line: Line, known: Knowledge) -> str:
    if line.rule:
        return FURNITURE
    if line.meta or (line.dates and line.shape in known.meta_shapes):
        return META
    if line.shape in known.furniture_shapes and not line.prose:
        return FURNITURE
    if line.key in known.repeated:
        return FURNITURE
    return TEXT


def _vouched(line: Line, known: Knowledge) -> bool:
    """A dated line is metadata for sure: bare date, keyword, outlet slot, known outlet or shape."""
    return (not line.parts or line.keyword or line.shape in known.meta_shapes
            or any(p.explicit or known.known(p.text) > 0 for p in line.parts))


def _beside_bare_date(page: list[Line], roles: list[str], i: int, known: Knowledge) -> bool:
    """True when the nearest line above or below (furniture aside) is a date with no name on it,
    and this name is a known outlet or is not the only headline candidate above the date."""
    for step in (1, -1):
        j = i + step
        while 0 <= j < len(page) and page[j].rule:
            j += step
        if 0 <= j < len(page) and roles[j] == META and page[j].meta and page[j].dates and not page[j].parts:
            if known.known(page[i].parts[0].text) > 0:
                return True
            return any(roles[k] == TEXT and title_like(page[k]) for k in range(i))
    return False


def _title_index(page: list[Line], head: list[int], top_meta: list[int]) -> int | None:
    """The headline: beside the metadata block at the top, else the first headline-like line."""
    if top_meta:
        above = [i for i in head if i < top_meta[0]]
        below = [i for i in head if i > top_meta[-1]]
        near_above = above[-1] if above and title_like(page[above[-1]]) else None
        near_below = below[0] if below and title_like(page[below[0]]) else None
        if near_above is not None and (page[near_above].words >= 3 or near_below is None
                                       or page[near_below].words < 3):
            return near_above
        if near_below is not None:
            return near_below
    if head and title_like(page[head[0]]):
        return head[0]
    return None


def _fill_metadata(doc: Document, page: list[Line], meta: list[int], known: Knowledge) -> None:
    """Publication date (the earliest plausible one), revision date (the latest date of a line
    that says so, when after it), outlet (the name on or beside it), URL."""
    dated = [(d, i) for i in meta for d in page[i].dates if d <= known.today]
    if dated and not doc.date:
        doc.date, at = min(dated)
        doc.dateline = page[at].text
        order = [at] + sorted((i for i in meta if i != at), key=lambda i: abs(i - at))
    else:
        order = meta
    revised = max((d for d, i in dated if REVISED.search(page[i].text)), default=None)
    if revised and doc.date and revised > doc.date and not doc.updated:
        doc.updated = revised
    if not doc.outlet:
        for i in order:
            outlet = _pick_outlet(page[i].parts, known) or _shape_outlet(page[i], known)
            if outlet:
                doc.outlet = outlet
                break
    doc.outlet = known.outlet_name(doc.outlet)
    doc.url = doc.url or next((page[i].url for i in meta if page[i].url), None)


def _shape_outlet(line: Line, known: Knowledge) -> str | None:
    """The outlet of a dated line that a learned shape vouches for: its name that varies."""
    offset = known.outlet_tail.get(line.shape or "")
    return line.tails[offset] if offset is not None and len(line.tails) >= -offset else None


def _pick_outlet(parts: tuple[Part, ...], known: Knowledge) -> str | None:
    """The outlet among a metadata line's names: the one the corpus knows as an outlet, else the
    one in an outlet slot, else the one not introduced as a byline (the last, as bylines go first)."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0].text
    return max(enumerate(parts), key=lambda ip: (known.known(ip[1].text) > 0, ip[1].explicit,
                                                  not ip[1].author, known.known(ip[1].text), ip[0]))[1].text


# --------------------------------------------------------------------------- the stage
FileResult = list[Document] | FileOutcome  # what the read stage made of one file


def decide_file(result: FileResult, known: Knowledge, min_words: int) -> None:
    """Decide every text page of one file and clean its other bodies (in place)."""
    if not isinstance(result, list):
        return
    for doc in result:
        if doc.status != ARTICLE:
            continue
        if doc.page is not None:
            apply_layout(doc, known, min_words)
        else:
            remove_lines([doc], known.repeated)
            doc.outlet = known.outlet_name(doc.outlet)
            suffix = SITE_SUFFIX.match(doc.title or "") if doc.kind == "html" else None
            if suffix and known.known(suffix.group(2).strip()) > 0:
                doc.title = suffix.group(1)  # "Headline - Le Monde": the site's name is no part of it
        if check_length(doc, min_words) and (doc.title_derived or not doc.title):
            doc.title, doc.title_derived = derive_title(doc.lines), True
        doc.words, doc.body_hash  # (computed now, kept with the decision)


def layout_files(files: list[str], keys: list[str | None], fresh: dict[int, FileResult], settings: dict[str, Any],
                 outlets: list[Any], store: Path | None,
                 load_read: Callable[[set[str]], dict[str, FileResult]]) -> tuple[list[FileResult], dict[str, Any]]:
    """The layout stage: learn from the files that changed, decide the files whose input or
    facts changed, and take every other file's decision from the store.

    FILES are the seed files in order, KEYS their read keys (None: not kept by the read stage),
    FRESH the results the read stage made in this build (by index); LOAD_READ gives stored read
    results by key. Returns every file's decided result, in order, and build-report's
    `stats.layouts`: the learned line shapes with what they were taken for, where each text
    page's metadata sat, and the outlets seen on most days.
    """
    today = clock.today().isoformat()
    aliases = configured_outlets(outlets)
    min_words = settings["min_words"]
    keys = [key or digest("unread", str(i), rel, pickle.dumps(fresh[i]))  # judged afresh at every build
            for i, (rel, key) in enumerate(zip(files, keys))]
    context = digest(stage_version("layout"), json.dumps(
        [settings["repeated_line_min_docs"], settings["repeated_sentence_share"], min_words, sorted(aliases.items())]))
    with contextlib.closing(connect(store)) as db, db:  # one transaction: facts and decisions agree
        facts = LayoutFacts(db, context, settings["repeated_line_min_docs"], settings["repeated_sentence_share"])
        counted = facts.files()
        current = set(keys)
        by_key = {key: fresh[i] for i, key in enumerate(keys) if i in fresh}
        added = current - counted.keys()
        by_key.update(load_read(added - by_key.keys()))
        changed = facts.update(counted.keys() - current,
                               ((key, contribution(files[i], by_key[key])) for i, key in enumerate(keys) if key in added))
        redo = added | (facts.dependents(changed) & current) | {
            key for key in current - added if counted[key] is not None and counted[key] <= today}
        decided = {key: pickle.loads(blob) for key, blob in facts.decided(current - redo)}
        redo |= current - redo - decided.keys()  # (a decision lost: made again)
        by_key.update(load_read(redo - by_key.keys()))
        known = Knowledge(aliases=aliases, today=today, **facts.knowledge_parts())
        ordered = sorted(redo)
        for start in range(0, len(ordered), ROWS_BATCH):  # kept as they are made: bounded memory
            decisions = {}
            for key in ordered[start:start + ROWS_BATCH]:
                result = by_key[key]
                until = horizon(result, today)
                decide_file(result, known, min_words)
                decisions[key] = (pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), until)
                decided[key] = result
            facts.keep_decisions(decisions)
        results = [decided[key] for key in keys]
        shapes, seen = facts.report()
    log.info("layout: %d of %d files decided again (%d new)", len(redo), len(keys), len(added))
    kept = [d for result in results if isinstance(result, list) for d in result if d.status == ARTICLE]
    positions = Counter(d.layout for d in kept if d.layout)
    return results, {"shapes": shapes, "pages": dict(positions.most_common()),
                     "outlets": [{"name": known.outlet_name(form), "days": n} for form, n in seen],
                     "decided": len(redo)}


def decide_layouts(docs: list[Document], settings: dict[str, Any], outlets: list[Any]) -> dict[str, Any]:
    """The layout stage over DOCS alone, in memory: each text page decided and every other body
    cleaned, in place; returns `stats.layouts`."""
    results: list[FileResult] = [[doc] for doc in docs]
    _, stats = layout_files([doc.key for doc in docs], [None] * len(docs), dict(enumerate(results)), settings,
                            outlets, None, lambda keys: {})
    return stats


def read_metadata_line(text: str) -> tuple[str | None, str | None] | None:
    """(outlet, date) of one line read alone as a metadata line, or None if it is not one."""
    line = analyse_line(" ".join(text.split()))
    if not line.meta or not line.dates:
        return None
    return _pick_outlet(line.parts, Knowledge()), min(line.dates)
