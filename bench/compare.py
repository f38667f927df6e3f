"""The full comparison behind `python bench/run.py --n N`: build-site scenarios, Hugo, Pelican.

Scenarios of ours, each through the real CLI (python -m generator) in a child process, in a
fresh copy of the seeds per run:
  cold      fresh output folder and fresh cache (paths.cache = <output>/.cache)
  warm      the same command again, nothing changed
  new 1%    n/100 new articles (with their duplicates) added to the seeds folder, rebuild
  edit 1    one sentence appended to the body of one article's seed file, rebuild
  day       (--stage day) the same new articles dated the day after the newest, as a day of
            news arrives, added to a copy of a built digest (run_day_scenario)
The new articles are real new stories: the corpus is generated for n + n/100 articles with
make_seeds.py and the files of n/100 of its synthetic articles are held out (make_seeds draws
its real-article pool whole into every corpus, so a second corpus with another --seed would
only bring copies of stories already there).

Rivals on the content/ of the first cold build: Hugo then Pagefind, and Pelican (rivals.py),
each in a fresh output folder, plus our render stage alone in a fresh process and a bare
Pagefind run on our site, for reference.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from measure import Measured, run_measured
from rivals import (MAPPING, ToolMissing, check_pelican, count_outputs, hugo_binary, hugo_command, pagefind_command,
                    pelican_command, write_hugo_site, write_pelican_site)

STAGES = ("read", "layout", "dedup", "entities", "content", "render")
EDIT_SENTENCE = "Cette phrase a été ajoutée au texte pour mesurer une reconstruction après une seule modification."
SITE_YAML = 'title: "Revue de presse"\nbase_url: "/"\n'

TARGETS_TEXT = {
    "render": "render <= 0.5x Hugo+Pagefind",
    "cold": "cold build <= 1.25x bare NER",
    "warm": "no change <= 2 s",
    "new": "1% new articles <= 10 s",
    "edit": "one edited article <= 3 s",
    "memory": "peak memory <= 1 GB (10k)",
    "memory_100k": "100k articles <= 4 GB",
}


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(samples: list[Measured], extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Medians of wall and CPU, max of the memory peaks, every run's figures."""
    out: dict[str, Any] = {
        "runs": len(samples),
        "wall_s": round(med([s.wall for s in samples]), 3),
        "walls": [round(s.wall, 2) for s in samples],
        "cpu_s": round(med([s.cpu for s in samples]), 3),
        "peak_rss_mb": round(max(s.peak_rss_mb for s in samples)),
        "tree_pss_mb": round(max(s.tree_pss_mb for s in samples)),
    }
    if extra:
        out["samples"] = extra
    return out


def sum_measured(parts: list[Measured]) -> Measured:
    """Commands run one after the other: walls and CPU add up, memory is the larger peak."""
    return Measured(wall=sum(p.wall for p in parts), user=sum(p.user for p in parts),
                    sys=sum(p.sys for p in parts), peak_rss_mb=max(p.peak_rss_mb for p in parts),
                    tree_pss_mb=max(p.tree_pss_mb for p in parts))


# ---------------------------------------------------------------------------------- corpora

