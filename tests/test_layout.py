"""Any scrape layout: metadata wherever it sits, in shapes the code never saw; nothing real lost."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, TOOLS, content_pages, need_shared, run_build, score_build
from generator.core.settings import DEFAULTS
from generator.core.store import digest
from generator.corpus.layout import layout_files, read_metadata_line
from generator.ingest.read import list_seed_files, read_clean_extract


def real_articles(n: int, lang: str = "fr") -> list[dict]:
    """Dated SemEval French articles from ../shared/corpus (title, outlet_name, date, text)."""
    path = need_shared(CORPUS / "semeval_fr_full" / "articles.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # (one SemEval title is the body's first two sentences: no page model could tell it from the
    # first paragraph when nothing marks the top of the page)
    rows = [r for r in rows if r["date"] and r["lang"] == lang and len(r["text"].split()) > 80
            and ". " not in r["title"]]
    return rows[:n]


def paragraphs(text: str) -> list[str]:
    """A corpus text cut into paragraphs of about three sentences."""
    sentences = [s.strip() + "." for s in text.replace("\n", " ").split(". ") if s.strip()]
    return [" ".join(sentences[i:i + 3]).replace("..", ".") for i in range(0, len(sentences), 3)]


def report(out: Path) -> dict:
    return json.loads((out / "build-report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("line, outlet, date", [
    ("Publié dans PanoraPost le 15 - 10 - 2020", "PanoraPost", "2020-10-15"),
    ("Publié le 15 octobre 2020 par Le Monde", "Le Monde", "2020-10-15"),
    ("Publié le 1er février 2021 à 10h32 par Jeune Afrique", "Jeune Afrique", "2021-02-01"),
    ("Source : Le Figaro | 15/10/2020", "Le Figaro", "2020-10-15"),
    ("Published on October 15, 2020 by Reuters", "Reuters", "2020-10-15"),
    ("By Jane Doe | The Independent | Oct 15, 2020", "The Independent", "2020-10-15"),
    ("Publié le 15/10/2020", None, "2020-10-15"),
    ("Mis à jour le 2020-10-15 10:32 | Le Matin", "Le Matin", "2020-10-15"),
    ("Dernières Nouvelles d'Alsace | jeudi 15 octobre 2020", "Dernières Nouvelles d'Alsace", "2020-10-15"),
    ("Par Jean Dupont (L'Express), le 15/10/2020", "L'Express", "2020-10-15"),
    ("L'Express (Votre Argent) · 15 oct. 2020", "L'Express (Votre Argent)", "2020-10-15"),
    ("Updated 2020-10-15T10:32:00Z | iNews", "iNews", "2020-10-15"),
    ("Peter Hall, The Sun, 15/01/2019", "The Sun", "2019-01-15"),  # "Sun" is no weekday here
    ("The Sun | Sun 15 Oct 2020", "The Sun", "2020-10-15"),
])
def test_metadata_lines(line: str, outlet: str | None, date: str) -> None:
    assert read_metadata_line(line) == (outlet, date)


@pytest.mark.parametrize("line", [
    "Le temps qu'il fera ce mardi 8 avril 2025, selon les prévisions de Météo-France",
    "Publié dans un rapport, le chiffre inquiète les experts depuis des mois.",
    "Le 12 mars 2019, le président a annoncé sa démission devant les députés.",
    "Publié dans PanoraPost le 31 - 02 - 2020",  # no such day
    "",
])
def test_lines_that_are_not_metadata(line: str) -> None:
    assert read_metadata_line(line) is None


def write_pages(seeds: Path, articles: list[dict], page) -> None:
    seeds.mkdir(parents=True, exist_ok=True)
    for i, art in enumerate(articles):
        (seeds / f"{i:03d}.txt").write_text(page(i, art), encoding="utf-8")


def check_pages(out: Path, articles: list[dict]) -> dict[str, int]:
    """How many pages carry the article's title, outlet and date, and its whole body."""
    pages = {fm["sources"][0]["file"]: (fm, body) for fm, body in content_pages(out)}
    hits = {"title": 0, "outlet": 0, "date": 0, "body": 0}
    for i, art in enumerate(articles):
        fm, body = pages[f"{i:03d}.txt"]
        hits["title"] += fm["title"] == art["title"]

        hits["outlet"] += fm["outlet"] == art["outlet_name"]
        hits["date"] += fm["date"] == art["date"]
        paras = [" ".join(p.split()) for p in paragraphs(art["text"])]
        flat = " ".join(body.replace("\\", "").split())
        hits["body"] += paras[0][:60] in flat and paras[-1][-60:] in flat

    return hits


