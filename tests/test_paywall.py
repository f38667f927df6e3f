"""Paywall stubs: the paywall's text never reaches a body; a stub alone is published as an
excerpt linked to its source, and a full copy of the same article, when there is one, wins."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import CORPUS, content_pages, need_shared, run_build, semeval_rows
from generator.core.settings import DEFAULTS
from generator.ingest.read import read_clean_extract

PAYWALL = re.compile(r"(?i)il vous reste|réservée? aux abonnés|subscribe to continue|déjà abonné")
LE_MONDE = "fundus/html/fr/LeMonde_2023_09_01.html"  # a real page cut by Le Monde's paywall


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_a_real_paywalled_page_is_an_excerpt_without_the_paywall_line() -> None:
    page = need_shared(CORPUS / LE_MONDE)
    [[doc]] = read_clean_extract(page.parent, 10**8, DEFAULTS["clean"]["min_words"], [page.name])
    assert doc.title.startswith("Sophie Binet met en garde Emmanuel Macron")
    assert doc.excerpt
    assert not any(PAYWALL.search(line) for line in doc.lines), [ln for ln in doc.lines if PAYWALL.search(ln)]
    assert len(words(" ".join(doc.lines))) > 400  # what the page shows of the article stays


def _semeval_article() -> dict:
    return next(r for r in semeval_rows() if r["date"] and len(r["text"].split()) > 300 and r["outlet_name"])


def test_stubs_alone_are_excerpts_and_a_full_copy_wins(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    # Le Monde's stub and, from another scrape, the same article's whole text (its paragraphs
    # and the rest the paywall hid)
    shutil.copyfile(need_shared(CORPUS / LE_MONDE), seeds / "lemonde.html")
    [[stub]] = read_clean_extract(seeds, 10**8, DEFAULTS["clean"]["min_words"], ["lemonde.html"])
    rest = ("Le président de la République a reçu les syndicats pendant plus de deux heures mercredi. "
            "La secrétaire générale de la CGT a dit vouloir revenir à l'Elysée si des engagements sont pris. ") * 3
    full = "\n\n".join(stub.lines + [rest])
    (seeds / "lemonde-full.txt").write_text(f"{stub.title}\nPublié dans Le Monde le 30 - 08 - 2023\n\n{full}\n",
                                            encoding="utf-8")
    # a text scrape of a stub alone: its lead, then the paywall
    art = _semeval_article()
    day, month, year = art["date"][8:], art["date"][5:7], art["date"][:4]
    lead = " ".join(art["text"].split()[:90])
    (seeds / "stub.txt").write_text(
        f"{art['title']}\nPublié dans {art['outlet_name']} le {day} - {month} - {year}\n{art['url']}\n\n{lead}\n\n"
        "Cet article est réservé aux abonnés.\nDéjà abonné ? Connectez-vous\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    pages = {fm["title"]: (fm, body) for fm, body in content_pages(out)}
    assert not any(PAYWALL.search(body) for _, body in pages.values())

    fm, body = pages[stub.title]  # merged: the full text is the body
    assert "excerpt" not in fm
    assert words(body) == words(full)
    assert {s["file"] for s in fm["sources"]} == {"lemonde.html", "lemonde-full.txt"}

    fm, body = pages[art["title"]]  # alone: an excerpt, linked to its source
    assert fm["excerpt"] is True and words(body) == words(lead)
    html = (out / "site" / "articles" / fm["slug"] / "index.html").read_text(encoding="utf-8")
    assert f'href="{art["url"]}"' in html and "Extrait :" in html
    assert not PAYWALL.search(html)
