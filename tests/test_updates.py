"""Updated articles: a corrected article published again is one page showing the newest
version, with both dates; the update line is metadata, never body text."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

from conftest import CORPUS, content_pages, need_shared, run_build, semeval_rows


def _semeval_article() -> dict:
    return next(r for r in semeval_rows() if r["date"] and r["outlet_name"] and len(r["text"].split()) > 250
                and len(re.split(r"(?<=[.!?])\s+", r["text"])) > 8)


def _json_ld(html: str) -> list[dict]:
    return [json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)]


def test_a_corrected_republication_is_one_page_with_the_newest_text_and_both_dates(tmp_path: Path) -> None:
    art = _semeval_article()
    published = dt.date.fromisoformat(art["date"])
    revised = published + dt.timedelta(days=2)
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(art["text"].split()))
    # the correction rewrites a sentence shorter: the newest version is not the longest copy
    at = max(range(2, 8), key=lambda i: len(sentences[i]))
    correction = "Ce passage a été corrigé par la rédaction."
    corrected = sentences[:at] + [correction] + sentences[at + 1:]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    dateline = f"Publié dans {art['outlet_name']} le {published:%d - %m - %Y}"
    (seeds / "first.txt").write_text(f"{art['title']}\n{dateline}\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
    (seeds / "second.txt").write_text(f"{art['title']}\n{dateline}\nMis à jour le {revised:%d/%m/%Y} à 18h12\n\n"
                                      + " ".join(corrected) + "\n", encoding="utf-8")
    # a real page whose metadata says it was revised the next day (dateModified)
    shutil.copyfile(need_shared(CORPUS / "fundus/html/uk/Metro_2024_11_29.html"), seeds / "metro.html")
    out = tmp_path / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    pages = {fm["title"]: (fm, body) for fm, body in content_pages(out)}

    fm, body = pages[art["title"]]
    assert {s["file"] for s in fm["sources"]} == {"first.txt", "second.txt"}  # one page
    assert str(fm["date"]) == published.isoformat() and str(fm["updated"]) == revised.isoformat()
    assert correction in body and sentences[at] not in body  # the newest version's text
    assert "Mis à jour" not in body
    html = (out / "site" / "articles" / fm["slug"] / "index.html").read_text(encoding="utf-8")
    assert f'mis à jour le <time datetime="{revised.isoformat()}">' in html
    article_ld = next(d for d in _json_ld(html) if d.get("@type") == "NewsArticle")
    assert article_ld["datePublished"] == published.isoformat() and article_ld["dateModified"] == revised.isoformat()

    metro = next(fm for fm, _ in pages.values() if fm["sources"][0]["file"] == "metro.html")
    assert (str(metro["date"]), str(metro["updated"])) == ("2024-11-18", "2024-11-19")
