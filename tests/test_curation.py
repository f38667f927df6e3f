"""Curation (site.yaml rules and editor overrides), editions and ranking, on real builds.

A make_seeds corpus plus the shipped seeds is built twice: once as it is (the baseline) and
once with include/exclude rules and overrides chosen from the baseline's own pages, so each
rule and each override can be checked to do exactly what it says, and nothing else.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
import yaml

from conftest import PROJECT, TOOLS, content_pages, listing_in_order, need_shared, run_build
from generator.core.settings import ConfigError, load_config
from generator.site.editions import collect_editions, pinned_first, period_of, rank_views

SEED_SLUG = "frontex-et-l-oim-organisent-un-webinaire-sur-la-lutte-contre-la-traite-et-le"
NOTE = 'Vérifié par la rédaction : <b>gras</b> & "guillemets"'
NEW_TITLE = "Titre revu par la rédaction <i>sans balise</i>"
SUMMARY = "Résumé écrit par la rédaction pour la page d'accueil."
NEW_OUTLET = "Agence de test"
ADDED_PERSON = "Marie Testelle"


def plain(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)


def report_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "build-report.json").read_text(encoding="utf-8"))


def html_of(path: Path) -> Any:
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


def listed_slugs(doc: Any, scope: str = "//main") -> list[str]:
    """Article slugs of the cards and of the story members folded under them (stories)."""
    hrefs = doc.xpath(f"{scope}//article[contains(@class,'card')]/h2/a/@href | {scope}//details[@class='story-fold']//li/a/@href")
    return [re.search(r"articles/([^/]+)/index\.html", h).group(1) for h in hrefs]


def card_slugs(doc: Any, scope: str = "//main") -> list[str]:
    """Article slugs of the cards under `scope`, in page order."""
    hrefs = doc.xpath(f"{scope}//article[contains(@class,'card')]/h2/a/@href")
    return [re.search(r"articles/([^/]+)/index\.html", h).group(1) for h in hrefs]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A make_seeds corpus of 120 articles plus the shipped seeds, built with the defaults."""
    tool = need_shared(TOOLS / "make_seeds.py")
    base = tmp_path_factory.mktemp("curation")
    seeds = base / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "120", "--dup-rate", "0.3",
                    "--seed", "11", "--quiet"], check=True, timeout=300)
    for seed in (PROJECT / "seeds").iterdir():
        shutil.copy(seed, seeds)
    config = base / "base.yaml"
    config.write_text('title: "Revue test"\nbase_url: "https://example.org/revue/"\n', encoding="utf-8")
    result = run_build(seeds, base / "base", "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    gold = json.loads((base / "seeds-gold.json").read_text(encoding="utf-8"))
    return {"base": base, "seeds": seeds, "out": base / "base", "gold": gold,
            "pages": {fm["slug"]: (fm, body) for fm, body in content_pages(base / "base")}}


def choose_curation(pages: dict[str, tuple[dict, str]]) -> dict[str, Any]:
    """Rules and overrides picked from the baseline pages so that each of them bites."""
    fms = sorted((fm for fm, _ in pages.values()), key=lambda fm: fm["slug"])
    words: dict[str, set[str]] = defaultdict(set)
    for slug, (fm, body) in pages.items():
        for w in set(re.findall(r"[A-Za-z]+", f"{fm['title']}\n\n{plain(body)}")):
            words[w.lower()].add(slug)
    keyword = min(w for w, s in words.items() if len(w) >= 9 and len(s) == 2)
    outlets = Counter(fm["outlet"] for fm in fms if fm["outlet"])
    outlet = min(o for o, n in outlets.items() if n == 2)
    people = Counter(p for fm in fms for p in set(fm["entities"]["people"]))
    entity = min(p for p, n in people.items() if n == 2 and p != "Fabrice Leggeri")
    title_start = " ".join(next(fm for fm in fms if fm["lang"] == "en" and len(fm["title"].split()) > 3)
                           ["title"].split()[:2])
    weeks = Counter(period_of(fm["date"], "weekly")[0] for fm in fms if fm["date"] and fm["lang"] == "fr")
    week = min(w for w, n in weeks.items() if n >= 2)
    monday = next(period_of(fm["date"], "weekly")[1] for fm in fms if fm["date"]
                  and period_of(fm["date"], "weekly")[0] == week)
    dates = sorted(fm["date"] for fm in fms if fm["date"])
    return {
        "include": [{"date_from": dates[3]}, {"entity": "Frontex"}],
        "exclude": [
            {"outlet": outlet},
            {"keyword": keyword},
            {"entity": entity.upper()},  # names match whatever their case
            {"regex": "^" + re.escape(title_start), "in": "title"},
            {"lang": "fr", "date_from": monday.isoformat(), "date_to": (monday + dt.timedelta(days=6)).isoformat()},
        ],
    }


def expected_skips(pages: dict[str, tuple[dict, str]], curation: dict[str, Any]) -> dict[str, str]:
    """slug -> reason, by an independent reading of the rules (first matching rule wins)."""
    def matches(rule: dict[str, Any], fm: dict, body: str) -> bool:
        text = {"title": fm["title"], "any": f"{fm['title']}\n\n{plain(body)}"}[rule.get("in", "any")]
        named = {n.casefold() for t in ("people", "organizations", "places") for n in fm["entities"][t]}
        checks = {
            "outlet": lambda v: (fm["outlet"] or "").casefold() == v.casefold(),
            "lang": lambda v: fm["lang"] == v,
            "date_from": lambda v: bool(fm["date"]) and fm["date"] >= v,
            "date_to": lambda v: bool(fm["date"]) and fm["date"] <= v,
            "keyword": lambda v: re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text, re.I) is not None,
            "regex": lambda v: re.search(v, text) is not None,
            "entity": lambda v: v.casefold() in named,
            "in": lambda v: True,
        }
        return all(checks[k](v) for k, v in rule.items())

    def describe(name: str, rule: dict[str, Any]) -> str:
        return f"{name} (" + "; ".join(f"{k}: {v}" for k, v in rule.items()) + ")"

    skips = {}
    for slug, (fm, body) in pages.items():
        if not any(matches(r, fm, body) for r in curation["include"]):
            skips[slug] = "not selected by any curation.include rule"
            continue
        for i, rule in enumerate(curation["exclude"]):
            if matches(rule, fm, body):
                skips[slug] = "excluded by " + describe(f"curation.exclude[{i}]", rule)
                break
    return skips


