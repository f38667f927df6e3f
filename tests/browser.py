"""Browser-test helpers (not a test file): serve a built site, drive Debian's Chromium, check it.

    from browser import serve, browser, axe_violations, vnu_errors, collect_page_problems
    (tests/ has no __init__.py, so pytest puts tests/ itself on sys.path)

    with serve(site_dir) as base_url, browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        page.goto(f"{base_url}/index.html")
        assert axe_violations(page) == []
        assert not problems, problems.report()
    assert vnu_errors(sorted(site_dir.rglob("*.html"))) == []

What the machine needs is installed by `.ci/install-browser-deps` (Debian's chromium, a Java
runtime, and the npm packages axe-core and vnu-jar in ./node_modules); Playwright comes from
the project's test extras. When a piece is missing the test is skipped with the reason, except
under CI=true, where it fails instead (so a broken CI set-up cannot pass by skipping).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator
from urllib.parse import unquote, urlparse

import pytest

from conftest import under_ci

if TYPE_CHECKING:  # pragma: no cover - typing only
    from playwright.sync_api import Browser, Page

PROJECT = Path(__file__).resolve().parent.parent
NODE_MODULES = PROJECT / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
ARTIFACTS = PROJECT / "tests" / "artifacts"  # git-ignored: screenshots and other outputs to look at
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package `chromium`; `playwright install` can't download here
INSTALL_HINT = "run .ci/install-browser-deps"

# Flags known to work for root on these machines (see the env README). Without the
# background-networking ones Chromium keeps trying Google's hosts through the closed network.
# --headless itself comes from launch(headless=True).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Content types for what a generated site (and Pagefind's search bundle) serves. The stdlib's
# guesses depend on the machine's /etc/mime.types; these are fixed so tests behave the same.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xsl": "application/xslt+xml",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",  # needed for WebAssembly.instantiateStreaming
    # Pagefind's index files (gzip-compressed binary, decompressed by its own JS)
    ".pf_meta": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
    ".pf_filter": "application/octet-stream",
    "": "application/octet-stream",
}


def unavailable(reason: str) -> None:
    """Skip the current test for a missing tool, or fail it when CI == "true"."""
    if under_ci():
        pytest.fail(f"{reason} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- serving


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = CONTENT_TYPES

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def end_headers(self) -> None:
        # Every test starts with a fresh profile anyway; this keeps reloads within a test honest.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The browser drops connections it no longer needs; don't print those tracebacks.
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 (a free port) in a background thread.

    Yields the base URL without a trailing slash, e.g. "http://127.0.0.1:40123".
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"serve(): {folder} is not a folder")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name=f"serve {folder}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- the browser


@contextlib.contextmanager
def browser(**launch_options: Any) -> Iterator["Browser"]:
    """Launch Debian's Chromium headless through Playwright's sync API; yields the Browser.

    Each launch gets a new, empty profile (Playwright makes a temporary --user-data-dir and
    removes it on close). Extra keyword arguments go to `chromium.launch()` (e.g. slow_mo=...).
    Use `b.new_page()` or `b.new_context(viewport=..., locale=...)` for pages.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install -e '.[test]'")
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"{CHROMIUM} is missing: {INSTALL_HINT} (apt-get install chromium)")
    args = [*CHROMIUM_ARGS, *launch_options.pop("args", ())]
    with sync_playwright() as playwright:
        b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args,
                                       **launch_options)
        try:
            yield b
        finally:
            b.close()


