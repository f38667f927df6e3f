"""Section pages: a saved page of teasers (a linked headline and a snippet each) is one excerpt
per article it lists, linked to it; a full copy of one of them, from another input, wins."""
from __future__ import annotations

import html
import json
from pathlib import Path

from conftest import content_pages, run_build, semeval_rows
from test_feeds import lead

NAV = ["Accueil", "Politique", "Économie", "International", "Culture", "Sports", "Société", "Planète"]


def _articles(n: int) -> list[dict]:
    return [r for r in semeval_rows() if r["date"] and r["url"] and len(r["text"].split()) > 200
            and len(r["title"].split()) >= 4][:n]


def _lead(text: str) -> str:
    return lead(text, 35)  # a teaser's snippet: the first sentences


def _section_page(articles: list[dict]) -> str:
    """A news site's section front as a browser saves it: menus, kickers, relative links, footer."""
    nav = "".join(f'<li><a href="/{html.escape(n.lower())}/">{html.escape(n)}</a></li>' for n in NAV)
    teasers = "".join(
        f'<article class="teaser"><p class="kicker">Société</p>'
        f'<h2><a href="{html.escape(a["url"].split("/", 3)[3] and "/" + a["url"].split("/", 3)[3])}">{html.escape(a["title"])}</a></h2>'
        f'<p class="date">{a["date"][8:]}/{a["date"][5:7]}/{a["date"][:4]}</p>'
        f'<p class="snippet">{html.escape(_lead(a["text"]))}</p></article>' for a in articles)
    return (f'<!DOCTYPE html><html lang="fr"><head><title>Société - Le Quotidien</title>'
            f'<meta property="og:site_name" content="Le Quotidien">'
            f'<link rel="canonical" href="https://www.example-quotidien.fr/societe/"></head><body>'
            f'<header><nav><ul>{nav}</ul></nav></header><main><h1>Société</h1>{teasers}</main>'
            f'<footer><p>© Le Quotidien 2021. Tous droits réservés.</p><a href="/mentions-legales">Mentions légales</a>'
            f'</footer></body></html>')


def test_a_section_page_is_one_excerpt_per_teaser_and_a_full_copy_wins(tmp_path: Path) -> None:
    articles = _articles(6)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "societe.html").write_text(_section_page(articles), encoding="utf-8")
    full = articles[0]  # the whole text of one of them, from an export
    (seeds / "export.jsonl").write_text(json.dumps({"title": full["title"], "text": full["text"], "date": full["date"],
                                                    "outlet": "Le Quotidien"}, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    out = tmp_path / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    pages = {fm["title"]: (fm, body) for fm, body in content_pages(out)}
    report = {row["file"]: row for row in json.loads((out / "build-report.json").read_text(encoding="utf-8"))["inputs"]}
    assert len(report["societe.html"]["records"]) == len(articles)  # every teaser accounted for
    assert not any(n in pages for n in ("Société", "Accueil"))  # no page of the section itself

    fm, body = pages[full["title"]]
    assert "excerpt" not in fm and len(body.split()) > 150  # the full text won
    assert {s["file"] for s in fm["sources"]} == {"societe.html", "export.jsonl"}
    for art in articles[1:]:
        fm, body = pages[art["title"]]
        assert fm["excerpt"] is True and fm["outlet"] == "Le Quotidien" and str(fm["date"]) == art["date"]
        assert " ".join(body.split()).replace("\\", "") == _lead(art["text"])
        path = art["url"].split("/", 3)[3]
        assert fm["url"] == f"https://www.example-quotidien.fr/{path}"  # the relative link resolved
        page = (out / "site" / "articles" / fm["slug"] / "index.html").read_text(encoding="utf-8")
        assert "Extrait :" in page and "Mentions légales" not in page


def test_a_page_of_headlines_without_snippets_is_rejected_as_a_listing(tmp_path: Path) -> None:
    """Teasers that are not whole (headlines only): no article to read, and none is made up."""
    articles = _articles(10)
    links = "".join(f'<li><a href="{html.escape(a["url"])}">{html.escape(a["title"])}</a></li>' for a in articles)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "titres.html").write_text(f'<!DOCTYPE html><html lang="fr"><head><title>Les titres du jour</title></head>'
                                       f'<body><h1>Les titres du jour</h1><ul>{links}</ul></body></html>', encoding="utf-8")
    (seeds / "export.jsonl").write_text(json.dumps({"title": articles[0]["title"], "text": articles[0]["text"],
                                                    "date": articles[0]["date"]}, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    out = tmp_path / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    row = next(r for r in json.loads((out / "build-report.json").read_text(encoding="utf-8"))["inputs"]
               if r["file"] == "titres.html")
    assert row["status"] == "rejected" and row["reason"] == "listing page: 10 linked headlines and no article text"
    assert [fm["title"] for fm, _ in content_pages(out)] == [articles[0]["title"]]
