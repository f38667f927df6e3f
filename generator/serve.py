"""build-site serve: preview the site on 127.0.0.1, rebuilding when its inputs change."""
from __future__ import annotations

import functools
import http.server
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def snapshot(paths: list[Path]) -> dict[str, float]:
    """Modification times of every file under the watched paths."""
    seen: dict[str, float] = {}
    for root in paths:
        if root.is_file():
            seen[str(root)] = root.stat().st_mtime
            continue
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                try:
                    seen[path] = os.stat(path).st_mtime
                except OSError:
                    continue
    return seen


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        log.debug(format, *args)


def serve(site_dir: Path, watched: list[Path], rebuild: Callable[[], None], port: int,
          interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """Serve site_dir until interrupted; call rebuild() after any watched file changes."""
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"serving {site_dir} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C to stop)",
          file=sys.stderr)
    stop = stop or threading.Event()
    before = snapshot(watched)
    try:
        while not stop.wait(interval):
            now = snapshot(watched)
            if now != before:
                before = now
                print("change seen: rebuilding ...", file=sys.stderr)
                try:
                    rebuild()
                except Exception as exc:  # keep serving the last good site
                    print(f"build-site: rebuild failed: {exc}", file=sys.stderr)
                before = snapshot(watched)
    finally:
        server.shutdown()
        server.server_close()