@dataclass
class PageProblems:
    """What `collect_page_problems` recorded; falsy when nothing went wrong."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)  # "alert: message", auto-dismissed
    popups: list[str] = field(default_factory=list)  # URLs of windows the page opened
    failed_requests: list[str] = field(default_factory=list)  # network failures and HTTP >= 400

    def all(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"dialog: {m}" for m in self.dialogs]
                + [f"popup: {m}" for m in self.popups]
                + [f"request failed: {m}" for m in self.failed_requests])

    def report(self) -> str:
        return "\n".join(self.all()) or "no problems"

    def __bool__(self) -> bool:
        return bool(self.all())


def collect_page_problems(page: "Page", *, ignore_favicon: bool = True) -> PageProblems:
    """Record console errors, uncaught exceptions, dialogs, popups and failed requests of `page`.

    Call it before `page.goto(...)`. Dialogs (alert/confirm/prompt/beforeunload) are dismissed
    at once and recorded, so a page that tries to run injected script shows up here instead of
    hanging the test. Returns a live PageProblems: assert `not problems, problems.report()`.
    With ignore_favicon, the 404 of the /favicon.ico that Chromium asks for by itself (for a
    page with no <link rel="icon">) is not counted.
    """
    problems = PageProblems()

    def on_console(message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url", "")
            if ignore_favicon and urlparse(where).path == "/favicon.ico":
                return
            if where:
                where = f" ({where}:{location.get('lineNumber', 0) + 1})"
            problems.console_errors.append(f"{message.text}{where}")

    def on_dialog(dialog: Any) -> None:
        problems.dialogs.append(f"{dialog.type}: {dialog.message}")
        with contextlib.suppress(Exception):  # the page may already be gone
            dialog.dismiss()

    def on_response(response: Any) -> None:
        if ignore_favicon and urlparse(response.url).path == "/favicon.ico":
            return
        if response.status >= 400:
            problems.failed_requests.append(f"HTTP {response.status} {response.url}")

    def on_request_failed(request: Any) -> None:
        # ERR_ABORTED: the browser itself cancelled the request (a goto left the page while its
        # favicon was loading), not a missing resource; those show as HTTP >= 400 above
        if "ERR_ABORTED" not in str(request.failure):
            problems.failed_requests.append(f"{request.failure} {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    page.on("popup", lambda popup: problems.popups.append(popup.url))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    return problems


# --------------------------------------------------------------------------- checks


@functools.lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: "Page", tags: Iterable[str] = ("wcag2a", "wcag2aa", "wcag21aa"),
                   *, include: str | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; returns its violations for the given rule tags.

    Each violation: {"id", "impact", "help", "helpUrl", "targets": [selector, ...],
    "nodes": [{"target", "html", "summary"}, ...]}. `include` limits the run to a CSS selector.
    axe is evaluated through the DevTools protocol, so a page's Content-Security-Policy
    doesn't block it.
    """
    if not AXE_JS.exists():
        unavailable(f"{AXE_JS.relative_to(PROJECT)} is missing: {INSTALL_HINT} (npm ci)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # e.g. the page defines an AMD `define`: fall back to a real <script> tag.
            page.add_script_tag(path=str(AXE_JS))
    raw = page.evaluate(
        """async ([tags, include]) => {
            const result = await window.axe.run(include ? {include: [include]} : document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return result.violations;
        }""",
        [list(tags), include],
    )

    def selector(target: Any) -> str:  # iframes/shadow DOM give nested lists
        return " >>> ".join(selector(t) for t in target) if isinstance(target, list) else str(target)

    violations = []
    for v in raw:
        nodes = [{"target": selector(n.get("target", [])), "html": n.get("html", ""),
                  "summary": n.get("failureSummary", "")} for n in v.get("nodes", [])]
        violations.append({"id": v["id"], "impact": v.get("impact"), "help": v.get("help", ""),
                           "helpUrl": v.get("helpUrl", ""), "targets": [n["target"] for n in nodes],
                           "nodes": nodes})
    return violations


def format_violations(violations: list[dict[str, Any]]) -> str:
    """A readable assertion message for axe_violations()'s result."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"])
                     for v in violations) or "no violations"


# -Xss: the checker needs a big thread stack (it says so and stops with a StackOverflowError
# under C1-only compilation at 1m). C1-only + serial GC start faster on 2 cores:
# 1.4 s instead of 2.5 s for one small file, and 200 pages of 47 KB took 8.6 s instead of 11.9 s.
VNU_JAVA_OPTIONS = ("-Xss8m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def vnu_errors(files: Iterable[Path], *, skip_non_html: bool = True, timeout: float = 600) -> list[str]:
    """Check HTML files with the Nu HTML checker in one java process; returns its errors.

    Each error reads "path:line:column: message" (warnings are left out). Folders may be given
    too: vnu then checks the files in them, only *.html/*.htm/*.xhtml with skip_non_html.
    A path that doesn't exist raises FileNotFoundError (vnu itself would pass it silently).
    """
    paths = [Path(f).resolve() for f in files]
    if not paths:
        return []
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"vnu_errors(): no such file: {', '.join(missing)}")
    java = shutil.which("java")
    if java is None:
        unavailable(f"java is missing: {INSTALL_HINT} (apt-get install default-jre-headless)")
    if not VNU_JAR.exists():
        unavailable(f"{VNU_JAR.relative_to(PROJECT)} is missing: {INSTALL_HINT} (npm ci)")
    command = [java, *VNU_JAVA_OPTIONS, "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]
    if skip_non_html:
        command.append("--skip-non-html")
    command += [str(p) for p in paths]  # absolute, so none is taken for an option
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    try:  # the JSON report goes to stderr; exit status 1 just means "errors found"
        report = json.loads(result.stderr)
    except json.JSONDecodeError:
        raise RuntimeError(f"vnu failed (exit {result.returncode}):\n{result.stderr}{result.stdout}") from None
    errors = []
    for message in report.get("messages", []):
        if message.get("type") == "info":
            continue
        where = message.get("url", "")
        if where.startswith("file:"):
            where = unquote(urlparse(where).path)
        line = message.get("lastLine", message.get("firstLine", "?"))
        column = message.get("firstColumn", message.get("lastColumn", "?"))
        kind = "" if message.get("type") == "error" else f"{message.get('type')}: "
        errors.append(f"{where}:{line}:{column}: {kind}{message.get('message', '')}")
    return errors


def screenshot(page: "Page", name: str, **options: Any) -> Path:
    """Save a PNG of the page into tests/artifacts/ (made if needed); returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), **options)
    return path


__all__ = [
    "ARTIFACTS", "AXE_JS", "CHROMIUM", "CHROMIUM_ARGS", "PROJECT", "VNU_JAR", "PageProblems",
    "axe_violations", "browser", "collect_page_problems", "format_violations", "screenshot",
    "serve", "unavailable", "vnu_errors",
]
