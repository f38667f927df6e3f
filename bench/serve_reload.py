#!/usr/bin/env python3
"""Edit to reload with `build-site serve`: seconds from writing a seed file to the open page
showing the edit in Chromium, by itself (live reload).

    python bench/serve_reload.py --seeds DIR --output DIR [--config PATH] [--edits 3] [--jobs N] [--editor]

Starts `build-site serve` (its first build may be a cold one: minutes at 10,000 articles),
picks an article built from one seed file whose title is a line of that file, opens its page
in Debian's Chromium (Playwright), then --edits times: rewrites the title line, waits until
the page's <h1> shows it and notes the time and the stage seconds of that rebuild
(build-report.json stats.seconds). Prints each edit and the median. The seed is put back at
the end (serve is stopped first, so that is not rebuilt).

With --editor the title is corrected in the editor's bar instead (`serve --edit`): from the
click to the page showing it; the corrections file is put back as it was at the end.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pick_article(output: Path, seeds: Path) -> tuple[str, Path, str]:
    """(slug, seed file, title) of an article from one seed whose title is a line of it."""
    for page in sorted((output / "content").glob("*.md"))[len(list((output / "content").glob("*.md"))) // 2:]:
        front = yaml.safe_load(page.read_text(encoding="utf-8").split("---\n", 2)[1])
        if len(front["sources"]) != 1 or front.get("title_derived"):
            continue
        seed = seeds / front["sources"][0]["file"]
        lines = seed.read_text(encoding="utf-8").splitlines()
        if sum(line.strip() == front["title"] for line in lines) == 1:
            return front["slug"], seed, front["title"]
    raise SystemExit("no article with its title on a line of its one seed file")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for one reload")
    parser.add_argument("--editor", action="store_true", help="correct the title in the editor's bar (serve --edit)")
    args = parser.parse_args()

    command = [sys.executable, "-m", "generator", "serve", "--seeds", str(args.seeds), "--output",
               str(args.output), "--port", "0", "--jobs", str(args.jobs), "--quiet"] + (["--edit"] if args.editor else [])
    if args.config:
        command += ["--config", str(args.config)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=PROJECT, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    seen: dict[str, float] = {}  # when serve last printed "change seen" and "published"
    watching = threading.Event()

    def read() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
            seen[line.split(":")[0].split(" ")[0]] = time.monotonic()
            print("  serve:", line.rstrip("\n"), file=sys.stderr)
            if line.startswith("watching for changes"):
                watching.set()

    threading.Thread(target=read, daemon=True).start()
    while not watching.wait(1):
        if process.poll() is not None:
            raise SystemExit("build-site serve stopped:\n" + "\n".join(lines))
    print(f"serve ready after {time.monotonic() - started:.1f} s (first build, models loaded)")
    base = next(m.group(0) for line in lines if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
    slug, seed, title = pick_article(args.output, args.seeds)
    original = seed.read_bytes()
    corrections = next((Path(m.group(1)) for line in lines if (m := re.match(r"editing: corrections go to (.+?); ", line))),
                       None)
    kept = corrections.read_bytes() if corrections is not None and corrections.exists() else None
    from playwright.sync_api import sync_playwright

    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/articles/{slug}/index.html")
            for i in range(1, args.edits + 1):
                new_title = f"{title} (mise à jour {i})"
                text = "\n".join(new_title if line.strip() == title else line
                                 for line in original.decode("utf-8").splitlines()) + "\n"
                time.sleep(1.0)  # the watcher's pace settles; mtimes differ
                if args.editor:
                    page.fill("#build-site-editor form[data-action=title] input", new_title)
                    page.click("#build-site-editor form[data-action=title] button")
                else:
                    seed.write_text(text, encoding="utf-8")
                edited = time.monotonic()
                page.wait_for_function("t => document.querySelector('h1')?.textContent.trim() === t",
                                       arg=new_title, timeout=args.timeout * 1000)
                shown = time.monotonic()
                seconds = shown - edited
                time.sleep(0.5)  # the report of that build is in place
                stages = json.loads((args.output / "build-report.json").read_text(encoding="utf-8"))["stats"]["seconds"]
                results.append(seconds)
                print(f"edit {i}: {seconds:.2f} s {'action' if args.editor else 'edit'} to reload (change seen after "
                      f"{seen['change'] - edited:.2f} s, page shown {shown - seen['published']:.2f} s "
                      "after the publish); stages: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
        seed.write_bytes(original)
        if corrections is not None:
            if kept is None:
                corrections.unlink(missing_ok=True)
            else:
                corrections.write_bytes(kept)
    print(f"article {slug} ({seed.name}); edit to reload, median of {len(results)}: "
          f"{statistics.median(results):.2f} s (each: {', '.join(f'{s:.2f}' for s in results)})")


if __name__ == "__main__":
    main()
