"""A site published under a path of its host (base_url https://host/revue/), in a real browser."""
from __future__ import annotations

import contextlib
import functools
import html.parser
import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser

from browser import CONTENT_TYPES, browser, collect_page_problems
from conftest import run_build

PREFIX = "/revue/"


class _StaticHost(http.server.SimpleHTTPRequestHandler):
    """A static host: files under the root, its 404.html (served with status 404) elsewhere."""

    extensions_map = CONTENT_TYPES

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / PREFIX.strip("/") / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def static_host(root: Path) -> Iterator[str]:
    """Serve ROOT on 127.0.0.1; yields the origin, e.g. http://127.0.0.1:40123."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_StaticHost, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and not (tag == "meta"):
                self.links.append(value)


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), ""


def test_site_served_under_a_path_works(seeds_copy: Path, tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    out = tmp_path / "out"
    with static_host(root) as origin:
        base = f"{origin}{PREFIX}"
        config = tmp_path / "site.yaml"
        config.write_text('title: "Revue test"\nbase_url: "https://wrong.example/"\n', encoding="utf-8")
        result = run_build(seeds_copy, out, "--quiet", "--base-url", base, config=config)  # the flag wins
        assert result.returncode == 0, result.stderr
        (root / PREFIX.strip("/")).symlink_to(out / "site", target_is_directory=True)

        # every link and asset of every page, as the host serves them, stays under the path
        seen, todo, pages = set(), [base], 0
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            status, body, kind = fetch(url)
            assert status == 200, (url, status)
            if not kind.startswith("text/html"):
                continue
            pages += 1
            parser = _Links()
            parser.feed(body.decode("utf-8"))
            for link in parser.links:
                target = urljoin(url, link).split("#", 1)[0]
                if urlsplit(target).netloc != urlsplit(origin).netloc:
                    assert "wrong.example" not in target, (url, link)
                    continue  # a source's own address
                assert urlsplit(target).path.startswith(PREFIX), (url, link)
                todo.append(target)
        assert pages > 30

        # feeds, sitemap and canonical links name the published address
        sitemap = fetch(f"{base}sitemap.xml")[1].decode("utf-8")
        locs = [chunk.split("<", 1)[0] for chunk in sitemap.split("<loc>")[1:]]
        assert locs and all(loc.startswith(base) for loc in locs)
        assert all(fetch(loc)[0] == 200 for loc in locs)
        feed = feedparser.parse(fetch(f"{base}feed.xml")[1])
        assert not feed.bozo and feed.entries
        assert all(e.link.startswith(base) and fetch(e.link)[0] == 200 for e in feed.entries)
        assert f"Sitemap: {base}sitemap.xml" in fetch(f"{base}robots.txt")[1].decode("utf-8")
        emails = sorted((out / "site" / "editions").rglob("email.html"))
        assert emails and f'href="{base}articles/' in emails[0].read_text(encoding="utf-8")

        with browser() as b:
            page = b.new_page()
            problems = collect_page_problems(page)
            page.goto(base)
            assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).borderBottomStyle") \
                == "solid"  # the style sheet loaded
            assert page.locator("link[rel=canonical]").get_attribute("href") == base
            page.get_by_role("link", name="Frontex et l'OIM organisent un webinaire").first.click()
            assert page.url.startswith(f"{base}articles/")
            page.get_by_role("link", name="Fabrice Leggeri").click()
            assert page.url == f"{base}people/fabrice-leggeri/index.html"
            assert page.locator("h1").inner_text() == "Fabrice Leggeri"
            page.get_by_role("link", name="Revue test").click()
            assert page.url == f"{base}index.html"
            # search: Pagefind finds its bundle and links its results under the path
            page.get_by_label("Rechercher dans les articles").fill("Frontex")
            page.get_by_role("button", name="Rechercher").click()
            result = page.locator(".pagefind-ui__result-link").first
            result.wait_for(timeout=15000)
            assert result.get_attribute("href").startswith(f"{PREFIX}articles/")
            result.click()
            assert page.url.startswith(f"{base}articles/") and page.locator("h1").inner_text().startswith("Frontex")
            assert not problems, problems.report()

            # a missing page gets the site's 404 page, styled, with links that work
            missing = b.new_page()
            response = missing.goto(f"{base}no/such/page/")
            assert response is not None and response.status == 404
            assert missing.evaluate("getComputedStyle(document.querySelector('.site-header')).borderBottomStyle") \
                == "solid"
            missing.get_by_role("link", name="Revue test").click()
            assert missing.url == f"{base}index.html"


def test_a_bad_base_url_stops_cleanly(seeds_copy: Path, tmp_path: Path) -> None:
    for flag in ("ftp://example.org/", "example.org/revue", "https://example.org/a b/"):
        result = run_build(seeds_copy, tmp_path / "out", "--base-url", flag)
        assert result.returncode == 2 and "--base-url: 'base_url' must be a web address" in result.stderr
        assert not (tmp_path / "out").exists()
    config = tmp_path / "site.yaml"
    config.write_text('base_url: "revue"\n', encoding="utf-8")
    result = run_build(seeds_copy, tmp_path / "out", config=config)
    assert result.returncode == 2 and f"{config}: 'base_url' must be" in result.stderr
