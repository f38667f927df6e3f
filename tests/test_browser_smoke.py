"""Smoke test of the browser-test helpers (tests/browser.py) on a tiny page made here.

Proves, without the project's site: the server, Debian's Chromium under Playwright, a
screenshot, axe-core and the Nu HTML checker both finding nothing on a clean page and
something on a broken one, and collect_page_problems catching script that ran.
"""
from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from browser import (ARTIFACTS, axe_violations, browser, collect_page_problems, format_violations,
                     serve, unavailable, vnu_errors)

GOOD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Smoke digest</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="style.css">
</head>
<body>
<header><h1>Smoke digest</h1></header>
<main>
<article>
<h2><a href="story.html">A story about testing</a></h2>
<p>Browsers, checkers and <em>servers</em> working together.</p>
<img src="dot.svg" alt="A blue dot" width="40" height="40">
</article>
</main>
<footer><p id="status">loading</p></footer>
<script src="app.js"></script>
</body>
</html>
"""

# Something a sanitizer should have removed: it must show up as a recorded, dismissed dialog.
BAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bad</title><link rel="icon" href="data:,"></head>
<body><main><h1>Bad</h1><img src="dot.svg"><p><div>unclosed</p>
<script>alert("injected")</script></main></body></html>
"""

FILES = {
    "index.html": GOOD,
    "bad.html": BAD,
    "style.css": "body { font-family: sans-serif; margin: 2rem; color: #222; background: #fff; }\n"
                 "a { color: #0645ad; }\n",
    "app.js": 'document.getElementById("status").textContent = "script ran";\n',
    "dot.svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><circle cx="1" cy="1" r="1" fill="#36c"/></svg>',
    "data.json": '{"ok": true}',
    "feed.xml": '<?xml version="1.0"?><rss version="2.0"></rss>',
    "pagefind/pagefind.en_abc.pf_meta": "\x1f\x8b",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("smoke-site")
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def base_url(site: Path):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_server_content_types(base_url: str) -> None:
    expected = {"index.html": "text/html", "style.css": "text/css", "app.js": "text/javascript",
                "data.json": "application/json", "feed.xml": "application/xml",
                "dot.svg": "image/svg+xml",
                "pagefind/pagefind.en_abc.pf_meta": "application/octet-stream"}
    for name, content_type in expected.items():
        with urllib.request.urlopen(f"{base_url}/{name}", timeout=5) as response:
            assert response.headers.get_content_type() == content_type, name


def test_good_page_renders_and_is_accessible(page, base_url: str) -> None:
    problems = collect_page_problems(page)
    page.goto(f"{base_url}/index.html")
    assert page.title() == "Smoke digest"
    assert page.text_content("#status") == "script ran"  # app.js was served and ran
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "smoke-index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000
    violations = axe_violations(page)
    assert violations == [], format_violations(violations)
    assert not problems, problems.report()


def test_problems_are_caught_on_a_bad_page(page, base_url: str) -> None:
    problems = collect_page_problems(page)
    page.goto(f"{base_url}/bad.html")  # would hang on the alert if it were not dismissed
    assert problems.dialogs == ["alert: injected"]
    assert problems  # so `assert not problems` in a real test fails here
    ids = {v["id"] for v in axe_violations(page)}
    assert "image-alt" in ids  # axe really ran: the <img> has no alt


def test_vnu_passes_good_html_and_reports_bad(site: Path) -> None:
    errors = vnu_errors([site / "index.html", site / "bad.html"])  # one java process
    assert [e for e in errors if e.startswith(f"{site / 'index.html'}:")] == []
    assert errors, "vnu found nothing wrong in bad.html: is it really checking?"
    assert all(error.startswith(f"{site / 'bad.html'}:") for error in errors), errors
    assert any("p" in error and "end tag" in error for error in errors), errors


def test_missing_tools_skip_locally_but_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        unavailable("no chromium")
    for off in ("", "0", "false", "no"):
        monkeypatch.setenv("CI", off)
        with pytest.raises(pytest.skip.Exception):
            unavailable("no chromium")
    for on in ("true", "1", "yes", "True", "YES"):  # CI read as a boolean, as CI services set it
        monkeypatch.setenv("CI", on)
        with pytest.raises(pytest.fail.Exception):
            unavailable("no chromium")
