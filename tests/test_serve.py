"""The preview server of build-site serve, without a build: what it sends, when it rebuilds,
and how a waiting page learns of a new build."""
from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from generator import serve as preview

PAGE = "<!doctype html>\n<html><head><title>t</title></head><body><h1>Bonjour</h1></body></html>\n"


@pytest.fixture
def running(tmp_path: Path):
    """serve() on a small site folder in a thread; yields (base URL, seeds folder, rebuild calls)."""
    site, seeds = tmp_path / "site", tmp_path / "seeds"
    (site / "articles" / "a").mkdir(parents=True)
    (site / "articles" / "a" / "index.html").write_text(PAGE, encoding="utf-8")
    (site / "404.html").write_text(PAGE.replace("Bonjour", "Introuvable"), encoding="utf-8")
    (site / "style.css").write_text("h1 { color: red }", encoding="utf-8")
    seeds.mkdir()
    (seeds / "one.txt").write_text("un", encoding="utf-8")
    calls: list[float] = []
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()

    def rebuild() -> bool:
        calls.append(time.monotonic())
        return True

    thread = threading.Thread(target=preview.serve, args=(site, lambda: [seeds], rebuild, port),
                              kwargs={"stop": stop}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}{preview.BUILD_PATH}", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield base, seeds, calls
    finally:
        stop.set()
        thread.join(timeout=10)


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode("utf-8")


def test_pages_get_the_reload_script_and_nothing_else_does(running) -> None:
    base, _, _ = running
    status, kind, html = get(f"{base}/articles/a/")
    assert status == 200 and kind.startswith("text/html")
    assert html.startswith(PAGE.split("</body>")[0]) and html.endswith("</body></html>\n")
    assert preview.BUILD_PATH in html
    status, _, css = get(f"{base}/style.css")
    assert status == 200 and css == "h1 { color: red }"
    status, _, missing = get(f"{base}/articles/gone/")
    assert status == 404 and "Introuvable" in missing and preview.BUILD_PATH in missing


def test_an_edit_rebuilds_and_wakes_a_waiting_page(running) -> None:
    base, seeds, calls = running
    _, _, first = get(f"{base}{preview.BUILD_PATH}")
    answer: list[str] = []
    waiting = threading.Thread(target=lambda: answer.append(get(f"{base}{preview.BUILD_PATH}?since={first}")[2]))
    waiting.start()
    time.sleep(0.5)
    assert not answer  # held open while nothing changes
    (seeds / "one.txt").write_text("deux", encoding="utf-8")
    waiting.join(timeout=10)
    assert len(calls) == 1
    assert answer and answer[0] != first
    assert get(f"{base}{preview.BUILD_PATH}")[2] == answer[0]


def test_serve_listens_beyond_this_machine_only_when_told_and_says_so(tmp_path: Path, capsys) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=preview.serve, args=(site, lambda: [], lambda: True, port),
                              kwargs={"stop": stop, "host": "0.0.0.0"}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/index.html")
                break
            except OSError:
                time.sleep(0.05)
        assert status == 200 and "Bonjour" in body
    finally:
        stop.set()
        thread.join(timeout=10)
    assert "warning: listening on 0.0.0.0, not only this machine" in capsys.readouterr().err
