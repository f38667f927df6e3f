"""The search index in shards: one Pagefind bundle per period, merged by the search page.

Pagefind cannot update an index in place, and indexing every article page again for one new
article costs most of a daily rebuild. So the article pages are split by date into shards,
each indexed into its own bundle, pagefind/<shard>/: a year; a year of more than
SHARD_ARTICLES articles by quarter, a quarter of more than that by month (an edit re-indexes
a few hundred pages, not a year of them); the newest quarter by month, where each day's new
articles land; undated articles in a shard of their own. The search page loads the newest
shard and merges the others (Pagefind's mergeIndex), so results and filters span every
shard. A shard is indexed again only when its list of articles or what Pagefind reads from
one of them (title, body, outlet and entity filters) changed.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.model import BuildError
from ..core.store import digest

log = logging.getLogger(__name__)

SEARCH_BUNDLE = "pagefind"
# a period with more articles than this is split (a year into quarters, a quarter into months):
# Pagefind takes about 1.3 ms a page, and the search page merges one more bundle per shard
SHARD_ARTICLES = 500
UI_FILES = ("pagefind-ui.js", "pagefind-ui.css")  # copied to pagefind/: the search page loads them there
ALL_PAGES = "site"  # the one shard of a site without articles: every page, so search finds a bundle


@dataclass
class Shard:
    name: str  # "2024", "2024-q2", "2024-03", "undated"; also its folder under pagefind/
    pages: list[str]  # the article pages it indexes (site-relative paths)
    key: str  # what its index is made from


def plan_shards(views: list[dict[str, Any]], page_key: Callable[[dict[str, Any]], str]) -> list[Shard]:
    """The shards of the site's article pages, newest first, undated last.

    `page_key(view)` digests what Pagefind reads from the article's page.
    """
    if not views:
        return [Shard(ALL_PAGES, [], "")]
    by_year: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for view in views:
        by_year[view["date"][:4] if view["date"] else "undated"].append(view)
    # the newest quarter by month: a day of news is indexed with its month, not its quarter or year
    newest = max((quarter_of(view["date"]) for view in views if view["date"]), default="")
    periods: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for year, members in by_year.items():
        if year == "undated" or (len(members) <= SHARD_ARTICLES and year != newest[:4]):
            periods[year] = members
            continue
        by_quarter: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for view in members:
            by_quarter[quarter_of(view["date"])].append(view)
        for quarter, held in by_quarter.items():
            if len(held) <= SHARD_ARTICLES and quarter != newest:
                periods[quarter] = held
                continue
            for view in held:
                periods[view["date"][:7]].append(view)
    try:
        version = importlib.metadata.version("pagefind")
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    shards = []
    for name in sorted(periods, key=shard_order):
        members = sorted(periods[name], key=lambda v: v["url"])
        shards.append(Shard(name, [v["url"] for v in members],
                            digest(version, name, *(f"{v['url']}\0{page_key(v)}" for v in members))))
    return shards


def quarter_of(date: str) -> str:
    """'2024-05-17' -> '2024-q2' (months 4 to 6): sorts as the quarters do."""
    return f"{date[:4]}-q{(int(date[5:7]) + 2) // 3}"


def shard_order(name: str) -> tuple[bool, int, int]:
    """Newest first, undated last: "2024-05" and "2024-q2" (April to June) by their first month."""
    if name == "undated":
        return True, 0, 0
    year, _, part = name.partition("-")
    month = 3 * int(part[1:]) - 2 if part.startswith("q") else int(part or 1)
    return False, -int(year), -month


def bundle_files(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """Shard name -> the files of its bundle (path -> digest), of a site's FILES: sorted out in
    one pass (a scan of every file of the site per shard cost 0.3 s at 10,000 articles)."""
    bundles: dict[str, dict[str, str]] = defaultdict(dict)
    for rel, d in files.items():
        if rel.startswith(SEARCH_BUNDLE + "/"):
            name, _, rest = rel[len(SEARCH_BUNDLE) + 1:].partition("/")
            if rest:  # pagefind-ui.js and its CSS sit beside the bundles, in none
                bundles[name][rel] = d
    return bundles


class SearchIndexer:
    """Pagefind over the shards whose key changed, in the background while other pages render."""

    def __init__(self, site_dir: Path, shards: list[Shard], previous: dict[str, str],
                 previous_keys: dict[str, str], jobs: int = 2,
                 published: tuple[Path, dict[str, str], dict[str, str]] | None = None) -> None:
        """`previous` and `previous_keys`: what SITE_DIR holds (path -> digest) and the keys
        of its shards; `published`: the same of the published site (its folder first), whose
        current shards are linked in rather than indexed again."""
        self.site_dir = site_dir
        self.shards = shards
        self.previous = previous
        self.scratch = site_dir.parent / f"{site_dir.name}.pagefind"
        self.jobs = max(1, min(jobs, 2))  # Pagefind runs threads of its own
        # one Pagefind at a time while the render's workers run beside it (10,000 articles: the
        # render's peak 961 -> 785 MB PSS), then `jobs` of them (widen())
        self.slots = threading.Semaphore(1)
        self.held: dict[str, dict[str, str]] = {}  # shard -> its files kept from the folder
        self.todo: list[Shard] = []
        bundles = bundle_files(previous)
        published_bundles: dict[str, dict[str, str]] | None = None  # the published site's, when first asked
        for shard in shards:
            prefix = f"{SEARCH_BUNDLE}/{shard.name}/"
            files = bundles.get(shard.name, {})
            if shard.key and previous_keys.get(prefix) == shard.key and files \
                    and all(os.path.exists(f"{site_dir}/{rel}") for rel in files):
                self.held[shard.name] = files
                continue
            if shard.key and published is not None:
                site, published_files, published_keys = published
                if published_bundles is None:
                    published_bundles = bundle_files(published_files)
                if self._link_published(shard, site, published_bundles.get(shard.name, {}), published_keys):
                    continue
            self.todo.append(shard)
        self.failures: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self.cancelled = False
        self.thread: threading.Thread | None = None

    def _link_published(self, shard: Shard, site: Path, held: dict[str, str], keys: dict[str, str]) -> bool:
        """Take the published bundle of SHARD (its files HELD in the published SITE, whose
        page keys are KEYS) when it was made from the same articles. Links are safe: a bundle
        file is only ever replaced (os.replace) or removed, never rewritten."""
        prefix = f"{SEARCH_BUNDLE}/{shard.name}/"
        if keys.get(prefix) != shard.key or not held or not all((site / rel).is_file() for rel in held):
            return False
        shutil.rmtree(self.site_dir / prefix, ignore_errors=True)
        for rel in held:
            target = self.site_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(site / rel, target)
            except OSError:
                shutil.copyfile(site / rel, target)
        self.held[shard.name] = held
        return True

    @property
    def names(self) -> list[str]:
        return [shard.name for shard in self.shards]

    def start(self) -> None:
        """Index the changed shards: each one's pages linked into a folder of their own, so
        Pagefind reads exactly them (the site folder holds every article)."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        log.info("search: %d of %d shards to index (%s)", len(self.todo), len(self.shards),
                 " ".join(shard.name for shard in self.todo))
        if not self.todo:
            return
        self.scratch.mkdir(parents=True)
        self.thread = threading.Thread(target=self._run_all, name="pagefind", daemon=True)
        self.thread.start()

    def widen(self) -> None:
        """The render's workers are done: Pagefind may run `jobs` processes at once."""
        for _ in range(self.jobs - 1):
            self.slots.release()

    def _run_all(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            list(pool.map(self._index_in_turn, self.todo))

    def _index_in_turn(self, shard: Shard) -> None:
        with self.slots:
            self._index(shard)

    def _index(self, shard: Shard) -> None:
        if self.cancelled:
            return
        if shard.name == ALL_PAGES:
            source, glob = self.site_dir, "**/*.html"
        else:
            source, glob = self.scratch / "pages" / shard.name, "articles/**/*.html"
            for rel in shard.pages:
                target = source / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(self.site_dir / rel, target)
                except OSError:  # a file system without hard links
                    shutil.copyfile(self.site_dir / rel, target)
        command = [sys.executable, "-m", "pagefind", "--site", str(source), "--glob", glob,
                   "--output-path", str(self.scratch / "bundles" / shard.name), "--silent"]
        with self.lock:
            if self.cancelled:
                return
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.processes.append(process)
        _, stderr = process.communicate()
        if source != self.site_dir:  # its links are read: removed here, while the listings render
            shutil.rmtree(source, ignore_errors=True)
        if process.returncode != 0:
            lines = stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"]
            self.failures.append(f"{shard.name}: {lines[-1]}")

    def finish(self) -> tuple[dict[str, str], dict[str, str]]:
        """Wait for Pagefind, move the files of each new bundle that changed into the site;
        (path -> digest of every file of the search bundles, shard folder -> key)."""
        try:
            if self.thread is not None:
                self.thread.join()
            if self.failures:
                raise BuildError("search indexing failed (pagefind): " + "; ".join(sorted(self.failures)))
            manifest: dict[str, str] = {}
            for files in self.held.values():
                manifest.update(files)
            for shard in self.todo:
                bundle = self.scratch / "bundles" / shard.name
                for path in sorted(bundle.rglob("*")):
                    if path.is_file():
                        rel = f"{SEARCH_BUNDLE}/{shard.name}/{path.relative_to(bundle).as_posix()}"
                        manifest[rel] = self._move(path, rel)
            first = self.site_dir / SEARCH_BUNDLE / self.shards[0].name
            for name in UI_FILES:  # the same in every bundle: the search page loads them from here
                if (first / name).exists():
                    self.scratch.mkdir(parents=True, exist_ok=True)
                    copy = self.scratch / name
                    shutil.copyfile(first / name, copy)
                    manifest[f"{SEARCH_BUNDLE}/{name}"] = self._move(copy, f"{SEARCH_BUNDLE}/{name}")
            keys = {f"{SEARCH_BUNDLE}/{shard.name}/": shard.key for shard in self.shards if shard.key}
            return manifest, keys
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _move(self, path: Path, rel: str) -> str:
        sha = hashlib.sha1(path.read_bytes()).hexdigest()
        target = self.site_dir / rel
        if self.previous.get(rel) != sha or not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        return sha

    def kill(self) -> None:
        with self.lock:
            self.cancelled = True
            for process in self.processes:
                if process.poll() is None:
                    process.kill()
        if self.thread is not None:
            self.thread.join()
        shutil.rmtree(self.scratch, ignore_errors=True)
