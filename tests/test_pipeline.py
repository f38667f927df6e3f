"""End to end on the shipped seeds: what an editor sees after `build-site`."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import read_page, run_build

TITLE = "Frontex et l'OIM organisent un webinaire sur la lutte contre la traite et le trafic d'enfants"


def test_the_two_seeds_build_into_one_clean_page(seeds_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_build(seeds_copy, out)
    assert result.returncode == 0, result.stderr
    pages = sorted((out / "content").glob("*.md"))
    assert len(pages) == 1
    fm, body = read_page(pages[0])
    assert fm["title"] == TITLE
    assert fm["outlet"] == "PanoraPost"
    assert fm["date"] == "2020-10-15"
    assert fm["lang"] == "fr"
    assert set(fm["entities"]) == {"people", "organizations", "places"}
    assert {s["file"] for s in fm["sources"]} == {"000_ab709a61b5646eb0.txt", "001_416bb22001713cf5.txt"}
    assert fm["also_published_by"] == []
    text = body.strip()
    assert text.startswith("Frontex, l'Agence européenne de garde-frontières")
    assert text.endswith("a été traduit en arabe et publié sur le webinaire.")
    for junk in ("Merci d'avoir signalé", "Cette image sera", "Cliquez ici", "Publié dans",
                 "Le temps qu'il fera ce mardi 8 avril 2025", "\u00a0"):
        assert junk not in text


def test_report_lists_every_seed_once_with_its_page(seeds_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_build(seeds_copy, out).returncode == 0
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    by_file = {e["file"]: e for e in report["inputs"]}
    assert sorted(by_file) == ["000_ab709a61b5646eb0.txt", "001_416bb22001713cf5.txt"]
    assert len(report["inputs"]) == 2
    slug = by_file["000_ab709a61b5646eb0.txt"]["article"]
    assert by_file["000_ab709a61b5646eb0.txt"]["status"] == "article"
    dup = by_file["001_416bb22001713cf5.txt"]
    assert dup["status"] == "duplicate" and dup["article"] == slug
    assert "000_ab709a61b5646eb0.txt" in dup["reason"]
    assert report["stats"]["articles"] == 1 and report["stats"]["duplicates"] == 1


def test_site_home_links_to_the_article_page(seeds_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_build(seeds_copy, out).returncode == 0
    home = (out / "site" / "index.html").read_text(encoding="utf-8")
    assert "Frontex et l&#39;OIM organisent un webinaire" in home
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    slug = report["inputs"][0]["article"]
    assert f'href="articles/{slug}/index.html"' in home
    page = (out / "site" / "articles" / slug / "index.html").read_text(encoding="utf-8")
    assert "Fabrice Leggeri" in page and "PanoraPost" in page


def test_slugs_do_not_depend_on_input_order_or_text(tmp_path: Path) -> None:
    """Two different articles under one headline: each keeps its slug whatever the order the
    files are found in and however their text is edited (a collision suffix comes from the
    file name, never from the text)."""
    import json

    body_a = "Le conseil municipal a voté le budget primitif après un long débat sur les écoles. " * 3
    body_b = "Les pompiers sont intervenus dans la nuit pour un incendie dans un entrepôt du port. " * 3
    slugs = []
    for run, (names, extra) in enumerate(((("a.txt", "b.txt"), ""), (("b.txt", "a.txt"), " Texte revu."))):
        seeds = tmp_path / f"seeds-{run}"
        seeds.mkdir()
        for name in names:  # created in another order, the second time with edited bodies
            body = (body_a if name == "a.txt" else body_b) + extra
            (seeds / name).write_text(f"Revue de la semaine\nPublié dans Le Courrier le 3 mars 2021\n\n{body}\n",
                                      encoding="utf-8")
        out = tmp_path / f"out-{run}"
        assert run_build(seeds, out).returncode == 0
        report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
        slugs.append({e["file"]: e["article"] for e in report["inputs"]})
    assert slugs[0] == slugs[1]
    assert len(set(slugs[0].values())) == 2 and "revue-de-la-semaine" in slugs[0].values()


def test_a_second_build_on_the_same_output_stops_with_a_message(seeds_copy: Path, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "generator", "--seeds", str(seeds_copy), "--output", str(out),
                              "--quiet"], cwd=Path(__file__).resolve().parent.parent,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / ".build.lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = run_build(seeds_copy, out)
    assert first.wait(timeout=300) == 0
    assert second.returncode == 1
    assert "another build-site is writing to" in second.stderr and "Traceback" not in second.stderr
    assert (out / "site" / "index.html").exists()


def test_serve_previews_and_rebuilds_on_change(seeds_copy: Path, tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--port", str(port), "--seeds",
                               str(seeds_copy), "--output", str(out), "--quiet"],
                              cwd=Path(__file__).resolve().parent.parent, stderr=subprocess.PIPE, text=True)
    try:
        def home() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
                return response.read().decode("utf-8")

        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                assert "Frontex et l&#39;OIM" in home()
                break
            except (OSError, AssertionError):
                time.sleep(0.3)
        assert "Frontex et l&#39;OIM" in home()
        (seeds_copy / "002_new.txt").write_text("Nouvel article du jour\nPublié dans Le Courrier le 02 - 03 - 2021\n\n"
                                                + "Le conseil municipal a voté le budget des écoles. " * 5)
        deadline = time.time() + 120
        while "Nouvel article du jour" not in home() and time.time() < deadline:
            time.sleep(0.5)
        assert "Nouvel article du jour" in home()
    finally:
        server.terminate()
        server.wait(timeout=30)
