"""RSS and Atom feeds as inputs: one article per item, excerpts for summaries, broken feeds rejected.

The feeds are written at run time from real articles of ../shared/corpus (Radio-Canada and
La Dépêche du Midi in semeval_fr_full, Mosaïque FM, Le Monde in fundus), as their sites
would publish them: RSS 2.0 with content:encoded, Atom with summaries only, RSS 1.0.
"""
from __future__ import annotations

import csv
import datetime as dt
import email.utils
import html
import json
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from conftest import CORPUS, content_pages, need_shared, run_build, semeval_rows
from generator.core.model import Document, FileOutcome
from generator.ingest.dispatch import read_file

PARIS = dt.timezone(dt.timedelta(hours=2))
MOIS = {m: i for i, m in enumerate("janvier février mars avril mai juin juillet août septembre octobre "
                                   "novembre décembre".split(), 1)}


def semeval_articles(outlet: str, n: int) -> list[dict[str, Any]]:
    return [r for r in semeval_rows() if r["outlet_name"] == outlet and r["date"]][:n]


def mosaique_articles(n: int) -> list[dict[str, Any]]:
    path = need_shared(CORPUS / "mosaiquefm" / "MosaiqueFM_v0.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list({r["url"]: r for r in csv.DictReader(f)}.values())  # each article is there twice
    out = []
    for row in rows[:n]:
        day, month, year, time = row["Date"].split()
        hour, minute = map(int, time.split(":"))
        published = dt.datetime(int(year), MOIS[month.lower()], int(day), hour, minute, tzinfo=PARIS)
        out.append({"title": " ".join(row["Titre"].split()), "url": row["url"], "published": published,
                    "text": " ".join(row["Article"].split())})
    return out


def lead(text: str, words: int = 40) -> str:
    """The first sentences of a text, about WORDS words: what a feed gives as a summary."""
    kept: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        kept.append(sentence)
        if len(" ".join(kept).split()) >= words:
            break
    return " ".join(kept)


def as_html(text: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())


def rss2(channel: str, items: list[dict[str, Any]]) -> str:
    """RSS 2.0, the full text in content:encoded and a lead in description."""
    entries = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['url'])}</link>"
        f"<guid>{escape(i['url'])}</guid><pubDate>{email.utils.format_datetime(i['published'])}</pubDate>"
        f"<description>{escape(lead(i['text']))}</description>"
        f"<content:encoded><![CDATA[{as_html(i['text'])}]]></content:encoded></item>\n" for i in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
            f"<channel><title>{escape(channel)}</title><link>https://example.org/</link>"
            f"<description>{escape(channel)}</description><language>fr-ca</language>\n{entries}</channel></rss>\n")


def atom(title: str, items: list[dict[str, Any]]) -> str:
    """Atom with summaries only (no <content>), as many news sites publish it."""
    entries = "".join(
        f'<entry><title>{escape(i["title"])}</title><link rel="alternate" href="{escape(i["url"])}"/>'
        f"<id>{escape(i['url'])}</id><published>{i['published'].isoformat()}</published>"
        f"<updated>{(i.get('updated') or i['published']).isoformat()}</updated>"
        f'<summary type="html">{escape(as_html(lead(i["text"])))}</summary></entry>\n' for i in items)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">\n'
            f"<title>{escape(title)}</title><id>urn:feed:{len(items)}</id>"
            f"<updated>{items[0]['published'].isoformat()}</updated>\n{entries}</feed>\n")


def rss1(channel: str, items: list[dict[str, Any]]) -> str:
    """RSS 1.0 (RDF), dates in dc:date, the full text as plain description."""
    entries = "".join(
        f'<item rdf:about="{escape(i["url"])}"><title>{escape(i["title"])}</title><link>{escape(i["url"])}</link>'
        f"<dc:date>{i['published'].isoformat()}</dc:date><description>{escape(i['text'])}</description></item>\n"
        for i in items)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
            f'<channel rdf:about="https://example.org/"><title>{escape(channel)}</title>'
            f"<link>https://example.org/</link><description>{escape(channel)}</description></channel>\n"
            f"{entries}</rdf:RDF>\n")


