"""build-site serve: preview the site on 127.0.0.1, rebuild in this process when its inputs
change, and reload the open pages once the new build is published.

Live reload touches only what the preview server sends: each HTML response gets a small
script that long-polls /__build (the id of the published build) and reloads the page when the
id changes. A rebuild that fails keeps the last good site served, and the open pages show its
one-line error in a small overlay (as text, whatever it holds) until the next good build.
The files under output/site/ are never modified. With --edit the pages also get the editor's
bar, and POST /__edit/action writes the corrections file (editor.py).
"""
from __future__ import annotations

import functools
import json
import http.server
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .editor import EDIT_PATH, EditRefused, Editor

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"  # where serve listens unless told otherwise (--host)
RAW_QUERY = "raw"  # /page.html?raw: the page without the preview's additions
BUILD_PATH = "/__build"  # reserved: a site never has a page of that name (slugs are [a-z0-9-])
LONG_POLL_SECONDS = 20.0

ERROR_OVERLAY_ID = "build-site-error"
# Asks for the build id, waiting server-side until it differs from the page's own; reloads
# when it does, retries every second while the server is away (restarted, stopped). An id
# followed by a line is a failed rebuild: its error is shown (textContent: never as HTML)
# and the page waits for the next id.
RELOAD_SCRIPT = """<script>/* build-site serve: live reload, not part of the published site */
(function(){var id=%s,failed=%s;function show(m){var d=document.getElementById("%s");if(!d){
d=document.createElement("div");d.id="%s";d.setAttribute("role","alert");d.style.cssText="position:fixed;"+
"left:0;right:0;bottom:0;z-index:2147483647;margin:0;padding:.5em 1em;background:#8b0000;color:#fff;"+
"font:14px/1.4 monospace;white-space:pre-wrap";document.body.appendChild(d)}d.textContent=m}
function poll(){fetch("%s?since="+encodeURIComponent(id),{cache:"no-store"})
.then(function(r){return r.ok?r.text():Promise.reject(r.status)}).then(function(now){var at=now.indexOf("\\n");
if(at>=0){id=now.slice(0,at);show(now.slice(at+1));poll()}else if(now!==id){location.reload()}else{poll()}},
function(){setTimeout(poll,1000)})}if(failed!==null){show(failed)}poll()})();
</script>"""


def script_literal(text: str | None) -> str:
    """TEXT as a JavaScript string literal that cannot end the <script> it stands in."""
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class BuildClock:
    """The id of the published build; a request waiting for another id is woken when it changes."""

    def __init__(self) -> None:
        self._start = f"{os.getpid()}-{time.time_ns() // 1_000_000}"  # a restarted server has new ids
        self._count = 0
        self.error: str | None = None  # the one-line error of the last rebuild, if it failed
        self._changed = threading.Condition()

    @property
    def current(self) -> str:
        return f"{self._start}-{self._count}"

    @property
    def reply(self) -> str:
        """What /__build answers: the id, then the error of a failed rebuild on a line of its own."""
        return self.current if self.error is None else f"{self.current}\n{self.error}"

    def advance(self, error: str | None = None) -> None:
        """A new build is published (error None), or a rebuild failed with ERROR."""
        with self._changed:
            self._count += 1
            self.error = error
            self._changed.notify_all()

    def wait_for_change(self, since: str, timeout: float) -> str:
        """The reply, as soon as the id is not SINCE (or after TIMEOUT seconds)."""
        with self._changed:
            self._changed.wait_for(lambda: self.current != since, timeout)
            return self.reply


