"""What a published digest shows: the full text or only its lead, and links to the originals."""
from __future__ import annotations

import gzip
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

from conftest import PROJECT, TOOLS, content_pages, need_shared, run_build

EXCERPT_WORDS = 40
RECORDS = [  # records with and without an address, one of them hostile
    {"title": "La ligne de tramway de Sfax entre en service", "outlet": "La Presse", "date": "2021-05-03",
     "url": "https://www.lapresse.example/tram-sfax",
     "text": ["Le premier tramway de Sfax a transporté ses passagers ce lundi matin entre la gare et "
              "l'université. La municipalité attend vingt mille voyageurs par jour dès la rentrée.",
              "Les travaux avaient commencé il y a quatre ans, retardés par la découverte de vestiges "
              "romains sous l'avenue principale et par des recours des commerçants riverains.",
              "Le maire a promis une deuxième ligne vers le port avant la fin du mandat municipal.",
              "Les syndicats de taxis collectifs dénoncent une concurrence déloyale et menacent de grève."]},
    {"title": "Un nouveau musée consacré à la mosaïque ouvre à El Jem", "outlet": "Réalités", "date": "2021-05-04",
     "text": ["Le musée de la mosaïque d'El Jem ouvre ses portes au public après six ans de chantier "
              "et présente trois cents pavements restaurés provenant des villas romaines de la région.",
              "Les conservateurs ont travaillé avec des équipes italiennes pour consolider les pièces "
              "les plus fragiles, dont une scène de chasse longue de douze mètres.",
              "L'entrée sera gratuite pour les écoliers de la région pendant toute la première année."]},
    {"title": "Les oliviers de Zarzis face à la sécheresse", "outlet": "Nawaat", "date": "2021-05-05",
     "url": "javascript:alert(1)",
     "text": ["Les oléiculteurs de Zarzis comptent leurs arbres morts après le troisième été sans pluie. "
              "Certains ont perdu la moitié de leurs oliviers centenaires en une seule saison.",
              "Le ministère de l'Agriculture promet des forages supplémentaires mais les nappes baissent "
              "chaque année et l'eau devient salée près de la côte.",
              "Une coopérative teste des variétés plus résistantes venues d'Espagne et du Portugal."]},
]


def _seeds(base: Path) -> Path:
    tool = need_shared(TOOLS / "make_seeds.py")
    seeds = base / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "25", "--seed", "11", "--quiet"], check=True)
    for seed in (PROJECT / "seeds").iterdir():
        shutil.copy(seed, seeds)
    with open(seeds / "records.jsonl", "w", encoding="utf-8") as handle:
        for record in RECORDS:
            handle.write(json.dumps(dict(record, text="\n\n".join(record["text"])), ensure_ascii=False) + "\n")
    return seeds


@pytest.fixture(scope="module")
def both_modes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same corpus built with publish.body full and excerpt: mode -> output folder."""
    base = tmp_path_factory.mktemp("publish")
    seeds = _seeds(base)
    outs = {}
    for mode in ("full", "excerpt"):
        config = base / f"{mode}.yaml"
        config.write_text(f'title: "Revue"\nbase_url: "https://example.org/revue/"\n'
                          f"publish: {{body: {mode}, excerpt_words: {EXCERPT_WORDS}}}\n", encoding="utf-8")
        result = run_build(seeds, base / mode, "--quiet", config=config)
        assert result.returncode == 0, result.stderr
        outs[mode] = base / mode
    return outs


def page_of(out: Path, slug: str) -> str:
    return (out / "site" / "articles" / slug / "index.html").read_text(encoding="utf-8")


def text_of(page: str) -> str:
    """A page or feed with its character references resolved, as a reader's text."""
    return html.unescape(page)


def shown(markdown_paragraph: str) -> str:
    """A body paragraph as the reader reads it (Markdown escapes gone)."""
    return re.sub(r"\\(.)", r"\1", markdown_paragraph).strip()


def body_of(page: str) -> str:
    return page.split('data-pagefind-body>', 1)[1].split("</div>", 1)[0]


def words(text: str) -> int:
    return len(re.sub(r"<[^>]+>", " ", html.unescape(text)).split())


def record_page(out: Path, title: str) -> tuple[dict, str]:
    fm, body = next((fm, body) for fm, body in content_pages(out) if fm["title"] == title)
    return fm, page_of(out, fm["slug"])


def search_fragments(site: Path) -> str:
    """The text Pagefind stored for the search results of every article."""
    return "\n".join(gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
                     for p in sorted((site / "pagefind").glob("*/fragment/*.pf_fragment")))  # every shard