def test_a_metadata_shape_the_code_never_saw(tmp_path: Path) -> None:
    """Outlet/date lines in a made-up template (another separator, field order, month language),
    above the title, under it or at the very end, as a new aggregator would write them."""
    articles = real_articles(24)
    months_de = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                 "Oktober", "November", "Dezember"]
    rng = random.Random(5)

    def page(i: int, art: dict) -> str:
        y, m, d = art["date"].split("-")
        meta = f"{int(d)}. {months_de[int(m) - 1]} {y} ¦ {rng.randint(6, 22)}h{rng.randint(10, 59)} ¦ {art['outlet_name']}"
        body = "\n\n".join(paragraphs(art["text"]))
        where = i % 3
        head = [meta, "", art["title"]] if where == 0 else [art["title"], meta] if where == 1 else [art["title"]]
        tail = ["", meta] if where == 2 else []
        return "\n".join(["Accueil ¦ Monde ¦ Économie ¦ Sport", ""] + head + ["", body] + tail) + "\n"

    write_pages(tmp_path / "seeds", articles, page)
    result = run_build(tmp_path / "seeds", tmp_path / "out", "--quiet")
    assert result.returncode == 0, result.stderr
    hits = check_pages(tmp_path / "out", articles)
    assert hits == {"title": 24, "outlet": 24, "date": 24, "body": 24}
    shapes = report(tmp_path / "out")["stats"]["layouts"]["shapes"]
    assert any(s["taken_for"] == "metadata" and "{date}" in s["shape"] and s["files"] >= 20 for s in shapes)


def test_a_learned_shape_finds_the_outlet_among_other_words(tmp_path: Path) -> None:
    """A credit line with words around the outlet's name ("diffusé ... par l'équipe de X"): no
    line alone says which words are the outlet, the corpus does (the name that changes)."""
    articles = real_articles(12)

    def page(i: int, art: dict) -> str:
        y, m, d = art["date"].split("-")
        credit = f"Texte diffusé le {d}/{m}/{y} par l'équipe de {art['outlet_name']}"
        return "\n".join([art["title"], credit, "", *paragraphs(art["text"])]) + "\n"

    write_pages(tmp_path / "seeds", articles, page)
    assert run_build(tmp_path / "seeds", tmp_path / "out", "--quiet").returncode == 0
    assert check_pages(tmp_path / "out", articles) == {"title": 12, "outlet": 12, "date": 12, "body": 12}


def test_a_dateline_at_the_end_keeps_the_whole_body(tmp_path: Path) -> None:
    (art,) = real_articles(1)
    y, m, d = art["date"].split("-")
    paras = paragraphs(art["text"])
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "end.txt").write_text("\n".join([art["title"], "", *paras, "", f"Source: {art['outlet_name']} | "
                                              f"{d}/{m}/{y}"]), encoding="utf-8")
    assert run_build(seeds, tmp_path / "out", "--quiet").returncode == 0
    ((fm, body),) = content_pages(tmp_path / "out")
    assert (fm["title"], fm["outlet"], fm["date"]) == (art["title"], art["outlet_name"], art["date"])
    flat = " ".join(body.replace("\\", "").split())
    assert all(" ".join(p.split()) in flat for p in paras)
    assert "Source:" not in body
    assert report(tmp_path / "out")["stats"]["layouts"]["pages"] == {"metadata at the end": 1}


def test_outlet_split_over_two_lines_and_consent_banner_on_top(tmp_path: Path) -> None:
    arts = real_articles(6)
    write_pages(tmp_path / "seeds", arts, lambda i, a: "\n".join([
        "We use cookies to give you the best experience on our site.", "Manage preferences", "Accept all", "",
        a["title"], a["outlet_name"], "/".join(reversed(a["date"].split("-"))), "",
        *paragraphs(a["text"]), "", f"© {a['date'][:4]} {a['outlet_name']}. Tous droits réservés."]))
    assert run_build(tmp_path / "seeds", tmp_path / "out", "--quiet").returncode == 0
    assert check_pages(tmp_path / "out", arts) == {"title": 6, "outlet": 6, "date": 6, "body": 6}
    assert not any("cookies" in body or "Manage" in body for _, body in content_pages(tmp_path / "out"))