def with_reload_script(html: bytes, build_id: str, error: str | None = None, extra: str = "") -> bytes:
    """The page with the live-reload script (and the overlay of ERROR), and EXTRA (the editor's
    bar), before its last </body>."""
    script = (extra + RELOAD_SCRIPT % (script_literal(build_id), script_literal(error), ERROR_OVERLAY_ID,
                                       ERROR_OVERLAY_ID, BUILD_PATH)).encode()
    at = html.lower().rfind(b"</body>")
    return html + script if at < 0 else html[:at] + script + html[at:]


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder; HTML pages with the reload script, /__build with the build id."""

    clock: BuildClock
    editor: Editor | None = None  # serve --edit

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        log.debug(format, *args)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # a reload must show the new build
        super().end_headers()

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def _respond(self, body: bool) -> None:
        url = urlsplit(self.path)
        if url.path == BUILD_PATH:
            since = parse_qs(url.query).get("since", [""])[0]
            now = self.clock.wait_for_change(since, LONG_POLL_SECONDS) if since else self.clock.reply
            return self._send(200, "text/plain; charset=utf-8", now.encode(), body)
        if self.editor is not None and url.path in (EDIT_PATH, EDIT_PATH + "/", EDIT_PATH + "/review"):
            sent = self.editor.review_page() if url.path.endswith("/review") else self.editor.corrections_page()
            page = with_reload_script(sent, self.clock.current, self.clock.error)
            return self._send(200, "text/html; charset=utf-8", page, body)
        page = self.html_page(url.path)
        if page is None or url.query == RAW_QUERY:  # ?raw: the file as published (the editor copies an e-mail)
            return super().do_GET() if body else super().do_HEAD()
        status, path = page
        try:
            html = Path(path).read_bytes()
        except OSError:  # swapped out by a publish between the check and the read
            return super().do_GET() if body else super().do_HEAD()
        bar = self.editor.bar(url.path) if self.editor is not None else ""
        page = with_reload_script(html, self.clock.current, self.clock.error, bar)
        self._send(status, "text/html; charset=utf-8", page, body)

    def do_POST(self) -> None:
        """An editor's action (serve --edit): written to the corrections file, answered in JSON."""
        if self.editor is None or urlsplit(self.path).path != EDIT_PATH + "/action":
            return self._send(405 if self.editor is None else 404, "text/plain; charset=utf-8", b"", True)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        try:
            self.editor.check_request(self.headers, length)
            answer, status = self.editor.act(self.rfile.read(length)), 200
        except EditRefused as refused:
            answer, status = {"message": str(refused), "next": None}, refused.status
        self._send(status, "application/json", json.dumps(answer).encode(), True)

    def html_page(self, url_path: str) -> tuple[int, str] | None:
        """(status, file) of the HTML page a path shows: the page, its folder's index.html, or
        the site's 404.html for a missing path; None for anything else (the stdlib serves it)."""
        path = self.translate_path(url_path)
        if os.path.isdir(path):
            if not url_path.endswith("/"):
                return None  # the stdlib redirects to the path with a slash
            path = os.path.join(path, "index.html")
        if os.path.isfile(path):
            return (200, path) if path.endswith((".html", ".htm")) else None
        missing = os.path.join(self.directory, "404.html")
        return (404, missing) if os.path.isfile(missing) else None

    def _send(self, status: int, content_type: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


class PreviewServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # long polls must not hold up the end of serve

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection from %s dropped", client_address)  # a closed tab, a reload


def snapshot(paths: list[Path]) -> dict[str, tuple[int, int, int]]:
    """Modification time, size and inode of every file under the watched paths."""
    seen: dict[str, tuple[int, int, int]] = {}

    def visit(folder: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    visit(entry.path)
                else:
                    st = entry.stat()
                    seen[entry.path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                continue

    for root in paths:
        if root.is_dir():
            visit(str(root))
        elif root.exists():
            st = root.stat()
            seen[str(root)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return seen


def serve(site_dir: Path, watched: Callable[[], list[Path]], rebuild: Callable[[], bool], port: int,
          warm: Callable[[], None] | None = None, stop: threading.Event | None = None,
          editor: Editor | None = None, host: str = LOOPBACK) -> None:
    """Serve site_dir until interrupted; after any change under watched(), call rebuild() (True
    when it published a new site) and reload the open pages.

    warm() runs once the server is up, before watching starts (loading what rebuilds need).
    """
    clock = BuildClock()
    handler = functools.partial(type("Handler", (PreviewHandler,), {"clock": clock, "editor": editor}),
                                directory=str(site_dir))
    server = PreviewServer((host, port), handler)
    if editor is not None:
        editor.listening_on(server.server_address[1], host)
    thread = threading.Thread(target=server.serve_forever, name="build-site serve", daemon=True)
    thread.start()
    print(f"serving {site_dir} at http://{host}:{server.server_address[1]}/ (Ctrl+C to stop)",
          file=sys.stderr, flush=True)
    if host != LOOPBACK:
        print(f"build-site: warning: listening on {host}, not only this machine: whoever reaches it reads the "
              "preview" + (" (the editor's writes still need a page's token)" if editor else ""),
              file=sys.stderr, flush=True)
    if editor is not None:
        print(f"editing: corrections go to {editor.corrections}; the list is at "
              f"http://{host}:{server.server_address[1]}{EDIT_PATH}/", file=sys.stderr, flush=True)
    stop = stop or threading.Event()
    try:
        before = snapshot(watched())
        if warm is not None:
            warm()
        print("watching for changes", file=sys.stderr, flush=True)
        interval = 0.25
        while not stop.wait(interval):
            started = time.perf_counter()
            now = snapshot(watched())
            # a big seeds folder is walked about a tenth of the time, and at least once a second
            interval = min(1.0, max(0.25, 10 * (time.perf_counter() - started)))
            if now == before:
                continue
            before = now  # compared with the next walk: an edit made during the rebuild is seen
            print("change seen: rebuilding ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                published = rebuild()
            except Exception as exc:  # keep serving the last good site; the open pages say why
                error = " ".join(str(exc).split()) or type(exc).__name__
                print(f"build-site: rebuild failed: {error}", file=sys.stderr, flush=True)
                clock.advance(f"build-site: rebuild failed: {error}")
                continue
            if published or clock.error is not None:  # a good build clears the error shown
                clock.advance()
                print(f"published in {time.perf_counter() - started:.2f} s: reloading open pages",
                      file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("build-site: serve stopped", file=sys.stderr)
    finally:
        server.shutdown()
        server.server_close()
