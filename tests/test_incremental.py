"""Rebuilds: what changed is rewritten, the result equals a fresh build, nothing to do is quick."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

from conftest import content_pages, run_build, tree_differences
from test_site import broken_links


ADDED = ("Le port de Marseille rouvre son terminal nord\n"
         "Publié dans La Provence le 04 - 03 - 2021\n\n"
         + "Le terminal nord du port de Marseille a rouvert ses portes aux ferries ce jeudi. " * 6)


def _report(out: Path) -> dict:
    return json.loads((out / "build-report.json").read_text(encoding="utf-8"))


def _single_source_articles(out: Path) -> dict[str, str]:
    """Slug -> seed file of each page whose only source is one .txt seed file, in report order."""
    inputs = _report(out)["inputs"]
    counts: dict[str, int] = {}
    for entry in inputs:
        if entry["status"] in ("article", "duplicate"):
            counts[entry["article"]] = counts.get(entry["article"], 0) + 1
    return {e["article"]: e["file"] for e in inputs if e["status"] == "article" and counts[e["article"]] == 1
            and e["file"].endswith(".txt")}


def _single_source_article(out: Path) -> str:
    """A seed file that is the only source of its page."""
    return next(iter(_single_source_articles(out).values()))


def _assert_equals_a_fresh_build(seeds: Path, out: Path, fresh: Path, config: Path) -> None:
    """content/ and site/ of OUT are those a build from scratch of SEEDS writes (Pagefind aside)."""
    assert run_build(seeds, fresh, "--quiet", config=config).returncode == 0
    for folder in ("content", "site"):
        assert tree_differences(fresh / folder, out / folder) == [], folder


def test_rebuilds_after_edits_equal_a_fresh_build(corpus_site: Path, tmp_path: Path) -> None:
    config = corpus_site.parent / "site.yaml"
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    total_files = sum(1 for p in (out / "site").rglob("*") if p.is_file())

    # generation 2: one article edited, one added, one removed
    edited, removed = sorted(p.name for p in seeds.glob("*.txt") if p.name != _single_source_article(out))[0], \
        _single_source_article(out)
    removed_slug = next(e["article"] for e in _report(out)["inputs"] if e["file"] == removed)
    with open(seeds / edited, "a", encoding="utf-8") as handle:
        handle.write("\n\nCette phrase a été ajoutée par la rédaction après coup.\n")
    (seeds / "zzz_added.txt").write_text(ADDED, encoding="utf-8")
    (seeds / removed).unlink()
    # two jobs, whatever the machine: the few texts of an incremental build are tagged by the
    # models loaded in a child process meanwhile (entities.ModelServer), the fresh build's here
    result = run_build(seeds, out, "--quiet", "--jobs", "2", config=config)
    assert result.returncode == 0, result.stderr
    edited_slug = next(e["article"] for e in _report(out)["inputs"] if e["file"] == edited)
    page = (out / "site" / "articles" / edited_slug / "index.html").read_text(encoding="utf-8")
    assert "ajoutée par la rédaction après coup" in page
    assert (out / "site" / "articles" / "le-port-de-marseille-rouvre-son-terminal-nord" / "index.html").exists()
    assert not (out / "site" / "articles" / removed_slug).exists()
    assert not (out / "content" / f"{removed_slug}.md").exists()
    changed = _report(out)["stats"]["files_changed"]
    assert 0 < changed < total_files / 2, (changed, total_files)

    # generation 3 is written into the recycled generation 1: it must catch up on both edits
    (seeds / "zzz_added.txt").write_text(ADDED.replace("ce jeudi", "ce vendredi"), encoding="utf-8")
    result = run_build(seeds, out, "--quiet", "--jobs", "2", config=config)
    assert result.returncode == 0, result.stderr

    fresh = tmp_path / "fresh"
    result = run_build(seeds, fresh, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    for folder in ("content", "site"):
        assert tree_differences(fresh / folder, out / folder) == [], folder
    assert broken_links(out / "site") == []
    # the search bundles were refreshed too: their shards index exactly the articles now published
    entries = [json.loads(p.read_text()) for p in (out / "site" / "pagefind").glob("*/pagefind-entry.json")]
    indexed = sum(lang["page_count"] for entry in entries for lang in entry["languages"].values())
    assert indexed == _report(out)["stats"]["articles"]
    assert "ce vendredi" in (out / "site" / "articles" / "le-port-de-marseille-rouvre-son-terminal-nord"
                             / "index.html").read_text(encoding="utf-8")


def test_a_build_with_nothing_changed_says_so_and_touches_nothing(corpus_site: Path, tmp_path: Path) -> None:
    config = corpus_site.parent / "site.yaml"
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    assert run_build(seeds, out, "--quiet", config=config).returncode == 0  # new paths: one real build
    stamps = {p: p.stat().st_mtime_ns for p in (out / "site").rglob("*")}
    result = run_build(seeds, out, config=config)
    assert result.returncode == 0, result.stderr
    assert "nothing changed since the last build" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in (out / "site").rglob("*")} == stamps
    # a settings change is a change
    changed_config = tmp_path / "site.yaml"
    changed_config.write_text(config.read_text(encoding="utf-8").replace("Revue test", "Revue modifiée"),
                              encoding="utf-8")
    result = run_build(seeds, out, config=changed_config)
    assert result.returncode == 0 and "nothing changed" not in result.stderr
    assert "Revue modifiée" in (out / "site" / "index.html").read_text(encoding="utf-8")


def test_an_edit_that_keeps_size_and_modification_time_is_still_seen(corpus_site: Path, tmp_path: Path) -> None:
    """A build reads again only the seed files whose name, size, inode and times changed; an
    editor's tool that writes in place and puts the modification time back (rsync -t, a
    restore) still changes the kernel's change time, so the edit is seen."""
    import os
    import re
    import time

    config = corpus_site.parent / "site.yaml"
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    time.sleep(2.5)  # the files settle (read.SETTLED_SECONDS): their digests are remembered by their stat
    assert run_build(seeds, out, "--quiet", config=config).returncode == 0
    name = _single_source_article(out)
    path = seeds / name
    text = path.read_text(encoding="utf-8")
    word = next(w for w in reversed(re.findall(r"\b[a-z]{7,}\b", text)))  # in the body's last lines
    marker = ("zorglub" * 4)[:len(word)]
    before = path.stat()
    at = text.rindex(word)
    with open(path, "r+b") as handle:  # in place: same inode, same size
        handle.write((text[:at] + marker + text[at + len(word):]).encode("utf-8"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    time.sleep(2.5)
    result = run_build(seeds, out, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    slug = next(e["article"] for e in _report(out)["inputs"] if e["file"] == name)
    assert marker in (out / "site" / "articles" / slug / "index.html").read_text(encoding="utf-8")


def test_the_build_store_holds_what_the_last_build_used_not_every_past_one(corpus_site: Path, tmp_path: Path) -> None:
    """A digest edited every day for a year must not keep a year of stale results: after
    several edits of one article the store holds as many rows per table as the store of a
    build from scratch of the same seeds."""
    import sqlite3

    config = corpus_site.parent / "site.yaml"
    seeds, out, fresh = tmp_path / "seeds", tmp_path / "out", tmp_path / "fresh"
    shutil.copytree(corpus_site.parent / "seeds", seeds)

    def rows(output: Path) -> dict[str, int]:
        with sqlite3.connect(output / ".cache" / "build.sqlite") as db:
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    assert run_build(seeds, out, "--quiet", config=config).returncode == 0
    name = _single_source_article(out)
    for n in range(3):
        with open(seeds / name, "a", encoding="utf-8") as handle:
            handle.write(f"\n\nUne phrase ajoutée lors de la révision {n}.\n")
        result = run_build(seeds, out, "--quiet", config=config)
        assert result.returncode == 0, result.stderr
    slug = next(e["article"] for e in _report(out)["inputs"] if e["file"] == name)
    assert "révision 2" in (out / "site" / "articles" / slug / "index.html").read_text(encoding="utf-8")
    assert run_build(seeds, fresh, "--quiet", config=config).returncode == 0
    last, scratch = rows(out), rows(fresh)
    # seed files' digests are remembered once the files are 2 s old (read.SETTLED_SECONDS)
    assert last.pop("files") <= sum(1 for p in seeds.rglob("*") if p.is_file())
    scratch.pop("files")
    assert last == scratch


def test_an_edit_after_a_build_that_changed_every_page_renders_only_what_the_edit_changed(
        corpus_site: Path, tmp_path: Path) -> None:
    """A build writes into the generation before the published one: the pages it leaves as
    the published build made them are linked from there, not rendered again, however much
    that build changed (here a page size, so every page)."""
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    config = tmp_path / "site.yaml"
    config.write_text((corpus_site.parent / "site.yaml").read_text(encoding="utf-8")
                      .replace("page_size: 5", "page_size: 4"), encoding="utf-8")
    assert run_build(seeds, out, "--quiet", config=config).returncode == 0
    pages = _report(out)["stats"]["pages_written"]
    assert _report(out)["stats"]["files_rendered"] >= pages  # the settings are in every file's key

    name = _single_source_article(out)
    with open(seeds / name, "a", encoding="utf-8") as handle:
        handle.write("\n\nCette phrase a été ajoutée par la rédaction après coup.\n")
    result = run_build(seeds, out, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    rendered = _report(out)["stats"]["files_rendered"]
    assert 0 < rendered < pages / 2, (rendered, pages)  # all of them were it rendered into the older generation
    slug = next(e["article"] for e in _report(out)["inputs"] if e["file"] == name)
    assert "ajoutée par la rédaction" in (out / "site" / "articles" / slug / "index.html").read_text(encoding="utf-8")
    _assert_equals_a_fresh_build(seeds, out, tmp_path / "fresh", config)


def test_an_edit_at_the_end_of_a_body_renders_no_page_that_only_links_to_the_article(
        corpus_site: Path, tmp_path: Path) -> None:
    """Pages declare what they show of an article: a link its title, address, outlet and date, a
    card those and its lead. A sentence added at the end of a body changes neither, so the
    pages that only link to the article (its related articles' pages, its listings) are not
    rendered again; its own page and the feeds that carry its body are, and the site equals a
    fresh build."""
    config = corpus_site.parent / "site.yaml"
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    site = out / "site"
    linking: dict[str, set[Path]] = {}  # slug -> the pages that link to its page
    for page in site.rglob("*.html"):
        for slug in set(re.findall(r'href="[^"]*articles/([^/"]+)/index.html"', page.read_text(encoding="utf-8"))):
            if page.parent.name != slug:
                linking.setdefault(slug, set()).add(page)
    single = _single_source_articles(out)
    slug = max(single, key=lambda s: len(linking.get(s, ())))
    name = single[slug]
    with open(seeds / name, "a", encoding="utf-8") as handle:
        handle.write("\n\nCette phrase a été ajoutée par la rédaction après coup.\n")
    result = run_build(seeds, out, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    assert "ajoutée par la rédaction" in (site / "articles" / slug / "index.html").read_text(encoding="utf-8")
    carrying = {p for p in site.rglob("*") if p.suffix in (".html", ".xml")
                and "ajoutée par la rédaction" in p.read_text(encoding="utf-8")}
    rendered = _report(out)["stats"]["files_rendered"]
    # besides the files carrying the body, at most the home and edition pages that fold its story
    # (they show its entry whole); none of the pages that only link to it
    assert rendered - len(carrying) <= 4 < len(linking[slug] - carrying), (rendered, len(carrying), len(linking[slug]))
    _assert_equals_a_fresh_build(seeds, out, tmp_path / "fresh", config)


def test_an_editors_title_correction_renders_only_the_pages_that_show_the_title(
        corpus_site: Path, tmp_path: Path) -> None:
    """An override reaches the pages through the content only (the corpus stages' settings are
    not in the render's salt): a corrected title renders the pages that show it, not the site."""
    config = tmp_path / "site.yaml"
    shutil.copy(corpus_site.parent / "site.yaml", config)
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    slug = next(iter(_single_source_articles(out)))
    (tmp_path / "curation.yaml").write_text(
        f"curation:\n  overrides:\n    {slug}:\n      title: Un titre revu par la rédaction\n", encoding="utf-8")
    result = run_build(seeds, out, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    site = out / "site"
    carrying = {p for p in site.rglob("*") if p.suffix in (".html", ".xml")
                and "Un titre revu par la rédaction" in p.read_text(encoding="utf-8")}
    rendered, pages = _report(out)["stats"]["files_rendered"], sum(1 for _ in site.rglob("*.html"))
    assert site / "articles" / slug / "index.html" in carrying
    # besides them, at most the home pages and the edition (page, e-mail, list) that fold its story
    # (they key its entry whole): 4 or 5 here, as the grouping puts it
    assert rendered <= len(carrying) + 6 < pages // 4, (rendered, len(carrying), pages)
    _assert_equals_a_fresh_build(seeds, out, tmp_path / "fresh", config)


def _numbered_pages(site: Path) -> dict[str, dict[int, bytes]]:
    """Each paginated listing folder ('' for the home): its numbered pages' bytes by number."""
    listings: dict[str, dict[int, bytes]] = {}
    for path in site.rglob("index.html"):
        if path.parent.parent.name == "page" and path.parent.name.isdigit():
            folder = path.parent.parent.parent.relative_to(site).as_posix()
            listings.setdefault("" if folder == "." else folder, {})[int(path.parent.name)] = path.read_bytes()
    return listings


def test_a_new_article_of_the_day_changes_no_numbered_page(corpus_site: Path, tmp_path: Path) -> None:
    """Pages count from the oldest: an article newer than every other lands on front pages
    only; each numbered page of every listing keeps its bytes (the newest numbered page
    changes only when the front page's overflow makes a new one)."""
    config = corpus_site.parent / "site.yaml"
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    before = _numbered_pages(out / "site")
    dates = [dt.date.fromisoformat(str(fm["date"])) for fm, _ in content_pages(out) if fm["date"]]
    today = (max(dates) + dt.timedelta(days=1)).strftime("%d - %m - %Y")
    (seeds / "zzz_today.txt").write_text(ADDED.replace("04 - 03 - 2021", today), encoding="utf-8")
    result = run_build(seeds, out, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    assert "articles/le-port-de-marseille-rouvre-son-terminal-nord/" in (out / "site" / "index.html").read_text(encoding="utf-8")
    after = _numbered_pages(out / "site")
    assert "" in before  # the home has numbered pages
    for folder, numbered in before.items():
        grew = len(after[folder]) == len(numbered) + 1
        assert len(after[folder]) == len(numbered) or grew, folder
        kept = [n for n in numbered if not (grew and n == max(numbered))]
        assert [n for n in kept if after[folder][n] != numbered[n]] == [], folder
