"""The search index in shards (search.py): a rebuild indexes again only the shard of what changed."""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import TOOLS, in_period, need_shared, read_page, run_build


def shard_files(site: Path) -> dict[str, dict[str, int]]:
    """Shard -> its bundle's files -> inode (a kept or linked-in file keeps its inode)."""
    out: dict[str, dict[str, int]] = {}
    for entry in (site / "pagefind").glob("*/pagefind-entry.json"):
        folder = entry.parent
        out[folder.name] = {p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("*") if p.is_file()}
    return out


def fragments_text(bundle: Path) -> str:
    return "\n".join(gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
                     for p in sorted((bundle / "fragment").glob("*.pf_fragment")))


def test_an_edit_indexes_only_its_shard_again(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    subprocess.run([sys.executable, str(need_shared(TOOLS / "make_seeds.py")), str(seeds), "--n", "40",
                    "--dup-rate", "0", "--seed", "5", "--quiet"], check=True, timeout=300)
    out = tmp_path / "out"
    assert run_build(seeds, out, "--quiet").returncode == 0
    site = out / "site"
    names = re.search(r'data-bundles="([^"]*)"', (site / "search" / "index.html").read_text()).group(1).split()
    before = shard_files(site)
    assert len(names) >= 2 and sorted(names) == sorted(before)
    dated = [n for n in names if n != "undated"]
    assert names[:len(dated)] == sorted(dated, reverse=True)  # newest first, undated last
    assert (site / "pagefind" / "pagefind-ui.js").is_file()  # the search page loads the UI from here
    # all shards hold all articles, once each
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    indexed = sum(lang["page_count"] for name in names
                  for lang in json.loads((site / "pagefind" / name / "pagefind-entry.json").read_text())["languages"].values())
    assert indexed == report["stats"]["articles"]

    entry = next(e for e in report["inputs"] if e["status"] == "article" and e["file"].endswith(".txt"))
    page, _ = read_page(out / "content" / f"{entry['article']}.md")
    shard = next(n for n in names if in_period(page["date"], n))
    for round_ in (1, 2):  # the second rebuild renders into the recycled first generation
        sentence = f"Le conseil a adopté une motion sur la navigation fluviale numéro {round_}."
        with open(seeds / entry["file"], "a", encoding="utf-8") as handle:
            handle.write(f"\n{sentence}\n")
        assert run_build(seeds, out, "--quiet").returncode == 0
        after = shard_files(site)
        assert sorted(after) == sorted(before)
        for name in names:
            if name == shard:
                assert after[name] != before[name], name  # indexed again...
                assert sentence in fragments_text(site / "pagefind" / name)  # ...with the edit
            else:
                assert after[name] == before[name], name  # the very same files


def test_the_newest_quarter_is_indexed_by_month_where_a_day_of_news_lands() -> None:
    """A day's new articles are dated in the newest quarter: its months are shards of their own,
    so that day re-indexes a month of articles, not a year of them; older years stay whole."""
    from generator.site.search import plan_shards

    views = [{"url": f"articles/a{i}/index.html", "date": date} for i, date in enumerate(
        ["2019-03-01", "2019-11-20", "2021-01-05", "2021-01-30", "2021-06-02", None])]
    shards = plan_shards(views, lambda view: view["url"])
    assert [s.name for s in shards] == ["2021-06", "2021-q1", "2019", "undated"]
    assert [len(s.pages) for s in shards] == [1, 2, 2, 1]


def test_a_full_year_is_indexed_by_quarter_and_a_full_quarter_by_month() -> None:
    """An edit to an older article re-indexes a few hundred pages: a year of more than
    SHARD_ARTICLES articles is split into quarters, a quarter of more than that into months."""
    from generator.site.search import SHARD_ARTICLES, plan_shards

    dates = ["2024-06-01", "2024-01-10"] + ["2020-02-10"] * (SHARD_ARTICLES + 1) + ["2020-05-03", "2020-12-31"]
    dates += ["2019-01-15"] * SHARD_ARTICLES + ["2019-03-02"] + ["2018-07-01"] * SHARD_ARTICLES
    views = [{"url": f"articles/a{i}/index.html", "date": date} for i, date in enumerate(dates)]
    shards = plan_shards(views, lambda view: view["url"])
    assert [s.name for s in shards] == ["2024-06", "2024-q1", "2020-q4", "2020-q2", "2020-02",
                                        "2019-03", "2019-01", "2018"]
    assert [len(s.pages) for s in shards] == [1, 1, 1, 1, SHARD_ARTICLES + 1, 1, SHARD_ARTICLES, SHARD_ARTICLES]
    assert all(in_period(view["date"], s.name) for s in shards for view in views if view["url"] in s.pages)