def test_full_mode_shows_the_whole_body_and_links_the_sources(both_modes: dict[str, Path]) -> None:
    out = both_modes["full"]
    for fm, body in content_pages(out):
        page = page_of(out, fm["slug"])
        for paragraph in body.split("\n\n"):
            assert shown(paragraph) in text_of(page), (fm["slug"], paragraph[:60])
    fm, page = record_page(out, RECORDS[0]["title"])
    assert fm["sources"][0]["url"] == RECORDS[0]["url"]
    sources = page.split('class="sources"', 1)[1]
    assert f'<a href="{RECORDS[0]["url"]}" rel="external noopener">La Presse</a>' in sources
    assert f'class="original-link" href="{RECORDS[0]["url"]}"' in page
    # no address: the outlet by name, never a dead or made-up link
    _, page = record_page(out, RECORDS[1]["title"])
    assert "Réalités" in page and "original-link" not in page and 'rel="external' not in page
    # an address that is not a web page is not linked
    _, page = record_page(out, RECORDS[2]["title"])
    assert "javascript:" not in page and "original-link" not in page


def test_excerpt_mode_publishes_only_the_lead(both_modes: dict[str, Path]) -> None:
    out = both_modes["excerpt"]
    site = out / "site"
    every_page = text_of("\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html")))
    every_feed = text_of(text_of("\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*.xml"))))
    index = search_fragments(site)
    checked = 0
    for fm, body in content_pages(out):
        page = page_of(out, fm["slug"])
        lead = body_of(page)
        assert 0 < words(lead) <= EXCERPT_WORDS + 1, (fm["slug"], words(lead))
        assert "excerpt-label" in page
        paragraphs = body.split("\n\n")
        rest = [p for p in paragraphs[1:] if shown(p) not in text_of(lead)]
        for paragraph in rest:  # beyond the excerpt: on no page, in no feed, not in the search index
            tail = " ".join(shown(paragraph).split()[-8:])
            if len(tail.split()) < 8 or tail in text_of(lead):  # the lead may repeat itself further down
                continue
            assert tail not in every_page, (fm["slug"], tail)
            assert tail not in every_feed, (fm["slug"], tail)
            assert tail.replace('"', '\\"') not in index, (fm["slug"], tail)
            checked += 1
    assert checked > 20
    # the prominent link to the original, and who else published it, stay
    fm, page = record_page(out, RECORDS[0]["title"])
    assert f'<a class="original-link" href="{RECORDS[0]["url"]}" rel="external noopener">' \
           f"Lire l&#39;article complet sur La Presse</a>" in page
    assert RECORDS[0]["text"][0].split(".")[0].replace("'", "&#39;") in page
    assert RECORDS[0]["text"][3][:40].replace("'", "&#39;") not in page
    _, page = record_page(out, RECORDS[1]["title"])
    assert "L&#39;article complet a été publié par Réalités." in page and "original-link" not in page
    merged = [fm for fm, _ in content_pages(out) if fm["also_published_by"]]
    assert merged
    page = page_of(out, merged[0]["slug"])
    assert "Également publié par" in page and 'class="chip chip-' in page


def test_excerpt_mode_feeds_carry_the_lead_and_the_link(both_modes: dict[str, Path]) -> None:
    full = feedparser.parse((both_modes["full"] / "site" / "feed.xml").read_text(encoding="utf-8"))
    short = feedparser.parse((both_modes["excerpt"] / "site" / "feed.xml").read_text(encoding="utf-8"))
    assert not full.bozo and not short.bozo
    assert [e.link for e in full.entries] == [e.link for e in short.entries]
    longer = 0
    for long_entry, entry in zip(full.entries, short.entries):
        text = entry.content[0].value
        assert words(text.split("<p><a href=")[0].rsplit("<p>L'article complet", 1)[0]) <= EXCERPT_WORDS + 1
        longer += words(long_entry.content[0].value) > words(text)
    assert longer > len(short.entries) / 2
    entry = next(e for e in short.entries if e.title == RECORDS[0]["title"])
    assert f'<a href="{RECORDS[0]["url"]}">Lire l\'article complet sur La Presse</a>' in entry.content[0].value
    assert any(link.get("rel") == "related" and link.href == RECORDS[0]["url"] for link in entry.links)
    entry = next(e for e in full.entries if e.title == RECORDS[0]["title"])
    assert all(p in text_of(entry.content[0].value) for p in RECORDS[0]["text"])


def test_publish_settings_are_checked(tmp_path: Path, seeds_copy: Path) -> None:
    for bad, message in (("publish: {body: summary}", "'publish.body' must be 'full' or 'excerpt'"),
                         ("publish: {excerpt_words: 3}", "'publish.excerpt_words' must be at least 10"),
                         ("publish: {excerpt: 3}", "unknown key 'publish.excerpt'")):
        config = tmp_path / "site.yaml"
        config.write_text(bad + "\n", encoding="utf-8")
        result = run_build(seeds_copy, tmp_path / "out", config=config)
        assert result.returncode == 2 and message in result.stderr, result.stderr