def from_semeval(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # half past midnight in Paris is the day before in UTC: the page must keep the day as published
    return [{"title": r["title"], "url": r["url"], "text": r["text"],
             "published": dt.datetime.fromisoformat(r["date"]).replace(minute=30, tzinfo=PARIS)} for r in rows]


@pytest.fixture(scope="module")
def feeds_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One build of a seeds folder of real feeds (and one full copy of a feed's excerpt)."""
    base = tmp_path_factory.mktemp("feeds")
    seeds = base / "seeds"
    seeds.mkdir()
    radio = from_semeval(semeval_articles("Radio-Canada", 4))
    mosaique = mosaique_articles(5)
    mosaique[0]["updated"] = mosaique[0]["published"] + dt.timedelta(days=2)  # a corrected item
    depeche = from_semeval(semeval_articles("La Dépêche du Midi", 2))
    gold = [json.loads(line) for line in need_shared(CORPUS / "fundus" / "gold.jsonl").read_text(
        encoding="utf-8").splitlines()]
    monde = next(g for g in gold if g["publisher"] == "LeMonde")
    monde["title"] = " ".join(monde["title"].split())  # its no-break spaces are spaces on a page
    monde_item = {"title": monde["title"], "url": monde["url"], "text": monde["body_text"],
                  "published": dt.datetime.fromisoformat(monde["publishing_date"])}
    (seeds / "radio-canada.rss").write_text(rss2("Radio-Canada", radio), encoding="utf-8")
    (seeds / "mosaique.atom").write_text(atom("Mosaïque FM", mosaique), encoding="utf-8")
    (seeds / "depeche.xml").write_text(rss1("La Dépêche du Midi", depeche), encoding="utf-8")
    (seeds / "lemonde.atom").write_text(atom("Le Monde", [monde_item]), encoding="utf-8")
    # the same Le Monde article in full, from an export without its address
    (seeds / "lemonde-export.jsonl").write_text(json.dumps(
        {"title": monde["title"], "text": monde["body_text"], "outlet": "Le Monde",
         "date": monde["publishing_date"][:10]}, ensure_ascii=False) + "\n", encoding="utf-8")
    # broken feeds: cut mid-item, not XML at all, and a feed without items
    full = rss2("Radio-Canada", radio)
    (seeds / "cut.rss").write_text(full[:len(full) // 2], encoding="utf-8")
    (seeds / "notes.xml").write_text(radio[0]["text"], encoding="utf-8")
    (seeds / "empty.atom").write_text(atom("Mosaïque FM", mosaique[:1]).split("<entry>")[0] + "</feed>\n",
                                      encoding="utf-8")
    out = base / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    return {"out": out, "radio": radio, "mosaique": mosaique, "depeche": depeche, "monde": monde,
            "pages": {fm["title"]: (fm, body) for fm, body in content_pages(out)},
            "report": {row["file"]: row for row in report["inputs"]}}


def article_html(out: Path, slug: str) -> str:
    return (out / "site" / "articles" / slug / "index.html").read_text(encoding="utf-8")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_each_item_of_a_full_text_rss_feed_is_an_article_page(feeds_build: dict[str, Any]) -> None:
    pages, out = feeds_build["pages"], feeds_build["out"]
    for item in feeds_build["radio"]:
        fm, body = pages[item["title"]]
        assert fm["outlet"] == "Radio-Canada"
        assert fm["date"] == item["published"].date().isoformat()  # the day as published, not in UTC
        assert fm["sources"][0]["url"] == item["url"] and fm["sources"][0]["file"] == "radio-canada.rss"
        assert "excerpt" not in fm
        last = item["text"].split("\n\n")[-1]
        assert words(last)[-8:] == words(body)[-len(words(last)[-8:]):]  # the whole text, to its last words
        page = article_html(out, fm["slug"])
        assert f'href="{html.escape(item["url"])}"' in page and "Radio-Canada" in page
        assert "Extrait" not in page


def test_summary_only_items_are_excerpts_with_their_source_link(feeds_build: dict[str, Any]) -> None:
    pages, out = feeds_build["pages"], feeds_build["out"]
    for item in feeds_build["mosaique"]:
        fm, body = pages[item["title"]]
        assert fm["outlet"] == "Mosaïque FM"
        assert fm["date"] == item["published"].date().isoformat()
        assert fm["excerpt"] is True
        assert words(body) == words(lead(item["text"]))
        page = article_html(out, fm["slug"])
        assert f'href="{html.escape(item["url"])}"' in page
        assert "Extrait :" in page and "Lire l&#39;article complet sur Mosaïque FM" in page
    corrected = feeds_build["mosaique"][0]
    assert pages[corrected["title"]][0]["updated"] == corrected["updated"].date().isoformat()
    assert all("updated" not in pages[i["title"]][0] for i in feeds_build["mosaique"][1:])


def test_an_rss_1_feed_with_an_accented_title_names_its_outlet(feeds_build: dict[str, Any]) -> None:
    pages = feeds_build["pages"]
    for item in feeds_build["depeche"]:
        fm, _ = pages[item["title"]]
        assert fm["outlet"] == "La Dépêche du Midi" and fm["date"] == item["published"].date().isoformat()
        assert "excerpt" not in fm  # RSS 1.0 has only a description: here the whole article
    outlets = feeds_build["out"] / "site" / "outlets"
    assert "La Dépêche du Midi" in (outlets / "la-depeche-du-midi" / "index.html").read_text(encoding="utf-8")


def test_a_feed_excerpt_and_the_full_copy_are_one_page_with_the_full_text(feeds_build: dict[str, Any]) -> None:
    monde = feeds_build["monde"]
    fm, body = feeds_build["pages"][monde["title"]]
    assert "excerpt" not in fm
    assert words(body) == words(monde["body_text"])  # the full text is the body, not the summary
    assert {s["file"] for s in fm["sources"]} == {"lemonde.atom", "lemonde-export.jsonl"}
    assert fm["url"] == monde["url"]  # the feed gives the address
    assert "Extrait" not in article_html(feeds_build["out"], fm["slug"])
    report = feeds_build["report"]
    assert sorted(r["status"] for r in report["lemonde.atom"]["records"] + [report["lemonde-export.jsonl"]]) \
        == ["article", "duplicate"]


def test_every_item_is_accounted_for_in_the_report(feeds_build: dict[str, Any]) -> None:
    report = feeds_build["report"]
    for name, items in (("radio-canada.rss", feeds_build["radio"]), ("mosaique.atom", feeds_build["mosaique"]),
                        ("depeche.xml", feeds_build["depeche"])):
        rows = report[name]["records"]
        assert [r["record"] for r in rows] == list(range(len(items)))
        assert all(r["status"] == "article" and r["article"] for r in rows)
        assert len({r["article"] for r in rows}) == len(items)  # one page per item


def test_broken_feeds_are_rejected_with_a_reason(feeds_build: dict[str, Any]) -> None:
    report = feeds_build["report"]
    assert report["cut.rss"]["status"] == "rejected" and "truncated feed" in report["cut.rss"]["reason"]
    assert report["notes.xml"]["status"] == "rejected" and "not an RSS or Atom feed" in report["notes.xml"]["reason"]
    assert report["empty.atom"] == {"file": "empty.atom", "status": "rejected", "article": None,
                                    "reason": "feed holds no items"}


def test_a_feed_is_read_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    radio = from_semeval(semeval_articles("Radio-Canada", 2))
    (tmp_path / "export.txt").write_text(rss2("Radio-Canada", radio), encoding="utf-8")
    docs = read_file(tmp_path, "export.txt", 10**7)
    assert not isinstance(docs, FileOutcome)
    assert [(d.kind, d.record, d.title, d.url) for d in docs] == [("feed", i, r["title"], r["url"])
                                                                  for i, r in enumerate(radio)]


def test_every_truncation_of_a_feed_is_rejected_never_a_crash(tmp_path: Path) -> None:
    feed = rss2("Radio-Canada", from_semeval(semeval_articles("Radio-Canada", 2))).encode("utf-8")
    for cut in range(0, len(feed) - len("</rss>\n"), max(1, len(feed) // 60)):
        (tmp_path / "cut.rss").write_bytes(feed[:cut])
        outcome = read_file(tmp_path, "cut.rss", 10**7)
        assert isinstance(outcome, FileOutcome) and outcome.status == "rejected" and outcome.reason, cut


def test_an_html_title_is_read_as_text(tmp_path: Path) -> None:
    gold = [json.loads(line) for line in need_shared(CORPUS / "fundus" / "gold.jsonl").read_text(
        encoding="utf-8").splitlines()]
    article = next(g for g in gold if g["title"].startswith('"Just Coup It"'))
    title = " ".join(article["title"].split())
    marked = html.escape(title.replace('"Just Coup It"', '<em>"Just Coup It"</em>'))  # as an Atom type="html" title
    feed = atom("Euronews", [{"title": "x", "url": article["url"], "text": article["body_text"],
                              "published": dt.datetime.fromisoformat(article["publishing_date"])}])
    (tmp_path / "euronews.atom").write_text(feed.replace("<title>x</title>", f'<title type="html">{marked}</title>'),
                                            encoding="utf-8")
    docs = read_file(tmp_path, "euronews.atom", 10**7)
    assert not isinstance(docs, FileOutcome) and [d.title for d in docs] == [title]


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", " ".join(text.split()))


def test_an_excerpt_joins_an_untitled_full_copy_and_never_bridges_two_articles() -> None:
    """A feed's summary opens as its article does: it merges with a clean copy (no headline to
    match) and, when two articles open alike but go on apart, joins one of them only."""
    from generator.core.settings import DEFAULTS
    from generator.corpus.dedup import cluster_duplicates, merge_cluster

    first, other = [r for r in semeval_rows() if len(_sentences(r["text"])) >= 8][:2]
    sentences, elsewhere = _sentences(first["text"]), _sentences(other["text"])
    summary = Document(file="feed.xml", kind="feed", record=0, title=first["title"], excerpt=True,
                       lines=[lead(first["text"])])
    clean = Document(file="clean.txt", kind="plain", title=sentences[0][:60], title_derived=True,
                     lines=sentences)
    clusters, links = cluster_duplicates([summary, clean], DEFAULTS["dedup"])
    assert [[d.key for d in c] for c in clusters] == [["clean.txt", "feed.xml#0"]]
    assert links["feed.xml#0"].rule == "excerpt"
    assert merge_cluster(clusters[0]).excerpt is False
    # an article no longer than its summary: the full copy is still the body, not an excerpt
    short = Document(file="short.txt", kind="plain", title=sentences[0][:60], title_derived=True,
                     lines=list(summary.lines))
    assert merge_cluster([summary, short]).excerpt is False

    opening = len(lead(first["text"]).split(". "))
    alike = Document(file="alike.txt", kind="plain", title=other["title"],
                     lines=sentences[:opening] + elsewhere)  # the same opening, then another story
    clusters, _ = cluster_duplicates([summary, clean, alike], DEFAULTS["dedup"])
    assert sorted(len(c) for c in clusters) == [1, 2] and not any(
        {"clean.txt", "alike.txt"} <= {d.key for d in c} for c in clusters)


def rss2_description_only(channel: str, items: list[dict[str, Any]], text_of: Any) -> str:
    """RSS 2.0 without content:encoded: TEXT_OF(item), HTML, is the item's description."""
    entries = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['url'])}</link>"
        f"<pubDate>{email.utils.format_datetime(i['published'])}</pubDate>"
        f"<description>{escape(text_of(i))}</description></item>\n" for i in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n'
            f"<channel><title>{escape(channel)}</title><link>https://example.org/</link>"
            f"<description>{escape(channel)}</description>\n{entries}</channel></rss>\n")


def two_sentences(text: str) -> str:
    """What many news feeds give as an item's description: the article's first two sentences."""
    return " ".join(_sentences(text)[:2])


@pytest.fixture(scope="module")
def description_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One build of real articles given whole in <description> (RSS 1.0 plain text, RSS 2.0 HTML),
    and of others given as two-sentence summaries in both formats."""
    base = tmp_path_factory.mktemp("descriptions")
    seeds = base / "seeds"
    seeds.mkdir()
    # Guinéenews's first article is one paragraph of 104 words: alone, as short as a teaser
    whole_rss1 = from_semeval(semeval_articles("Le Figaro", 3) + semeval_articles("L'Express", 3)
                              + semeval_articles("Guinéenews", 2))
    whole_rss2 = from_semeval(semeval_articles("TV5Monde", 3) + semeval_articles("Challenges", 3))
    africa = from_semeval(semeval_articles("AllAfrica", 5))
    summary_rss1, opening = africa[:3], africa[4]
    summary_rss2 = from_semeval(semeval_articles("Sputnik France", 3))
    (seeds / "presse.rdf").write_text(rss1("Revue de presse", whole_rss1), encoding="utf-8")
    (seeds / "presse.rss").write_text(rss2_description_only("Revue de presse", whole_rss2,
                                                            lambda i: as_html(i["text"])), encoding="utf-8")
    for item in summary_rss1:
        item["text"] = two_sentences(item["text"])
    # among the summaries, an item giving the article's first three paragraphs (200 words)
    opening["text"] = "\n\n".join(opening["text"].split("\n\n")[:3])
    (seeds / "afrique.rdf").write_text(rss1("AllAfrica", summary_rss1 + [opening]), encoding="utf-8")
    (seeds / "sputnik.rss").write_text(rss2_description_only(
        "Sputnik France", summary_rss2, lambda i: f"<p>{html.escape(two_sentences(i['text']))}</p>"), encoding="utf-8")
    out = base / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    return {"out": out, "whole": whole_rss1 + whole_rss2, "summaries": summary_rss1 + summary_rss2,
            "opening": opening, "pages": {fm["title"]: (fm, body) for fm, body in content_pages(out)}}


def test_a_whole_article_in_a_description_is_published_whole_not_as_an_excerpt(
        description_build: dict[str, Any]) -> None:
    """RSS 1.0 has no element but <description> for the text, and RSS 2.0 feeds often give the
    whole HTML there: in a feed whose descriptions are evidently articles (several paragraphs,
    longer than any teaser, no truncation mark), each item is the article, its page without the
    excerpt label, a short one included."""
    pages, out = description_build["pages"], description_build["out"]
    assert len(description_build["whole"]) == 14
    for item in description_build["whole"]:
        fm, body = pages[item["title"]]
        assert "excerpt" not in fm, item["title"]
        assert words(body) == words(item["text"])  # the whole body, first word to last
        page = article_html(out, fm["slug"])
        assert "Extrait" not in page and f'href="{html.escape(item["url"])}"' in page


def test_two_sentence_descriptions_are_still_excerpts(description_build: dict[str, Any]) -> None:
    """And so is a longer item in a feed of summaries: the feed gives teasers."""
    pages, out = description_build["pages"], description_build["out"]
    for item in description_build["summaries"] + [description_build["opening"]]:
        fm, body = pages[item["title"]]
        assert fm["excerpt"] is True, item["title"]
        assert words(body) == words(item["text"] if item is description_build["opening"]
                                    else two_sentences(item["text"]))
        assert "Extrait :" in article_html(out, fm["slug"])


def test_a_cut_teaser_is_an_excerpt_however_long(tmp_path: Path) -> None:
    """What marks a cut is read where the feed shows it, links and all, and holds in a feed of
    whole articles: a WordPress excerpt ("[…]" above its "The post ... appeared first on ..."
    line), the first paragraphs and a "Lire la suite" link, a Medium preview. The same footer
    under a whole article leaves it whole."""
    *others, article = sorted(from_semeval(semeval_articles("Radio-Canada", 5)), key=lambda i: len(i["text"]))
    paragraphs = [p for p in article["text"].split("\n\n") if p.strip()]
    link = f'<a href="{html.escape(article["url"])}">'
    footer = f"<p>The post {link}{html.escape(article['title'])}</a> appeared first on {link}Radio-Canada</a>.</p>"
    teasers = [
        f"<p>{html.escape(' '.join(article['text'].split()[:55]))} [&#8230;]</p>{footer}",
        as_html("\n\n".join(paragraphs[:4])) + f"<p>{link}Lire la suite</a></p>",
        as_html("\n\n".join(paragraphs[:6])) + f"<p>{link}Continue reading on Medium »</a></p>",
    ]
    items = [{**article, "title": f"{article['title']} ({n})", "html": text} for n, text in enumerate(teasers)]
    french_footer = footer.replace("The post", "L’article").replace("appeared first on", "est apparu en premier sur")
    items += [{**item, "html": as_html(item["text"]) + french_footer} for item in others]
    (tmp_path / "teasers.rss").write_text(rss2_description_only("Radio-Canada", items, lambda i: i["html"]),
                                          encoding="utf-8")
    docs = read_file(tmp_path, "teasers.rss", 10**7)
    assert not isinstance(docs, FileOutcome)
    assert [d.excerpt for d in docs] == [True, True, True, False, False, False, False]
    # and no real article's opening (its first two sentences, its first 40 words) is evidently whole
    from generator.ingest.readers import WHOLE, description_shape

    for row in semeval_rows():
        for opening in (two_sentences(row["text"]), lead(row["text"])):
            assert description_shape([opening], [opening]) != WHOLE
