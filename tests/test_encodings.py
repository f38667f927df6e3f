"""Broken text repaired at read time: mojibake once and twice, entities and tags in plain text, line ends.

The damaged inputs are real articles of ../shared/corpus (semeval_fr_full, Mosaïque FM, fundus)
put through what happens to them upstream: UTF-8 read as cp1252 or latin-1 and saved again,
an export that wrote HTML entities or left its tags, files edited on several systems.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from typing import Any

import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252", the cp1252 browsers and Windows decode with
import pytest

from conftest import CORPUS, content_pages, need_shared, run_build, semeval_rows
from generator.ingest.repair import repair_text
from test_feeds import from_semeval, mosaique_articles, semeval_articles, words

# what a page must never show when its input had it
DAMAGE = re.compile(r"Ã[\u0080-\u00bf ]|â€|Ã©|&(?:amp;)*(?:[a-z]+|#\d+);")


def mojibake(text: str) -> str:
    """UTF-8 read as cp1252 (as a browser or Windows does, the five undefined bytes kept as C1)."""
    return text.encode("utf-8").decode("sloppy-windows-1252")


def latin1_mojibake(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def entities(text: str) -> str:
    """Every non-ASCII character as an entity, named where HTML has a name ("&eacute;"), else numeric."""
    named = {v: k for k, v in html.entities.html5.items() if k.endswith(";") and len(v) == 1}
    return "".join(c if ord(c) < 128 else f"&{named[c]}" if c in named and c != "’" else f"&#{ord(c)};"
                   for c in text)


def scrape(article: dict[str, Any], outlet: str) -> str:
    """A text scrape as aggregators save it: title, dateline, body paragraphs."""
    y, m, d = article["published"].date().isoformat().split("-")
    return "\n".join([article["title"], f"Publié dans {outlet} le {d} - {m} - {y}", "", article["text"]])


def corpus_texts() -> list[str]:
    """Every title and body of the French corpus and of fundus: correct text, as published."""
    texts = []
    for row in semeval_rows():
        texts += [row["title"], row["text"]]
    for line in need_shared(CORPUS / "fundus" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts += [row["title"], row["body_text"]]
    return texts + [t for a in mosaique_articles(40) for t in (a["title"], a["text"])]


def test_correct_real_texts_come_out_unchanged() -> None:
    texts = corpus_texts()
    assert len(texts) > 400
    for text in texts:
        counts: Counter[str] = Counter()
        assert repair_text(text, counts) == text and not counts, text[:80]


@pytest.mark.parametrize("damage", [mojibake, lambda t: mojibake(mojibake(t)), latin1_mojibake, entities,
                                    lambda t: entities(t).replace("&", "&amp;")],
                         ids=["mojibake", "mojibake-twice", "latin-1", "entities", "entities-escaped-twice"])
def test_every_damaged_real_text_is_restored(damage: Any) -> None:
    for text in corpus_texts():
        damaged = damage(text)
        if damaged != text:
            counts: Counter[str] = Counter()
            assert repair_text(damaged, counts) == text and counts, text[:80]


@pytest.fixture(scope="module")
def damaged_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One build of real articles, each damaged one way, and one left correct."""
    base = tmp_path_factory.mktemp("encodings")
    seeds = base / "seeds"
    seeds.mkdir()
    radio = from_semeval(semeval_articles("Radio-Canada", 5))
    mosaique = mosaique_articles(4)
    cases = {  # file -> (article, outlet)
        "once.txt": (radio[0], "Radio-Canada"), "twice.txt": (radio[1], "Radio-Canada"),
        "latin1.txt": (radio[2], "Radio-Canada"), "tags.txt": (radio[3], "Radio-Canada"),
        "mixed-ends.txt": (radio[4], "Radio-Canada"), "correct.txt": (mosaique[0], "Mosaïque FM"),
        "entities.csv": (mosaique[1], "Mosaïque FM"), "mojibake.jsonl": (mosaique[2], "Mosaïque FM"),
    }
    write = {name: scrape(a, o) for name, (a, o) in cases.items() if name.endswith(".txt")}
    (seeds / "once.txt").write_text(mojibake(write["once.txt"]), encoding="utf-8")
    (seeds / "twice.txt").write_text(mojibake(mojibake(write["twice.txt"])), encoding="utf-8")
    (seeds / "latin1.txt").write_text(latin1_mojibake(write["latin1.txt"]), encoding="utf-8")
    title, rest = write["tags.txt"].split("\n", 1)
    paras = rest.split("\n\n")
    (seeds / "tags.txt").write_text(title + "<br/>\n" + "\n".join(f"<p>{p}</p>" for p in paras), encoding="utf-8")
    ends = iter(["\r\n", "\n", "\r"] * 1000)
    (seeds / "mixed-ends.txt").write_bytes(re.sub("\n", lambda _: next(ends), write["mixed-ends.txt"]).encode())
    (seeds / "correct.txt").write_text(write["correct.txt"], encoding="utf-8")
    buffer = io.StringIO()
    rows = csv.writer(buffer)
    article = cases["entities.csv"][0]
    rows.writerow(["title", "text", "outlet", "date", "url"])
    rows.writerow([entities(article["title"]), entities(article["text"]), "Mosaïque FM",
                   article["published"].date().isoformat(), article["url"]])
    (seeds / "entities.csv").write_text(buffer.getvalue(), encoding="utf-8")
    article = cases["mojibake.jsonl"][0]
    (seeds / "mojibake.jsonl").write_text(json.dumps(  # the damage inside the JSON strings, \u-escaped
        {"title": mojibake(article["title"]), "text": mojibake(article["text"]), "outlet": mojibake("Mosaïque FM"),
         "date": article["published"].date().isoformat()}) + "\n", encoding="utf-8")
    out = base / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    return {"out": out, "cases": cases, "pages": {fm["title"]: (fm, body) for fm, body in content_pages(out)},
            "report": {row["file"]: row for row in report["inputs"]}}


