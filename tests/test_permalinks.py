"""Permalinks that never move: an article's URL survives edits, merged copies and namesakes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import content_pages, run_build
from test_site import broken_links
from generator.corpus.permalinks import assign_slugs, slug_history
from generator.core.model import Article, Document

TITLE = "Le port de Marseille rouvre son terminal nord"
BODIES = {  # one distinct story per marker, all under the same headline
    "ferries": "Le terminal nord du port a rouvert ses portes aux ferries venus de Corse ce matin. "
               "Les dockers ont repris le travail après trois semaines de grève et de négociations. "
               "La direction promet des horaires élargis pour les passagers pendant tout l'été.",
    "conteneurs": "Les grues du bassin ouest déchargent de nouveau des conteneurs venus d'Asie. "
                  "Un incendie avait endommagé les câbles électriques des portiques en janvier dernier. "
                  "Les transitaires saluent une reprise plus rapide que prévu par les experts.",
    "croisieres": "Les paquebots de croisière accostent à nouveau au quai du Cap Janet cette saison. "
                  "Les riverains dénoncent la pollution des moteurs restés allumés à quai tout le jour. "
                  "La métropole annonce un branchement électrique des navires pour l'année prochaine.",
    "peche": "Les pêcheurs artisanaux retrouvent leurs anneaux d'amarrage au fond du vieux bassin. "
             "Des travaux de dragage avaient fermé cette partie du port pendant plus d'un an. "
             "Les criées espèrent un retour des poissonniers marseillais dès le mois prochain.",
}


def scrape(outlet: str, day: str, body: str) -> str:
    """An aggregator scrape: title, dateline, body."""
    return f"{TITLE}\nPublié dans {outlet} le {day}\n\n{body}\n"


def urls(out: Path) -> dict[str, str]:
    """Slug -> the marker of the story its page shows."""
    found = {}
    for fm, body in content_pages(out):
        page = (out / "site" / "articles" / fm["slug"] / "index.html").read_text(encoding="utf-8")
        page = page.split('<div class="body"', 1)[1].split("</div>", 1)[0]  # the article's own text
        found[fm["slug"]] = next(m for m, text in BODIES.items() if text.split(".")[0] in page)
        assert found[fm["slug"]] and BODIES[found[fm["slug"]]].split(".")[0] in body
    return found


def build(seeds: Path, out: Path) -> dict[str, str]:
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    return urls(out)


def test_earlier_urls_keep_serving_the_same_article(tmp_path: Path) -> None:
    seeds, out = tmp_path / "seeds", tmp_path / "out"
    seeds.mkdir()
    (seeds / "m_ferries.txt").write_text(scrape("La Provence", "04 - 03 - 2021", BODIES["ferries"]), "utf-8")
    seen = build(seeds, out)
    assert seen == {"le-port-de-marseille-rouvre-son-terminal-nord": "ferries"}

    def still_served(now: dict[str, str]) -> None:
        for slug, marker in seen.items():
            assert now.get(slug) == marker, (slug, marker, now)
        seen.update(now)

    # an older article under the same title: it must not take the plain slug
    (seeds / "z_conteneurs.txt").write_text(scrape("Marsactu", "12 - 06 - 2019", BODIES["conteneurs"]), "utf-8")
    still_served(build(seeds, out))
    assert len(seen) == 2

    # both bodies edited, a newer and an even older namesake added
    for name in ("m_ferries.txt", "z_conteneurs.txt"):
        with open(seeds / name, "a", encoding="utf-8") as handle:
            handle.write("\nCette phrase a été ajoutée par la rédaction après coup pour préciser les faits.\n")
    (seeds / "a_croisieres.txt").write_text(scrape("Le Marin", "02 - 09 - 2022", BODIES["croisieres"]), "utf-8")
    (seeds / "b_peche.txt").write_text(scrape("Le Marin", "15 - 01 - 2018", BODIES["peche"]), "utf-8")
    still_served(build(seeds, out))
    assert len(seen) == 4

    # a fuller copy of the first story from another outlet merges into it (and becomes canonical)
    (seeds / "0_copie.txt").write_text(scrape(
        "Mediapart", "05 - 03 - 2021",
        BODIES["ferries"] + " Le maire était présent pour l'inauguration, entouré des élus du conseil portuaire."),
        "utf-8")
    now = build(seeds, out)
    still_served(now)
    assert len(now) == 4
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    assert next(e for e in report["inputs"] if e["file"] == "0_copie.txt")["article"] \
        == "le-port-de-marseille-rouvre-son-terminal-nord"

    # the published URLs survive the loss of the build manifest (they are read back from content/)
    (out / ".manifest.json").unlink()
    (seeds / "m_ferries.txt").write_text(scrape("La Provence", "04 - 03 - 2021", BODIES["ferries"]), "utf-8")
    still_served(build(seeds, out))

    # a fresh build of the same seeds is deterministic
    fresh = [build(seeds, tmp_path / f"fresh{i}") for i in (1, 2)]
    assert fresh[0] == fresh[1]
    shutil.rmtree(tmp_path / "fresh2")

    # a fuller dossier carrying two published stories merges them into one page: the URL of
    # the page that did not keep its slug leads to the merged one
    ferries = next(s for s, m in seen.items() if m == "ferries")
    peche = next(s for s, m in seen.items() if m == "peche")
    (seeds / "0_dossier.txt").write_text(scrape("Le Marin", "20 - 09 - 2022", BODIES["ferries"] + "\n\n"
                                                + BODIES["peche"]), "utf-8")
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    pages = {fm["slug"]: fm for fm, _ in content_pages(out)}
    assert ferries in pages and peche not in pages and pages[ferries]["aliases"] == [peche]
    merged = (out / "site" / "articles" / ferries / "index.html").read_text(encoding="utf-8")
    assert BODIES["peche"].split(".")[0] in merged.replace("&#39;", "'")
    moved = (out / "site" / "articles" / peche / "index.html").read_text(encoding="utf-8")
    assert f'<meta http-equiv="refresh" content="0; url=../../articles/{ferries}/index.html">' in moved
    assert f'<a href="../../articles/{ferries}/index.html">' in moved
    assert peche not in (out / "site" / "sitemap.xml").read_text(encoding="utf-8")
    for slug in seen.keys() - {peche}:  # the others are untouched
        assert (out / "site" / "articles" / slug / "index.html").is_file()
    assert broken_links(out / "site") == []
    # read back from content/ alone, the merged page keeps its slug and its alias
    (out / ".manifest.json").unlink()
    assert run_build(seeds, out, "--quiet").returncode == 0
    pages = {fm["slug"]: fm for fm, _ in content_pages(out)}
    assert ferries in pages and pages[ferries]["aliases"] == [peche]
    assert (out / "site" / "articles" / peche / "index.html").is_file()


def doc(key: str, day: str) -> Document:
    return Document(file=key, kind="plain", date=day, lines=[f"Texte de {key}."])


def article(title: str, *members: Document) -> Article:
    return Article(slug="", title=title, title_derived=False, outlet=None, date=members[0].date, lang="fr",
                   lines=list(members[0].lines), members=list(members))


def test_a_collision_suffix_comes_from_the_file_name_never_the_text() -> None:
    a, b = article("Même titre", doc("a.txt", "2021-01-01")), article("Même titre", doc("b.txt", "2021-01-02"))
    assign_slugs([b, a])
    assert a.slug == "meme-titre" and b.slug.startswith("meme-titre-")
    before = b.slug
    b.lines = b.members[0].lines = ["Un tout autre texte, réécrit de fond en comble."]
    assign_slugs([a, b])  # a fresh build: the same slugs, whatever the order and the text
    assert (a.slug, b.slug) == ("meme-titre", before)


def test_a_published_slug_is_never_given_to_another_article() -> None:
    a = article("Même titre", doc("a.txt", "2021-01-01"))
    assign_slugs([a])
    history = slug_history([a])
    older = article("Même titre", doc("old.txt", "2000-01-01"))
    assign_slugs([older, a], history)
    assert a.slug == "meme-titre" and older.slug != "meme-titre"
    # the page went away: its slug stays reserved for its input
    history = slug_history([older], slug_history([a, older], history))
    newcomer = article("Même titre", doc("new.txt", "1990-01-01"))
    assign_slugs([older, newcomer], history)
    assert newcomer.slug not in ("meme-titre", older.slug)
    back = article("Même titre", doc("a.txt", "2021-01-01"))
    assign_slugs([older, newcomer, back], history)
    assert back.slug == "meme-titre"
