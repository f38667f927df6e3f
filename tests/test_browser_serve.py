"""build-site serve in a real browser (Debian's Chromium driven by Playwright): an edited seed
file shows in the open page by itself, and the published site holds no live-reload script."""
from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from browser import browser, collect_page_problems
from conftest import PROJECT

SEED_SLUG = "frontex-et-l-oim-organisent-un-webinaire-sur-la-lutte-contre-la-traite-et-le"
OLD_TITLE = "Frontex et l'OIM organisent un webinaire sur la lutte contre la traite et le trafic d'enfants"
NEW_TITLE = "Frontex et l'OIM réunissent les polices du Sahel contre la traite des enfants"
RELOAD_MARKS = ("/__build", "live reload")  # what the preview server adds to the pages it sends


@contextlib.contextmanager
def build_site_serve(seeds: Path, output: Path, config: Path, *extra: str) -> Iterator[tuple[str, list[str]]]:
    """Run `build-site serve` on a free port until it watches; yields its address and its
    stderr lines (read as they come), and stops it with Ctrl+C (SIGINT)."""
    process = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--seeds", str(seeds),
                                "--output", str(output), "--config", str(config), "--port", "0", "--jobs", "1", *extra],
                               cwd=PROJECT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    watching = threading.Event()

    def read() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
            if line.startswith("watching for changes"):
                watching.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 600
        while not watching.wait(0.5):
            assert process.poll() is None and time.monotonic() < deadline, "\n".join(lines)
        address = next(m.group(0) for line in lines if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
        yield address, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)


def test_serve_reloads_the_open_page_when_its_seed_is_edited(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(PROJECT / "seeds", seeds)
    config = tmp_path / "site.yaml"
    config.write_text('title: "Revue en direct"\nbase_url: "https://example.org/revue/"\n', encoding="utf-8")
    (seed,) = [p for p in seeds.iterdir() if OLD_TITLE in p.read_text(encoding="utf-8")]
    article = f"articles/{SEED_SLUG}/index.html"
    with build_site_serve(seeds, tmp_path / "out", config) as (base, log), browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        page.goto(f"{base}/{article}")
        assert page.locator("h1").inner_text() == OLD_TITLE
        page.evaluate("() => { window.notReloaded = true; }")  # gone once the page reloads

        seed.write_text(seed.read_text(encoding="utf-8").replace(OLD_TITLE, NEW_TITLE), encoding="utf-8")
        edited = time.monotonic()
        page.wait_for_function("title => document.querySelector('h1')?.textContent.trim() === title",
                               arg=NEW_TITLE, timeout=60_000)
        seconds = time.monotonic() - edited
        print(f"edit to reload: {seconds:.2f} s")
        assert page.evaluate("() => window.notReloaded") is None, "the page changed without reloading"
        assert page.url == f"{base}/{article}"  # the article keeps its address
        assert page.title().startswith(NEW_TITLE)
        assert not problems, problems.report()
        assert any(line.startswith("published in") for line in log), "\n".join(log)

        # the preview server adds the script to what it sends, and to nothing it publishes
        with urllib.request.urlopen(f"{base}/{article}") as response:
            served = response.read().decode("utf-8")
        assert all(mark in served for mark in RELOAD_MARKS)
        published = (tmp_path / "out" / "site" / article).read_text(encoding="utf-8")
        assert re.sub(r"<script>/\* build-site serve.*?</script>", "", served, flags=re.S) == published
    pages = sorted((tmp_path / "out" / "site").rglob("*.html"))
    assert pages
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert not any(mark in html for mark in RELOAD_MARKS), path


HOSTILE_KEY = "<img src=x onerror=window.pwned=1>"


def test_a_failed_rebuild_keeps_the_site_and_shows_its_error_until_the_next_good_build(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(PROJECT / "seeds", seeds)
    config = tmp_path / "site.yaml"
    good = 'title: "Revue en direct"\nbase_url: "https://example.org/revue/"\n'
    config.write_text(good, encoding="utf-8")
    article = f"articles/{SEED_SLUG}/index.html"
    with build_site_serve(seeds, tmp_path / "out", config) as (base, log), browser() as b:
        page = b.new_page()
        page.goto(f"{base}/{article}")
        assert page.locator("#build-site-error").count() == 0
        before = (tmp_path / "out" / "site" / article).read_bytes()

        config.write_text(good + f'"{HOSTILE_KEY}": 1\n', encoding="utf-8")  # the next rebuild fails
        overlay = page.locator("#build-site-error")
        overlay.wait_for(timeout=60_000)
        shown = overlay.inner_text()
        assert shown.startswith("build-site: rebuild failed: ") and f"unknown key '{HOSTILE_KEY}'" in shown
        assert "\n" not in shown.strip()  # one line
        assert page.evaluate("() => window.pwned") is None and page.locator("img[src=x]").count() == 0
        assert page.locator("h1").inner_text() == OLD_TITLE  # the last good site stays up
        assert (tmp_path / "out" / "site" / article).read_bytes() == before
        again = b.new_page()  # a page opened meanwhile shows the error too
        again.goto(f"{base}/{article}")
        assert again.locator("#build-site-error").inner_text() == shown

        config.write_text(good, encoding="utf-8")  # fixed: the next good build clears it
        page.wait_for_function("() => !document.getElementById('build-site-error')", timeout=60_000)
        assert page.locator("h1").inner_text() == OLD_TITLE
    assert any(line.startswith("build-site: rebuild failed: ") for line in log), "\n".join(log)
