"""The editor's review queue (serve --edit, /__edit/review): what the last build was unsure
about, most useful first, each item linking to the page where the editor bar acts on it.

Read from what the build already wrote, never recomputed: build-report.json (rejected files,
the figures of each near-duplicate merge, the story decisions close to the threshold, the
entities typed by one mention) and the content pages' frontmatter (dates, outlets, derived titles). Kept until the report changes: at 10,000 articles reading the frontmatter
takes a few seconds.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .output.content import read_frontmatter
from .site.editions import period_of
from .site.taxonomies import term_folder, term_slug

NEAR = 0.1  # a merge whose deciding figure is this close to its bar is worth a look
SHOWN = 50  # items shown per group; the rest are counted
MERGE = re.compile(r"near-duplicate of (?P<other>\S+): jaccard (?P<jaccard>[\d.]+), containment "
                   r"(?P<containment>[\d.]+) \(rule: (?P<rule>\w+) >= (?P<bar>[\d.]+)\)")


@dataclass
class Item:
    label: str  # what the reader clicks: a title, a file name
    detail: str  # why it is here
    link: str = ""  # site-relative address of the page to act on ("" for a rejected file)


@dataclass
class Group:
    title: str
    why: str
    items: list[Item] = field(default_factory=list)


def content_frontmatter(output: Path) -> list[dict]:
    """The frontmatter of every content page of the build in OUTPUT."""
    pages = []
    for path in sorted((output / "content").glob("*.md")):
        try:
            pages.append(read_frontmatter(path))
        except (OSError, IndexError, yaml.YAMLError):
            continue  # a page edited by hand
    return pages


def review_queue(output: Path, pages: list[dict], editions: str) -> list[Group]:
    """The groups of the queue for the build in OUTPUT (its report), whose content PAGES are given."""
    report = json.loads((output / "build-report.json").read_text(encoding="utf-8"))
    title_of = {fm.get("slug"): str(fm.get("title") or fm.get("slug")) for fm in pages}

    def article(fm: dict, detail: str) -> Item:
        return Item(str(fm.get("title") or fm.get("slug")), detail, f"articles/{fm.get('slug')}/")

    groups = []
    dated = sorted((str(fm["date"]) for fm in pages if fm.get("date")), reverse=True)
    if dated and editions != "off":
        key, first, last = period_of(dated[0], editions)
        newest = sorted((fm for fm in pages if fm.get("date") and first.isoformat() <= str(fm["date"]) <= last.isoformat()),
                        key=lambda fm: (str(fm["date"]), str(fm.get("slug"))), reverse=True)
        groups.append(Group(f"In the newest edition ({key})", "What the next edition sends: pin, hide or correct.",
                            [article(fm, str(fm["date"])) for fm in newest]))
    groups.append(Group("Without a date", "In no edition, listed last.",
                        [article(fm, str(fm.get("outlet") or "no outlet")) for fm in pages if not fm.get("date")]))
    groups.append(Group("Without an outlet", "On no outlet's page.",
                        [article(fm, str(fm.get("date") or "undated")) for fm in pages if not fm.get("outlet")]))
    groups.append(Group("Titles made from the text", "The page had no headline: the title is its first words.",
                        [article(fm, str(fm.get("outlet") or "")) for fm in pages if fm.get("title_derived")]))
    close = []
    for entry in report.get("inputs", []):
        found = MERGE.fullmatch(entry.get("reason") or "") if entry.get("status") == "duplicate" else None
        if found and float(found[found["rule"]]) - float(found["bar"]) < NEAR:
            slug = entry.get("article")
            close.append(Item(title_of.get(slug, str(slug)), f"{entry['file']} merged: {found.group(0)}",
                              f"articles/{slug}/"))
    groups.append(Group("Merges near the threshold", f"Copies merged by a figure within {NEAR} of its bar.", close))
    calls = (report.get("stats", {}).get("stories") or {}).get("close_calls") or []
    groups.append(Group("Story decisions near the threshold", "Two articles scored close to the story threshold: "
                        "one story, or two? Move an article from its page.",
                        [Item(title_of.get(c["a"], c["a"]), f"{'together' if c['together'] else 'apart'} at "
                              f"{c['score']:.2f} with “{title_of.get(c['b'], c['b'])}”", f"articles/{c['a']}/")
                         for c in calls if c["a"] in title_of and c["b"] in title_of]))
    groups.append(Group("Entities typed by one mention", "Named once, typed by the language model's label "
                        "alone: rename, retype or ignore from its page.",
                        [Item(u["name"], u["type"], term_folder(u["type"], term_slug(u["name"])))
                         for u in report.get("stats", {}).get("entities_unsure") or []]))
    groups.append(Group("Rejected files", "Not on the site: the reason says why.",
                        [Item(str(e["file"]), str(e.get("reason") or "")) for e in report.get("inputs", [])
                         if e.get("status") == "rejected"]))
    return groups