def split_corpus(n: int, cache: Path, make_corpus: Callable[[int, Path], Path]) -> tuple[Path, Path]:
    """(base seeds of n articles, folder of the files of n/100 new articles named new_*)."""
    extra = max(1, n // 100)
    full = make_corpus(n + extra, cache)
    base, new = cache / f"seeds-{n}-base", cache / f"seeds-{n}-new"
    gold_copy = cache / f"{base.name}-gold.json"  # make_seeds' gold, read to place the edit
    if not gold_copy.exists():
        shutil.copy2(full.parent / f"{full.name}-gold.json", gold_copy)
    if base.is_dir() and new.is_dir() and any(new.iterdir()):
        return base, new
    gold = json.loads((full.parent / f"{full.name}-gold.json").read_text(encoding="utf-8"))
    clusters: dict[str, list[str]] = {}
    synthetic = set()
    for name, info in gold["files"].items():
        clusters.setdefault(info["cluster"], []).append(name)
        if info.get("source") == "synthetic":
            synthetic.add(info["cluster"])
    held = set(random.Random(6).sample(sorted(synthetic), extra))
    for folder in (base, new):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    held_files = {f for c in held for f in clusters[c]}
    for path in sorted(full.iterdir()):
        if path.name in held_files:
            shutil.copy2(path, new / f"new_{path.name}")
        else:
            os.link(path, base / path.name)
    return base, new


def link_tree(src: Path, dest: Path) -> None:
    """A copy of a seeds folder made of hard links (an edit must replace, not write, a file)."""
    shutil.copytree(src, dest, copy_function=os.link)


def edit_seed(path: Path, sentence: str, last_sentence: str | None) -> None:
    """Append a sentence to the body's last paragraph (the line holding make_seeds' gold last
    sentence; else the longest line), never to a trailing boilerplate line. Written as a new
    file so the hard-linked original stays."""
    lines = path.read_text(encoding="utf-8").split("\n")
    anchor = (last_sentence or "")[:60]
    found = [i for i, line in enumerate(lines) if anchor and anchor in line]
    target = found[-1] if found else max(range(len(lines)), key=lambda i: len(lines[i]))
    lines[target] = lines[target].rstrip() + " " + sentence
    path.unlink()
    path.write_text("\n".join(lines), encoding="utf-8")


def edit_picked_file(seeds: Path, base: Path, report: dict[str, Any], sentence: str) -> str:
    """Append SENTENCE to the picked file of SEEDS (a copy of BASE), where the gold make_seeds
    wrote beside BASE places its body's last sentence; returns the file's name."""
    edited = pick_edit_file(report)
    gold = base.parent / f"{base.name}-gold.json"
    files = json.loads(gold.read_text(encoding="utf-8"))["files"] if gold.exists() else {}
    edit_seed(seeds / edited, sentence, files.get(edited, {}).get("last_sentence"))
    return edited


def pick_edit_file(report: dict[str, Any]) -> str:
    """A seed file that is an article's canonical source (a .txt scrape), picked stably."""
    files = sorted(i["file"] for i in report["inputs"] if i["status"] == "article" and i["file"].endswith(".txt"))
    return files[len(files) // 2]


# ------------------------------------------------------------------------------------- ours

class Ours:
    def __init__(self, python: str, project: Path, jobs: int | None) -> None:
        self.python, self.project, self.jobs = python, project, jobs

    def command(self, seeds: Path, output: Path, config: Path) -> list[str]:
        cmd = [self.python, "-m", "generator", "--seeds", str(seeds), "--output", str(output), "--quiet",
               "--config", str(config)]
        return cmd + (["--jobs", str(self.jobs)] if self.jobs else [])

    def build(self, seeds: Path, output: Path, config: Path) -> tuple[Measured, dict[str, Any]]:
        m = run_measured(self.command(seeds, output, config), cwd=self.project)
        report = json.loads((output / "build-report.json").read_text(encoding="utf-8"))
        return m, report


def scenario_sample(m: Measured, report: dict[str, Any], site: Path) -> dict[str, Any]:
    stats = report["stats"]
    return {**m.as_dict(), "seconds": stats.get("seconds", {}), "pages_written": stats.get("pages_written"),
            "html_files": count_outputs(site)["html"], "articles": stats.get("articles")}


def run_scenarios(ours: Ours, base: Path, new: Path, runs: int, keep: Path, log: Callable[[str], None]
                  ) -> dict[str, Any]:
    """cold, warm, new 1%, edit 1: `runs` cycles, each on a fresh copy of the seeds."""
    samples: dict[str, list[tuple[Measured, dict[str, Any]]]] = {k: [] for k in ("cold", "warm", "new", "edit")}
    edit_visible = []
    edited = None
    for r in range(runs):
        work = Path(tempfile.mkdtemp(prefix="bench-scenario-"))
        try:
            seeds, output, config = work / "seeds", work / "out", work / "site.yaml"
            link_tree(base, seeds)
            config.write_text(SITE_YAML, encoding="utf-8")
            log(f"ours run {r + 1}/{runs}: cold")
            m, report = ours.build(seeds, output, config)
            samples["cold"].append((m, scenario_sample(m, report, output / "site")))
            if r == 0:  # the rivals render this content; our own render is timed on it too
                for name in ("content", "site"):
                    shutil.rmtree(keep / name, ignore_errors=True)
                    shutil.copytree(output / name, keep / name, symlinks=True)
            log(f"ours run {r + 1}/{runs}: warm, nothing changed")
            m, report = ours.build(seeds, output, config)
            samples["warm"].append((m, scenario_sample(m, report, output / "site")))
            for path in sorted(new.iterdir()):
                os.link(path, seeds / path.name)
            log(f"ours run {r + 1}/{runs}: {len(list(new.iterdir()))} new files")
            m, report = ours.build(seeds, output, config)
            samples["new"].append((m, scenario_sample(m, report, output / "site")))
            sentence = f"{EDIT_SENTENCE} ({r + 1})"
            edited = edit_picked_file(seeds, base, report, sentence)
            log(f"ours run {r + 1}/{runs}: one file edited ({edited})")
            m, report = ours.build(seeds, output, config)
            samples["edit"].append((m, scenario_sample(m, report, output / "site")))
            edit_visible.append(any(sentence in p.read_text(encoding="utf-8")
                                    for p in (output / "content").glob("*.md")))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {}
    stages = list(STAGES)  # and any stage a newer build-report adds, in its order
    for pairs in samples.values():
        stages += [st for _, s in pairs for st in s["seconds"] if st not in stages]
    for name, pairs in samples.items():
        res = summarise([m for m, _ in pairs], [s for _, s in pairs])
        res["stage_seconds"] = {st: round(med([s["seconds"].get(st, 0.0) for _, s in pairs]), 3) for st in stages}
        res["pages_written"] = pairs[-1][1]["pages_written"]
        res["html_files"] = pairs[-1][1]["html_files"]
        res["articles"] = pairs[-1][1]["articles"]
        out[name] = res
    out["new"]["files_added"] = len(list(new.iterdir()))
    out["edit"]["file"] = edited
    out["edit"]["edit_in_content"] = edit_visible
    return out


# a make_seeds aggregator scrape states its date on this line ("Publié dans Euronews le 22 - 01 - 2021",
# "Published in The Guardian on 11 - 09 - 2023"; before the English one was matched, more than half
# of a day's files kept their own dates, from any year)
_PUBLISHED_ON = re.compile(r"^(Publié dans .{1,80}? le |Published in .{1,80}? on )\d{2} - \d{2} - \d{4}", re.M)


def newest_date(content: Path) -> dt.date:
    dates = [line[6:].strip().strip("'\"") for page in content.glob("*.md")
             for line in page.read_text(encoding="utf-8").split("\n---", 1)[0].splitlines() if line.startswith("date: ")]
    return max(dt.date.fromisoformat(d) for d in dates if d and d != "null")


def run_day_scenario(ours: Ours, base: Path, new: Path, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """A day of news: the n/100 new articles dated the day after the newest of the corpus, as a
    press review receives them, added to a built digest. One cold build; each run adds the day
    to a copy of its output folder (its store, published site and spare), the seeds folder kept
    (so no other file looks touched), and the day's files are taken out again after the run."""
    work = Path(tempfile.mkdtemp(prefix="bench-day-"))
    try:
        seeds, output, config = work / "seeds", work / "out", work / "site.yaml"
        link_tree(base, seeds)
        config.write_text(SITE_YAML, encoding="utf-8")
        log("day: cold build of the base corpus")
        ours.build(seeds, output, config)
        day = newest_date(output / "content") + dt.timedelta(days=1)
        texts = {path.name: _PUBLISHED_ON.sub(lambda m: m.group(1) + day.strftime("%d - %m - %Y"),
                                               path.read_text(encoding="utf-8")) for path in sorted(new.iterdir())}
        samples = []
        for r in range(runs):
            copy = work / f"out-{r}"
            shutil.copytree(output, copy, symlinks=True)  # hard links inside are copied as files: no sharing
            for name, text in texts.items():
                (seeds / f"day_{name}").write_text(text, encoding="utf-8")
            log(f"day run {r + 1}/{runs}: {len(texts)} files dated {day}")
            m, report = ours.build(seeds, copy, config)
            samples.append((m, scenario_sample(m, report, copy / "site")))
            samples[-1][1]["files_rendered"] = report["stats"].get("files_rendered")
            for name in texts:
                (seeds / f"day_{name}").unlink()
            shutil.rmtree(copy)
        res = summarise([m for m, _ in samples], [s for _, s in samples])
        stages = list(dict.fromkeys(st for _, s in samples for st in s["seconds"]))
        res["stage_seconds"] = {st: round(med([s["seconds"].get(st, 0.0) for _, s in samples]), 3) for st in stages}
        res["files_added"], res["date"] = len(texts), day.isoformat()
        res["dated_files"] = sum(1 for t in texts.values() if day.strftime("%d - %m - %Y") in t)
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render_child(content: str, site: str, project: str) -> None:
    """Our render stage alone in this (fresh) process: content/ to site/, Pagefind included."""
    sys.path.insert(0, project)
    from generator.core.settings import load_config
    from generator.site.render import render_site_from_content

    root = Path(project)
    pages = render_site_from_content(Path(content), Path(site), root / "templates", root / "static", load_config(None))
    print(pages)


# ----------------------------------------------------------------------------------- rivals

def run_render_comparison(ours: Ours, keep: Path, runs: int, skip: set[str], log: Callable[[str], None],
                          bench_py: Path) -> dict[str, Any]:
    content, our_site = keep / "content", keep / "site"
    out: dict[str, Any] = {"ours_site": count_outputs(our_site), "mapping": MAPPING}
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        samples = []
        for r in range(runs):
            log(f"our render stage alone, run {r + 1}/{runs}")
            site = work / f"ours-{r}"
            samples.append(run_measured([ours.python, str(bench_py), "--render-child", str(content), str(site)],
                                        cwd=ours.project))
            shutil.rmtree(site)
        out["ours_render_alone"] = summarise(samples)
        samples = []
        for r in range(runs):
            shutil.rmtree(our_site / "pagefind", ignore_errors=True)
            log(f"bare Pagefind on our site, run {r + 1}/{runs}")
            samples.append(run_measured(pagefind_command(our_site)))
        out["pagefind_on_ours"] = summarise(samples)

        if "hugo" not in skip:
            hugo_site = work / "hugo-site"
            write_hugo_site(content, hugo_site, ours.project / "static")
            hugo, pf, both = [], [], []
            for r in range(runs):
                public, hcache = work / "hugo-public", work / "hugo-cache"
                shutil.rmtree(public, ignore_errors=True)
                shutil.rmtree(hcache, ignore_errors=True)
                log(f"Hugo, run {r + 1}/{runs}")
                h = run_measured(hugo_command(hugo_site, public, hcache))
                counts = count_outputs(public)
                log(f"Pagefind on Hugo's site, run {r + 1}/{runs}")
                p = run_measured(pagefind_command(public))
                hugo.append(h)
                pf.append(p)
                both.append(sum_measured([h, p]))
            out["hugo"] = {**summarise(hugo), **counts}
            out["pagefind_on_hugo"] = summarise(pf)
            out["hugo_pagefind"] = {**summarise(both), **counts}
        if "pelican" not in skip:
            pel_site = work / "pelican-site"
            write_pelican_site(content, pel_site)
            samples = []
            for r in range(runs):
                output = work / "pelican-out"
                shutil.rmtree(output, ignore_errors=True)
                log(f"Pelican, run {r + 1}/{runs}")
                samples.append(run_measured(pelican_command(pel_site, output)))
                counts = count_outputs(output)
            out["pelican"] = {**summarise(samples), **counts}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def check_tools(skip: set[str]) -> None:
    """Stop before any long run when a rival is missing."""
    try:
        if "hugo" not in skip:
            hugo_binary()
        if "pelican" not in skip:
            check_pelican()
    except ToolMissing as exc:
        sys.exit(f"bench: {exc}")


# ----------------------------------------------------------------------------------- tables

def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in header]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [f"\n{title}", "  ".join(h.ljust(w) for h, w in zip(cells[0], widths)),
             "  ".join("-" * w for w in widths)]
    for row in cells[1:]:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def print_report(res: dict[str, Any]) -> str:
    n, runs = res["n"], res["runs"]
    out = []
    sc = res["scenarios"]
    stages = list(sc["cold"]["stage_seconds"])
    # outside: wall minus the stages (interpreter start, lock, publishing and removing the old site)
    header = ["scenario", "wall s", "runs (wall s)", "CPU s", "peak RSS MB", "tree PSS MB", "pages", *stages,
              "outside"]
    rows = [[name, s["wall_s"], " ".join(f"{w:.2f}" for w in s["walls"]), s["cpu_s"], s["peak_rss_mb"],
             s["tree_pss_mb"], s["pages_written"], *(s["stage_seconds"].get(st) for st in stages),
             round(s["wall_s"] - sum(s["stage_seconds"].values()), 3)]
            for name, s in sc.items()]
    out.append(table(f"build-site scenarios, n={n}, medians of {runs} (stage columns: build-report "
                     f"stats.seconds medians)", header, rows))
    out.append(f"new: {sc['new']['files_added']} files of {max(1, n // 100)} new articles added; "
               f"edit: one sentence appended to {sc['edit']['file']} "
               f"(in content/ afterwards: {sc['edit']['edit_in_content']})")
    ner = res.get("bare_ner")
    if ner:
        out.append(table("bare NER (nlp.pipe, same workers, this run)", ["", "wall s", "runs (wall s)"],
                         [["bare NER", ner["wall_s"], " ".join(f"{w:.2f}" for w in ner["walls"])],
                          ["cold build / bare NER", ratio(sc["cold"]["wall_s"], ner["wall_s"]), ""]]))
    rc = res["render"]
    render_stage = sc["cold"]["stage_seconds"]["render"]
    ref = rc.get("hugo_pagefind", {}).get("wall_s")
    pel = rc.get("pelican", {}).get("wall_s")
    rows = [["ours: render stage in the cold build", render_stage, "", None, None, None,
             rc["ours_site"]["pages"], rc["ours_site"]["feeds"], ratio(render_stage, ref), ratio(render_stage, pel)]]
    for key, label in (("ours_render_alone", "ours: render alone, new process"),
                       ("pagefind_on_ours", "ours: bare Pagefind on our site"),
                       ("hugo", "Hugo"), ("pagefind_on_hugo", "Pagefind on Hugo's site"),
                       ("hugo_pagefind", "Hugo + Pagefind"), ("pelican", "Pelican")):
        if key not in rc:
            continue
        s = rc[key]
        pages = s.get("pages", rc["ours_site"]["pages"] if key.startswith("ours") else None)
        feeds = s.get("feeds", rc["ours_site"]["feeds"] if key.startswith("ours") else None)
        if key == "hugo_pagefind" or key == "hugo":
            pages = f"{s['pages']} (+{s['redirects']} page/1 redirects)"
        rows.append([label, s["wall_s"], " ".join(f"{w:.2f}" for w in s["walls"]), s["cpu_s"], s["peak_rss_mb"],
                     s["tree_pss_mb"], pages, feeds,
                     ratio(s["wall_s"], ref) if key.startswith("ours") else None,
                     ratio(s["wall_s"], pel) if key.startswith("ours") else None])
    out.append(table(f"render: content/ of {sc['cold']['articles']} articles to a site, medians of {runs}",
                     ["", "wall s", "runs (wall s)", "CPU s", "peak RSS MB", "tree PSS MB", "pages", "feeds",
                      "ours/Hugo+PF", "ours/Pelican"], rows))
    for tool, text in rc.get("mapping", {}).items():
        if tool in rc or (tool == "hugo" and "hugo_pagefind" in rc):
            out.append(f"{tool}: {text}")
    rows = []
    for key, t in res["targets"].items():
        rows.append([TARGETS_TEXT[key], t.get("value"), t.get("limit"), t.get("ratio"), t["verdict"]])
    out.append(table(f"targets (stated for 10,000 articles; this run: n={n})",
                     ["target", "measured", "limit", "measured/limit", "verdict"], rows))
    return "\n".join(out)


def verdict(value: float | None, limit: float, note: str = "") -> dict[str, Any]:
    if value is None:
        return {"value": None, "limit": limit, "ratio": None, "verdict": note or "not measured"}
    return {"value": round(value, 3), "limit": limit, "ratio": round(value / limit, 3),
            "verdict": "PASS" if value <= limit else "MISS"}


def targets(res: dict[str, Any]) -> dict[str, Any]:
    sc, rc = res["scenarios"], res["render"]
    out: dict[str, Any] = {}
    hpf = rc.get("hugo_pagefind", {}).get("wall_s")
    render = sc["cold"]["stage_seconds"]["render"]
    t = verdict(ratio(render, hpf), 0.5, "Hugo skipped")
    t["detail"] = f"render {render} s vs Hugo+Pagefind {hpf} s"
    out["render"] = t
    ner = (res.get("bare_ner") or {}).get("wall_s")
    t = verdict(ratio(sc["cold"]["wall_s"], ner), 1.25, "NER skipped")
    t["detail"] = f"cold {sc['cold']['wall_s']} s vs bare NER {ner} s"
    out["cold"] = t
    out["warm"] = verdict(sc["warm"]["wall_s"], 2.0)
    out["new"] = verdict(sc["new"]["wall_s"], 10.0)
    out["edit"] = verdict(sc["edit"]["wall_s"], 3.0)
    peak = max(s["tree_pss_mb"] for s in sc.values())
    out["memory"] = verdict(peak / 1024, 1.0)
    out["memory"]["detail"] = ("GB, summed PSS of the build's process tree (largest single process: "
                               f"{max(s['peak_rss_mb'] for s in sc.values())} MB RSS)")
    if res["n"] >= 100_000:
        out["memory_100k"] = verdict(peak / 1024, 4.0)
    else:
        out["memory_100k"] = verdict(None, 4.0, "run --n 100000")
    return out
