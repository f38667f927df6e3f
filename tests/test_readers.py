"""Readers: every input kind and encoding an editor's folder holds, and the junk beside them."""
from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

import pytest

from conftest import PROJECT, run_build
from generator.ingest.dispatch import read_file
from generator.ingest.readers import Rejected, decode
from generator.ingest.repair import repair_text

ARTICLE = ("Le gouvernement a présenté mercredi un plan de rénovation des écoles primaires. "
           "Les travaux commenceront à la rentrée et dureront trois ans, selon le ministère.")
OTHERS = ["La ville de Lyon ouvre trois nouvelles lignes de bus électriques dès le mois de mars, "
          "a annoncé la métropole, qui promet des passages toutes les dix minutes en semaine.",
          "Le club de football local a remporté samedi la finale régionale devant deux mille "
          "spectateurs, une première depuis vingt ans pour cette équipe de jeunes joueurs.",
          "Une étude publiée jeudi montre que les abeilles sauvages reculent dans les plaines "
          "agricoles, où les haies ont disparu, et progressent dans les jardins des villes.",
          "Le festival de musique baroque accueillera cet été des ensembles venus de douze pays, "
          "avec des concerts gratuits dans les églises et les cours des anciens hôtels particuliers."]


def raw_scrape(title: str, body: str, line_end: str = "\n") -> str:
    return line_end.join(["Merci d'avoir signalé!", "", title, "Publié dans Le Courrier le 15 - 10 - 2020",
                          "", body, "", "Cliquez ici pour lire l'article depuis sa source."])


def test_decode_handles_the_encodings_scrapes_come_in() -> None:
    text = "Élections : l'été s'annonce décisif"
    assert decode(text.encode("utf-8"))[0] == text
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("cp1252")) == (text, "cp1252")
    assert decode(text.encode("utf-16"))[0] == text
    # line ends and mojibake are repaired after decoding, for every reader (repair.py, test_encodings.py)
    assert repair_text(decode("a\r\nb\rc".encode())[0], Counter()) == "a\nb\nc"
    # UTF-8 that was once read as cp1252 and saved again ("Ã©" for "é")
    assert repair_text(decode(text.encode("utf-8").decode("cp1252").encode("utf-8"))[0], Counter()) == text


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"), (b"  \n\t\n", "empty"),
    (random.Random(3).randbytes(4000), "binary"),
])
def test_decode_rejects_what_is_not_text(data: bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        decode(data)


def test_records_map_common_field_names(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"Headline": "Un titre", "CONTENT": ARTICLE, "Publisher": "La Presse",
                    "published_at": "2021-03-04T10:00:00Z"}) + "\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"articles": [
        {"title": "Deux", "description": ARTICLE, "source": {"id": None, "name": "Le Devoir"},
         "publishedAt": "2018-02-01T08:00:00Z", "url": "https://www.ledevoir.com/x"}]}), encoding="utf-8")
    (tmp_path / "c.csv").write_text("Titre;Texte;Date;url\nTrois;" + ARTICLE + ";05 Avril 2018 23:33;"
                                    "https://www.mosaiquefm.net/fr/1/x\n", encoding="utf-8")
    (tmp_path / "d.md").write_text("---\ntitle: Quatre\noutlet: Le Soir\ndate: 2022-06-07\n---\n\n"
                                   + ARTICLE + "\n", encoding="utf-8")
    (a,), (b,), (c,), (d,) = (read_file(tmp_path, n, 10**7) for n in ("a.jsonl", "b.json", "c.csv", "d.md"))
    assert (a.title, a.outlet, a.date, a.lines) == ("Un titre", "La Presse", "2021-03-04", [ARTICLE])
    assert (b.title, b.outlet, b.date) == ("Deux", "Le Devoir", "2018-02-01")
    assert (c.title, c.outlet, c.date) == ("Trois", "mosaiquefm.net", "2018-04-05")
    assert (d.title, d.outlet, d.date, d.kind) == ("Quatre", "Le Soir", "2022-06-07", "markdown")


def test_content_wins_over_extension(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("<!DOCTYPE html><html><head><title>Un titre de page web</title></head>"
                                       f"<body><article><h1>Un titre de page web</h1><p>{ARTICLE}</p>"
                                       f"<p>{ARTICLE}</p></article></body></html>", encoding="utf-8")
    (doc,) = read_file(tmp_path, "page.txt", 10**7)
    assert doc.kind == "html" and doc.title == "Un titre de page web"


def test_bad_inputs_never_break_the_build(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "good.txt").write_text(raw_scrape("Un article correct", ARTICLE), encoding="utf-8")
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "random.txt").write_bytes(os.urandom(5000))
    (seeds / "cp1252.txt").write_bytes(raw_scrape("Été : la canicule s'installe", OTHERS[0]).encode("cp1252"))
    (seeds / "bom.txt").write_bytes(b"\xef\xbb\xbf" + raw_scrape("Un titre avec BOM", OTHERS[1]).encode())
    (seeds / "crlf.txt").write_bytes(raw_scrape("Un titre en CRLF", OTHERS[2], "\r\n").encode())
    big_body = "\n".join(f"Paragraphe {i} : " + OTHERS[3] for i in range(25000))
    (seeds / "big.txt").write_text(raw_scrape("Un très long article", big_body), encoding="utf-8")
    assert (seeds / "big.txt").stat().st_size > 4_000_000
    (seeds / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    (seeds / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + os.urandom(100))
    (seeds / "only-boilerplate.txt").write_text(
        "Merci d'avoir signalé!\nCette image sera automatiquement bloquée après qu'elle soit signalée "
        "par plusieurs personnes.\nCliquez ici pour lire l'article depuis sa source.\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_build(seeds, out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    entries = {e["file"]: e for e in report["inputs"]}
    assert sorted(entries) == sorted(p.name for p in seeds.iterdir())
    assert len(report["inputs"]) == len(entries)
    for name in ("empty.txt", "random.txt", "only-boilerplate.txt"):
        assert entries[name]["status"] == "rejected" and entries[name]["reason"], name
    for name in ("image.png", ".DS_Store"):
        assert entries[name]["status"] == "skipped" and entries[name]["reason"], name
    for name in ("good.txt", "cp1252.txt", "bom.txt", "crlf.txt", "big.txt"):
        assert entries[name]["status"] == "article", (name, entries[name])
    titles = {p.read_text(encoding="utf-8").split("\n")[1] for p in (out / "content").glob("*.md")}
    assert "title: 'Été : la canicule s''installe'" in titles
    assert "title: Un titre avec BOM" in titles and "title: Un titre en CRLF" in titles


def test_symlink_out_of_the_seeds_folder_is_not_followed(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text(raw_scrape("Secret", ARTICLE), encoding="utf-8")
    (seeds / "link.txt").symlink_to(secret)
    outcome = read_file(seeds, "link.txt", 10**7)
    assert outcome.status == "skipped" and "outside" in outcome.reason


def test_shipped_seeds_read_as_aggregator_and_plain() -> None:
    (raw,) = read_file(PROJECT / "seeds", "000_ab709a61b5646eb0.txt", 10**7)
    (clean,) = read_file(PROJECT / "seeds", "001_416bb22001713cf5.txt", 10**7)
    assert (raw.kind, clean.kind) == ("aggregator", "plain")