def test_headlines_as_written_and_derived_titles(tmp_path: Path) -> None:
    art, other = real_articles(2)
    paras = paragraphs(art["text"])
    question = "Pourquoi le marché immobilier résiste-t-il si bien à la crise sanitaire et à la hausse des taux ?"
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "titled.txt").write_text("\n".join([question, "Publié dans Le Courrier le 02 - 03 - 2021", "",
                                                 *paras]), encoding="utf-8")
    (seeds / "bodyonly.txt").write_text("Le gouvernement a-t-il cédé ? " + " ".join(paragraphs(other["text"])),
                                        encoding="utf-8")
    assert run_build(seeds, tmp_path / "out", "--quiet").returncode == 0
    pages = {fm["sources"][0]["file"]: fm for fm, _ in content_pages(tmp_path / "out")}
    assert pages["titled.txt"]["title"] == question and not pages["titled.txt"].get("title_derived")
    assert pages["bodyonly.txt"]["title"] == "Le gouvernement a-t-il cédé ?"
    assert pages["bodyonly.txt"]["title_derived"] is True


def test_outlet_aliases_from_site_yaml(tmp_path: Path) -> None:
    arts = real_articles(2)
    write_pages(tmp_path / "seeds", arts, lambda i, a: "\n".join([
        a["title"], f"{['lemonde.fr', 'LE MONDE'][i]} | {a['date']}", "", *paragraphs(a["text"])]))
    config = tmp_path / "site.yaml"
    config.write_text("title: T\nbase_url: /\noutlets:\n  - name: Le Monde\n    aliases: [lemonde.fr, le monde]\n"
                      "  - Libération\n", encoding="utf-8")
    assert run_build(tmp_path / "seeds", tmp_path / "out", "--quiet", config=config).returncode == 0
    assert [fm["outlet"] for fm, _ in content_pages(tmp_path / "out")] == ["Le Monde", "Le Monde"]


def test_prose_that_every_rule_would_remove_is_kept_and_said(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "cookies.txt").write_text("\n".join([
        "La CNIL sanctionne deux géants du web",
        "Les cookies publicitaires déposés sans consentement seront sanctionnés, a annoncé la CNIL mardi.",
        "Le refus des cookies doit être aussi simple que leur acceptation, rappelle l'autorité dans sa décision.",
    ]), encoding="utf-8")
    assert run_build(seeds, tmp_path / "out", "--quiet").returncode == 0
    ((fm, body),) = content_pages(tmp_path / "out")
    assert fm["title"] == "La CNIL sanctionne deux géants du web"
    assert "sans consentement" in body and "aussi simple" in body
    (entry,) = report(tmp_path / "out")["inputs"]
    assert entry["status"] == "article" and "cookie" in entry["reason"]


def crawler_log(lines: int) -> str:
    rng = random.Random(1)
    return "\n".join(f"2024-05-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 59:02d},{i % 1000:03d} INFO "
                     f"[crawler] fetched https://www.example.org/article/{rng.randrange(10**8)}.html "
                     f"status=200 bytes={rng.randrange(10**6)} in {rng.random():.3f}s" for i in range(lines))