def test_damaged_articles_show_their_correct_text(damaged_build: dict[str, Any]) -> None:
    pages = damaged_build["pages"]
    for name, (article, outlet) in damaged_build["cases"].items():
        assert article["title"] in pages, (name, sorted(pages))
        fm, body = pages[article["title"]]
        assert fm["outlet"] == outlet and fm["date"] == article["published"].date().isoformat(), name
        assert words(body) == words(article["text"]), name
        assert fm["sources"][0]["file"] == name


def test_no_page_keeps_a_mojibake_sequence_or_a_literal_entity(damaged_build: dict[str, Any]) -> None:
    out = damaged_build["out"]
    checked = 0
    for path in [*(out / "content").glob("*.md"), *(out / "site" / "articles").rglob("*.html")]:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":  # markup aside: an entity the input had shows as "&amp;eacute;"
            text = html.unescape(re.sub(r"<[^>]*>", " ", text))
        found = DAMAGE.search(text)
        assert found is None, (path.name, text[max(0, found.start() - 40):found.end() + 40])
        checked += 1
    assert checked >= 2 * len(damaged_build["cases"])


def test_the_report_counts_what_was_repaired_per_file(damaged_build: dict[str, Any]) -> None:
    report, cases = damaged_build["report"], damaged_build["cases"]

    def changed(name: str, damage: Any, *extra: str) -> int:
        """The lines of a case's input that DAMAGE changes: what the report must count as repaired."""
        article, outlet = cases[name]
        lines = scrape(article, outlet).split("\n") if name.endswith(".txt") else [article["title"], article["text"]]
        return sum(damage(line) != line for line in [*lines, *extra] if line)

    assert report["once.txt"]["repaired"] == {"mojibake": changed("once.txt", mojibake)}
    assert report["twice.txt"]["repaired"] == {"mojibake": changed("twice.txt", mojibake)}
    assert report["latin1.txt"]["repaired"] == {"mojibake": changed("latin1.txt", mojibake)}
    assert report["tags.txt"]["repaired"] == {"tags": len(cases["tags.txt"][0]["text"].split("\n\n")) + 2}
    line_ends = scrape(*cases["mixed-ends.txt"]).count("\n")  # written as CRLF, LF, CR in turn
    assert report["mixed-ends.txt"]["repaired"] == {"line_endings": line_ends - (line_ends + 2) // 3}
    assert report["entities.csv"]["repaired"] == {"entities": changed("entities.csv", entities)}
    assert report["entities.csv"]["records"][0]["status"] == "article"
    assert report["mojibake.jsonl"]["repaired"] == {"mojibake": changed("mojibake.jsonl", mojibake, "Mosaïque FM")}
    assert "repaired" not in report["correct.txt"]