@pytest.fixture(scope="module")
def curated(baseline: dict[str, Any]) -> dict[str, Any]:
    """The same seeds built again with the rules and overrides (the NER cache is reused)."""
    pages = baseline["pages"]
    curation = choose_curation(pages)
    skips = expected_skips(pages, curation)
    kept = sorted((fm for slug, (fm, _) in pages.items() if slug not in skips),
                  key=lambda fm: (fm["date"] or "", fm["slug"]), reverse=True)
    assert len(kept) > 60 and SEED_SLUG in {fm["slug"] for fm in kept}
    newest, oldest = kept[0], kept[-1]
    middle = kept[len(kept) // 2:]
    with_people = [fm for fm in middle if fm["entities"]["people"]]
    marks = {
        "note": newest["slug"], "pin_old": oldest["slug"], "pin_seed": SEED_SLUG,
        "hide": middle[1]["slug"], "title": middle[2]["slug"], "summary": middle[3]["slug"],
        "entities": with_people[5]["slug"], "outlet": middle[4]["slug"], "date": middle[5]["slug"],
        "story": middle[6]["slug"], "story_of": middle[8]["slug"],
    }
    removed = pages[marks["entities"]][0]["entities"]["people"][0]
    curation["overrides"] = {
        marks["note"]: {"note": NOTE},
        marks["pin_old"]: {"pin": 1},  # a position: first of the pinned, though the oldest
        marks["pin_seed"]: {"pin": True},
        marks["hide"]: {"hide": True},
        marks["title"]: {"title": NEW_TITLE},
        marks["summary"]: {"summary": SUMMARY},
        marks["outlet"]: {"outlet": NEW_OUTLET},
        marks["date"]: {"date": dt.date(2019, 1, 15)},  # as YAML reads a bare 2019-01-15
        marks["story"]: {"story": marks["story_of"]},
        marks["entities"]: {"add_entities": {"people": [ADDED_PERSON]}, "remove_entities": [removed]},
        "pas-d-article-ici": {"pin": True},
    }
    base = baseline["base"]
    config = base / "curated.yaml"
    config.write_text(yaml.safe_dump({"title": "Revue test", "base_url": "https://example.org/revue/",
                                      "curation": curation}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = base / "curated"
    shutil.copytree(baseline["out"] / ".cache", out / ".cache")
    result = run_build(baseline["seeds"], out, "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    skips[marks["hide"]] = f"hidden by curation.overrides.{marks['hide']}.hide"
    return {"out": out, "site": out / "site", "curation": curation, "skips": skips, "marks": marks,
            "removed": removed, "pages": {fm["slug"]: (fm, body) for fm, body in content_pages(out)}}


def test_every_rule_skips_exactly_the_articles_it_names(baseline: dict, curated: dict) -> None:
    skips = curated["skips"]
    reasons = Counter(r.split(" (")[0] for r in skips.values())
    for name in ["not selected by any curation.include rule"] + [f"excluded by curation.exclude[{i}]" for i in range(5)]:
        assert reasons[name] >= 1, (name, reasons)  # every rule bites
    assert set(curated["pages"]) == set(baseline["pages"]) - set(skips)
    for slug in skips:
        assert not (curated["site"] / "articles" / slug).exists()


def test_report_lists_every_member_of_a_left_out_article_as_skipped_with_its_rule(baseline: dict, curated: dict) -> None:
    before = {e["file"]: e for e in report_of(baseline["out"])["inputs"]}
    report = report_of(curated["out"])
    after = {e["file"]: e for e in report["inputs"]}
    assert len(after) == len(report["inputs"]) == len(before)  # every seed file exactly once
    files_of = {slug: [s["file"] for s in fm["sources"]] for slug, (fm, _) in baseline["pages"].items()}
    skipped_files = set()
    for slug, reason in curated["skips"].items():
        for file in files_of[slug]:
            assert after[file]["status"] == "skipped" and after[file]["reason"] == reason, (file, after[file])
            assert after[file]["article"] is None
            skipped_files.add(file)
    for file, entry in before.items():
        if file not in skipped_files:
            assert after[file] == entry  # nothing else changed fate
    stats = report["stats"]
    assert stats["articles"] == len(curated["pages"])
    assert stats["skipped"] == before_count(before, "skipped") + len(skipped_files)
    cur = stats["curation"]
    assert cur["hidden"] == 1 and cur["pinned"] == 2 and cur["overridden"] == 9
    assert cur["not_included"] + cur["excluded"] + cur["hidden"] == len(curated["skips"])
    assert cur["unknown_override_slugs"] == ["pas-d-article-ici"]


def before_count(entries: dict[str, dict], status: str) -> int:
    return sum(e["status"] == status for e in entries.values())


def test_overrides_change_only_their_own_frontmatter(baseline: dict, curated: dict) -> None:
    marks, pages, old = curated["marks"], curated["pages"], baseline["pages"]
    touched = {marks[k] for k in ("note", "pin_old", "pin_seed", "title", "summary", "entities", "outlet", "date",
                                  "story", "story_of")}
    # an article shares a story with a corrected or hidden one: its story may change with them
    regrouped = {old[s][0]["story"] for s in touched | {marks["hide"]}} | {pages[s][0]["story"] for s in touched}
    for slug, (fm, body) in pages.items():
        if slug not in touched:
            if old[slug][0]["story"] in regrouped or fm["story"] in regrouped:
                fm = {**fm, "story": old[slug][0]["story"]}
            assert (fm, body) == old[slug], slug
    assert pages[marks["note"]][0]["note"] == NOTE
    assert pages[marks["pin_old"]][0]["pinned"] is True and pages[marks["pin_seed"]][0]["pinned"] is True
    assert pages[marks["pin_old"]][0]["pin_order"] == 1 and "pin_order" not in pages[marks["pin_seed"]][0]
    fm = pages[marks["title"]][0]
    assert fm["title"] == NEW_TITLE and fm["original_title"] == old[marks["title"]][0]["title"]
    assert fm["slug"] == marks["title"]  # the page keeps its address
    fm = pages[marks["outlet"]][0]
    assert fm["outlet"] == NEW_OUTLET and fm["original_outlet"] == old[marks["outlet"]][0]["outlet"]
    fm = pages[marks["date"]][0]
    assert fm["date"] == "2019-01-15" and fm["original_date"] == old[marks["date"]][0]["date"] != "2019-01-15"
    moved, into = pages[marks["story"]][0], pages[marks["story_of"]][0]
    assert old[marks["story"]][0]["story"] != old[marks["story_of"]][0]["story"] and moved["story"] == into["story"]
    assert pages[marks["summary"]][0]["summary"] == SUMMARY
    fm, before = pages[marks["entities"]][0], old[marks["entities"]][0]
    assert fm["entities"]["people"] == [ADDED_PERSON] + [p for p in before["entities"]["people"] if p != curated["removed"]]
    assert fm["entities_edited"] == {"added": [ADDED_PERSON], "removed": [curated["removed"]]}
    for slug in touched:  # the contract keys are all still there
        assert {"title", "slug", "date", "outlet", "lang", "entities", "sources", "also_published_by"} <= set(pages[slug][0])


def test_overrides_show_on_the_site(curated: dict) -> None:
    site, marks, pages = curated["site"], curated["marks"], curated["pages"]
    home = html_of(site / "index.html")
    pinned = [pages[marks["pin_old"]][0], pages[marks["pin_seed"]][0]]  # the position first
    assert card_slugs(home)[:2] == [fm["slug"] for fm in pinned]
    assert len(home.xpath("//article[contains(@class,'card')]//p[@class='badge']")) == 2
    assert "À la une" in home.xpath("//p[@class='badge']")[0].text_content()
    # the pinned articles lead their edition too
    for fm in pinned:
        key = period_of(fm["date"], "weekly")[0]
        edition = html_of(site / "editions" / key / "index.html")
        assert fm["slug"] in card_slugs(edition, "//section[@class='featured']")
        assert card_slugs(edition)[0] == card_slugs(edition, "//section[@class='featured']")[0]
    page = html_of(site / "articles" / marks["title"] / "index.html")
    assert page.xpath("//h1")[0].text_content() == NEW_TITLE  # shown as text, not markup
    page = html_of(site / "articles" / marks["summary"] / "index.html")
    assert page.xpath("//p[@class='summary']")[0].text_content() == SUMMARY
    # a corrected outlet lists the article under its page; a corrected date puts it in that week
    assert marks["outlet"] in card_slugs(html_of(site / "outlets" / "agence-de-test" / "index.html"))
    assert marks["date"] in card_slugs(html_of(site / "editions" / "2019-w03" / "index.html"))
    page = html_of(site / "articles" / marks["note"] / "index.html")
    assert NOTE in page.xpath("//aside[@class='editor-note']")[0].text_content()
    assert not page.xpath("//aside[@class='editor-note']//b")
    page = html_of(site / "articles" / marks["entities"] / "index.html")
    chips = [a.text_content() for a in page.xpath("//section[@class='entities']//a")]
    assert ADDED_PERSON in chips and curated["removed"] not in chips
    assert (site / "people" / "marie-testelle" / "index.html").exists()
    # the summary replaces the lead on listing cards
    leads = []
    for path in sorted(site.glob("**/index.html")):
        if "/articles/" not in str(path) and f"/{marks['summary']}/" in path.read_text(encoding="utf-8"):
            cards = html_of(path).xpath(f"//article[contains(@class,'card')][h2/a[contains(@href,'/{marks['summary']}/')]]")
            leads += [c.xpath("./p[@class='lead']")[0].text_content() for c in cards]
    assert len(leads) >= 3 and set(leads) == {SUMMARY}


def test_editor_note_is_in_the_feed_as_text(curated: dict) -> None:
    feed = feedparser.parse((curated["site"] / "feed.xml").read_text(encoding="utf-8"))
    entry = next(e for e in feed.entries if e.link.endswith(f"/articles/{curated['marks']['note']}/"))
    assert NOTE in entry.summary
    content = entry.content[0].value
    assert "&lt;b&gt;gras&lt;/b&gt;" in content and "<b>gras" not in content


def gold_week_of_pages(baseline: dict) -> tuple[dict[str, str], dict[str, str]]:
    """slug -> ISO week of its earliest gold date; every gold cluster on one page."""
    report = {e["file"]: e for e in report_of(baseline["out"])["inputs"]}
    by_cluster: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for file, g in baseline["gold"]["files"].items():
        by_cluster[g["cluster"]].append((file, g["date"]))
    weeks: dict[str, str] = {}
    for members in by_cluster.values():
        slugs = {report[f]["article"] for f, _ in members}
        assert len(slugs) == 1 and None not in slugs, members
        dates = sorted(d for _, d in members if d)
        weeks[slugs.pop()] = period_of(dates[0], "weekly")[0] if dates else None
    return weeks, report


def test_weekly_editions_match_the_gold_dates(baseline: dict) -> None:
    site = baseline["out"] / "site"
    gold_weeks, _ = gold_week_of_pages(baseline)
    seen: Counter[str] = Counter()
    edition_of: dict[str, str] = {}
    folders = sorted(p.parent for p in (site / "editions").glob("*/index.html"))
    for folder in folders:
        for slug in listed_slugs(html_of(folder / "index.html")):  # a story's other articles are folded
            seen[slug] += 1
            edition_of[slug] = folder.name
    assert set(seen) == {s for s, (fm, _) in baseline["pages"].items() if fm["date"]}
    assert max(seen.values()) == 1  # every article in exactly one edition
    wrong = {s: (edition_of[s], w) for s, w in gold_weeks.items() if edition_of.get(s) != w}
    assert wrong == {}
    assert len(gold_weeks) == baseline["gold"]["n_articles"] == 120
    index = html_of(site / "editions" / "index.html")
    links = index.xpath("//main//ul[@class='editions']//a/@href")
    assert sorted(re.search(r"editions/([^/]+)/index.html", h).group(1) for h in links) == [f.name for f in folders]
    feed = feedparser.parse((site / "editions" / "feed.xml").read_text(encoding="utf-8"))
    newest = sorted((f.name for f in folders), reverse=True)[:20]
    assert [e.link.rstrip("/").rsplit("/", 1)[1] for e in feed.entries] == newest
    assert not feed.bozo


def test_edition_email_is_self_contained_with_absolute_links(baseline: dict) -> None:
    site = baseline["out"] / "site"
    for folder in sorted(p.parent for p in (site / "editions").glob("*/index.html"))[:10]:
        text = (folder / "email.html").read_text(encoding="utf-8")
        doc = lxml.html.fromstring(text)
        assert not doc.xpath("//script|//link|//style|//img")
        assert all(h.startswith("https://example.org/revue/") for h in doc.xpath("//a/@href"))
        emailed = {h.split("/articles/")[1].strip("/") for h in doc.xpath("//a/@href") if "/articles/" in h}
        page = html_of(folder / "index.html")  # its cards, and the story members it folds under them
        folded = [re.search(r"articles/([^/]+)/", h).group(1) for h in page.xpath("//details[@class='story-fold']//a/@href")]
        assert emailed == set(card_slugs(page)) | set(folded)
    assert "email.html" not in (site / "sitemap.xml").read_text(encoding="utf-8")


def test_edition_groups_by_leading_entity_and_lists_top_entities(baseline: dict) -> None:
    site = baseline["out"] / "site"
    pages = baseline["pages"]
    busiest = max((p.parent for p in (site / "editions").glob("*/index.html")),
                  key=lambda f: (len(card_slugs(html_of(f / "index.html"))), f.name))
    doc = html_of(busiest / "index.html")
    slugs = card_slugs(doc)
    assert len(slugs) >= 4
    counts = Counter(p for s in slugs for p in set(pages[s][0]["entities"]["people"]))
    top_people = [re.sub(r" \(\d+\)$", "", a.text_content())
                  for a in doc.xpath("//section[@class='edition-top']//a[contains(@class,'chip-people')]")]
    if counts:
        assert counts[top_people[0]] == max(counts.values())
    for group in doc.xpath("//section[@class='edition-group']"):
        heading = group.xpath("./h2")[0].text_content()
        members = card_slugs(group, ".")
        if heading not in ("Autres articles",):
            assert len(members) >= 2
            assert all(heading in [n for t in ("people", "organizations", "places")
                                   for n in pages[s][0]["entities"][t]] for s in members), heading


def test_home_ranks_broader_coverage_first_within_a_day(baseline: dict) -> None:
    site = baseline["out"] / "site"
    order = [slug for path in listing_in_order(site) for slug in card_slugs(html_of(path))]
    # the home page lists stories: a story ranks by its newest article and all its outlets
    members: dict[str, list[dict]] = defaultdict(list)
    for fm, _ in baseline["pages"].values():
        members[fm.get("story") or fm["slug"]].append(fm)
    stories = [members[baseline["pages"][s][0].get("story") or s] for s in order]
    keys = [(max((fm["date"] or "" for fm in group), default=""),
             len({o for fm in group for o in [fm["outlet"], *fm["also_published_by"]] if o})) for group in stories]
    assert keys == sorted(keys, reverse=True)
    assert any(k[1] > 1 for k in keys)
    assert sorted(s for group in stories for s in (fm["slug"] for fm in group)) == sorted(baseline["pages"])


def test_rank_views_and_periods() -> None:
    views = [{"slug": s, "date": d, "outlet_count": n, "pinned": p, "terms": {t: [] for t in ("people", "organizations", "places")}}
             for s, d, n, p in [("a", "2024-01-01", 1, False), ("b", "2024-01-01", 3, False),
                                ("c", "2024-01-02", 1, False), ("d", None, 5, False), ("e", "2023-12-31", 1, True)]]
    rank_views(views, {"coverage": True})
    assert [v["slug"] for v in views] == ["c", "b", "a", "e", "d"]
    rank_views(views, {"coverage": False})
    assert [v["slug"] for v in views] == ["c", "a", "b", "e", "d"]
    assert [v["slug"] for v in pinned_first(views)] == ["e", "c", "a", "b", "d"]
    # the editor's order among the pinned: positions first, then `pin: true` in rank order
    ordered = [{**v, "pinned": True, "pin_order": {"b": 1, "d": 2}.get(v["slug"])} for v in views]
    assert [v["slug"] for v in pinned_first(ordered)] == ["b", "d", "c", "a", "e"]
    # ISO weeks: Sunday 2023-12-31 closes week 52 of 2023; Monday 2024-01-01 opens week 1
    assert period_of("2023-12-31", "weekly")[0] == "2023-w52" and period_of("2024-01-01", "weekly")[0] == "2024-w01"
    assert period_of("2020-12-31", "weekly")[0] == "2020-w53" and period_of("2021-01-03", "weekly")[0] == "2020-w53"
    assert period_of("2024-02-10", "monthly") == ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert period_of("2024-02-10", "daily")[0] == "2024-02-10"
    editions = collect_editions(views, "weekly")
    assert [e.key for e in editions] == ["2024-w01", "2023-w52"]
    assert [v["slug"] for v in editions[0].articles] == ["c", "a", "b"]
    assert collect_editions(views, "off") == []
    # a sent edition keeps the articles it was sent with; a later one of its week waits for the
    # next edition, skipping the weeks sent too; an article sent keeps its edition whatever its date
    sent = {"2024-w01": ["a", "b"], "2024-w02": ["x"], "2023-w52": ["e"]}
    editions = collect_editions(views + [{**views[0], "slug": "f", "date": "2024-06-01"}], "weekly", sent)
    assert [(e.key, [v["slug"] for v in e.articles]) for e in editions] == \
        [("2024-w22", ["f"]), ("2024-w03", ["c"]), ("2024-w01", ["a", "b"]), ("2023-w52", ["e"])]
    assert editions[1].first == dt.date(2024, 1, 15) and editions[2].last == dt.date(2024, 1, 7)


@pytest.mark.parametrize("text, message", [
    ("editions: yearly\n", r"site.yaml:1: 'editions' must be one of daily, weekly, monthly, off, not 'yearly'"),
    ("curation:\n  exclude:\n    - outlt: X\n", r"site.yaml:3: unknown key 'curation.exclude\[0\].outlt'; did you mean 'outlet'\?"),
    ("curation:\n  include:\n    - regex: 'a(('\n", r"site.yaml:3: 'curation.include\[0\].regex' is not a valid regular expression"),
    ("curation:\n  exclude:\n    - date_from: 2020-13-01\n", r"site.yaml:3: 'curation.exclude\[0\].date_from' must be a date"),
    ("curation:\n  exclude:\n    - in: header\n", r"site.yaml:3: 'curation.exclude\[0\].in' must be title, body or any"),
    ("curation:\n  exclude: {outlet: X}\n", r"site.yaml:2: 'curation.exclude' must be a list"),
    ("curation:\n  exclude:\n    - {}\n", r"site.yaml:3: 'curation.exclude\[0\]' must be a mapping of conditions"),
    ("curation:\n  overrides:\n    un-article:\n      pinned: true\n",
     r"site.yaml:4: unknown key 'curation.overrides.un-article.pinned'; did you mean 'pin'\?"),
    ("curation:\n  overrides:\n    un-article:\n      note: 3\n", r"site.yaml:4: 'curation.overrides.un-article.note' must be a non-empty string"),
    ("curation:\n  overrides:\n    x:\n      add_entities: {persons: [A]}\n",
     r"site.yaml:4: unknown key 'curation.overrides.x.add_entities.persons'"),
    ("curation:\n  exclde: []\n", r"site.yaml:2: unknown key 'curation.exclde'; did you mean 'exclude'\?"),
    ("ranking:\n  coverage: 2\n", r"site.yaml:2: 'ranking.coverage' must be a boolean"),
])
def test_bad_curation_settings_are_one_line_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_good_curation_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("editions: off\ncuration:\n  include:\n    - {lang: [fr, en], date_from: 2020-01-01}\n"
                    "  overrides:\n    un-article: {hide: yes}\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg["editions"] == "off" and cfg["ranking"]["coverage"] is True
    assert cfg["curation"]["overrides"]["un-article"]["hide"] is True
    assert load_config(PROJECT / "site.yaml")["editions"] == "weekly"


def test_bad_curation_setting_stops_the_cli_with_exit_2(tmp_path: Path, seeds_copy: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("title: x\ncuration:\n  exclude:\n    - regex: '(unclosed'\n", encoding="utf-8")
    result = run_build(seeds_copy, tmp_path / "out", config=path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "site.yaml:4:" in result.stderr
    assert not (tmp_path / "out" / "site").exists()


def test_editions_off_and_english_interface(tmp_path: Path, seeds_copy: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("title: Digest\nlanguage: en\neditions: off\n", encoding="utf-8")
    assert run_build(seeds_copy, tmp_path / "out", "--quiet", config=path).returncode == 0
    site = tmp_path / "out" / "site"
    assert not (site / "editions").exists()
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "editions/index.html" not in home and ">Statistics</a>" in home
    stats = (site / "stats" / "index.html").read_text(encoding="utf-8")
    assert "Most mentioned people" in stats and "Share of each outlet" in stats