def test_junk_that_is_not_prose_is_rejected_with_a_reason(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "crawl.log.txt").write_text(crawler_log(32000), encoding="utf-8")
    assert (seeds / "crawl.log.txt").stat().st_size > 4_000_000
    (seeds / "dump.txt").write_text("id,title,views,score\n" + "\n".join(
        f"{i},Titre numéro {i},{i * 37},{i % 5}" for i in range(300)), encoding="utf-8")
    (seeds / "script.txt").write_text("\n".join(["import os", "def main():", "    for x in range(3):",
                                                 "        print(x);", "    return 0", "}", "if (a) {", "x = 1;"] * 20),
                                      encoding="utf-8")
    (seeds / "settings.txt").write_text("\n".join(f"option_{i} = value{i}" for i in range(80)), encoding="utf-8")
    (seeds / "links.txt").write_text("\n".join(f"https://www.example.org/{i}.html" for i in range(200)),
                                     encoding="utf-8")
    (art,) = real_articles(1)
    (seeds / "article.txt").write_text("\n".join([art["title"], "", *paragraphs(art["text"]),
                                                  "https://www.example.org/source.html"]), encoding="utf-8")
    assert run_build(seeds, tmp_path / "out", "--quiet").returncode == 0
    entries = {e["file"]: e for e in report(tmp_path / "out")["inputs"]}
    expected = {"crawl.log.txt": "timestamp", "dump.txt": "table", "script.txt": "source code",
                "settings.txt": "key=value", "links.txt": "URLs"}
    for name, word in expected.items():
        assert entries[name]["status"] == "rejected" and word in entries[name]["reason"], entries[name]
    assert entries["article.txt"]["status"] == "article"
    ((fm, _),) = content_pages(tmp_path / "out")
    assert fm["title"] == art["title"]


@pytest.mark.slow
def test_mixed_layouts_meet_the_accuracy_bars(tmp_path: Path) -> None:
    """make_seeds --layouts mixed (five page layouts, eight outlet/date line formats), scored."""
    seeds = tmp_path / "seeds"
    subprocess.run([sys.executable, str(need_shared(TOOLS / "make_seeds.py")), str(seeds), "--n", "400",
                    "--seed", "11", "--layouts", "mixed", "--quiet"], check=True, timeout=300)
    bars = ["--min", "coverage=1", "--min", "article_recall=1", "--min", "title_acc=0.98",
            "--min", "outlet_acc=0.98", "--min", "date_acc=0.98", "--min", "body_complete=0.99",
            "--max", "leak_rate=0.01", "--min", "dedup_precision=0.99", "--min", "dedup_recall=0.98",
            "--max", "trap_pairs_merged=0", "--max", "contract_violations=0"]
    result = score_build(seeds, tmp_path, bars)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]



def test_layout_decides_again_only_what_changed_and_equals_a_decision_from_scratch(tmp_path: Path) -> None:
    """The layout stage learns from the files that changed: an edit lays out one file again, a
    build with nothing changed none, and files go back to the other side of a learned fact
    (a credit-line shape the corpus vouches for) only when the fact changes; each time every
    file's title, outlet, date and body equal those of the stage run from scratch."""
    articles = real_articles(12)
    seeds, store = tmp_path / "seeds", tmp_path / "build.sqlite"

    def page(i: int, art: dict) -> str:
        y, m, d = art["date"].split("-")
        credit = f"Texte diffusé le {d}/{m}/{y} par l'équipe de {art['outlet_name']}"
        return "\n".join([art["title"], credit, "", *paragraphs(art["text"])]) + "\n"

    write_pages(seeds, articles, page)

    def laid_out(where: Path | None) -> tuple[list[tuple], int]:
        files = list_seed_files(seeds)
        read = read_clean_extract(seeds, 10**7, DEFAULTS["clean"]["min_words"], files)
        keys = [digest(rel, (seeds / rel).read_bytes()) for rel in files]
        results, stats = layout_files(files, keys, dict(enumerate(read)), DEFAULTS["clean"], [], where,
                                      lambda wanted: {})
        return [(d.file, d.title, d.outlet, d.date, d.lines) for r in results for d in r], stats["decided"]

    first, decided = laid_out(store)
    assert decided == 12 and first == laid_out(None)[0]
    assert sum(outlet == art["outlet_name"] for (_, _, outlet, _, _), art in zip(first, articles)) == 12
    assert laid_out(store) == (first, 0)

    edited = seeds / "005.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nUne phrase ajoutée à la fin de l'article.\n",
                      encoding="utf-8")
    after_edit, decided = laid_out(store)
    assert decided == 1 and after_edit == laid_out(None)[0] and after_edit != first

    # under repeated_line_min_docs files the credit shape is no fact any more: the files left
    # are laid out again, and their outlet is no longer the shape's varying name
    for name in sorted(p.name for p in seeds.iterdir())[3:]:
        (seeds / name).unlink()
    few, decided = laid_out(store)
    assert decided == 3 and few == laid_out(None)[0]
    assert [outlet for _, _, outlet, _, _ in few] != [art["outlet_name"] for art in articles[:3]]
