"""The editor's desk (build-site serve --edit): the corrections file it writes and every build
reads, the actions it accepts and those it refuses, and the whole loop in a real browser."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import lxml.html
import pytest
import yaml

from browser import axe_violations, browser, collect_page_problems, format_violations, screenshot, vnu_errors
from conftest import PROJECT, content_pages, run_build, tree_differences
from generator import serve as preview
from generator.core import curation_file
from generator.core.curation_file import Entry
from generator.core.settings import ConfigError, load_config
from generator.editor import EDIT_PATH, TOKEN_HEADER, Editor
from generator.review import content_frontmatter, review_queue
from generator.site.editions import period_bounds, period_of
from test_browser_serve import build_site_serve

HOSTILE = "Le \"Monde\": <script>alert(1)</script> # pas un commentaire\n- item: {x: 1}"


# --------------------------------------------------------------------------- the file

def test_the_file_reads_back_what_it_wrote_with_its_notes(tmp_path: Path) -> None:
    path = tmp_path / "curation.yaml"
    entries = [Entry(("curation", "overrides", "un-article", "hide"), True, "2026-12-07 09:00: hid “Un”"),
               Entry(("curation", "overrides", "un-article", "title"), " ".join(HOSTILE.split()), "title"),
               Entry(("entities", "aliases", HOSTILE), "Le Monde", "renamed"),
               Entry(("entities", "types", "Strava"), "organizations", "typed"),
               Entry(("entities", "ignore", "- yes: no"), True, "ignored")]
    curation_file.write(path, entries)
    assert curation_file.read(path) == entries
    # a line deleted by hand undoes its correction and keeps the others' notes
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(line for line in text.split("\n") if "Strava" not in line), encoding="utf-8")
    assert curation_file.read(path) == entries[:3] + entries[4:]


def test_a_build_lays_the_file_over_site_yaml(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("curation:\n  overrides:\n    un-article: {note: Vu}\nentities:\n  types: {Chine: places}\n",
                      encoding="utf-8")
    curation_file.write(tmp_path / "curation.yaml", [
        Entry(("curation", "overrides", "un-article", "pin"), True),
        Entry(("entities", "types", "Strava"), "organizations"),
        Entry(("entities", "ignore", "Lundi"), True)])
    settings = load_config(config)
    assert settings["curation"]["overrides"] == {"un-article": {"note": "Vu", "pin": True}}
    assert settings["entities"]["types"] == {"Chine": "places", "Strava": "organizations"}
    assert settings["entities"]["ignore"] == ["Lundi"] and settings["entities"]["aliases"] == {}

    (tmp_path / "curation.yaml").write_text("entities:\n  types:\n    Strava: company\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"curation\.yaml:3: 'entities.types' gives 'Strava'"):
        load_config(config)
    (tmp_path / "curation.yaml").write_text("curation:\n  overrides:\n    a: {hidden: true}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"curation\.yaml:3: unknown key 'curation.overrides.a.hidden'"):
        load_config(config)


# --------------------------------------------------------------------------- the server

ARTICLE = ("<!doctype html><html lang='fr'><head><title>t</title></head><body>"
           "<h1 data-pagefind-meta='title'>{}</h1></body></html>")


@pytest.fixture
def desk(tmp_path: Path):
    """serve --edit on a small site in a thread (no build): (base URL, Editor, corrections file)."""
    site = tmp_path / "site"
    for slug, heading in (("un-article", "Un article"), ("autre", "Autre"), ("hostile", HOSTILE)):
        (site / "articles" / slug).mkdir(parents=True)
        (site / "articles" / slug / "index.html").write_text(
            ARTICLE.format(HOSTILE.replace("&", "&amp;").replace("<", "&lt;") if slug == "hostile" else heading),
            encoding="utf-8")
    _fake_build_report(tmp_path)
    (site / "index.html").write_text(ARTICLE.format("Revue").replace("</body>", "".join(
        f'<article class="card"><p class="badge">À la une</p> <h2><a href="articles/{slug}/index.html">{slug}</a></h2>'
        f'</article>' for slug in ("autre", "un-article")) + "</body>"), encoding="utf-8")
    (site / "editions" / "2024-w10").mkdir(parents=True)
    (site / "editions" / "2024-w10" / "index.html").write_text(ARTICLE.format("Semaine 10"), encoding="utf-8")
    (site / "stories" / "un-article").mkdir(parents=True)
    (site / "stories" / "un-article" / "index.html").write_text(ARTICLE.format("Un article").replace(
        "</body>", "".join(f'<p class="timeline-title"><a href="../../articles/{slug}/index.html" lang="fr">{title}</a></p>'
                           for slug, title in (("un-article", "Un article"), ("autre", "Autre"))) + "</body>"),
        encoding="utf-8")
    (site / "people" / "jean-dupont").mkdir(parents=True)
    (site / "people" / "jean-dupont" / "index.html").write_text(ARTICLE.format("Jean Dupont"), encoding="utf-8")
    editor = Editor(site, tmp_path / "curation.yaml")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=preview.serve, args=(site, lambda: [], lambda: True, port),
                              kwargs={"stop": stop, "editor": editor}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not editor.hosts:
        time.sleep(0.05)
    try:
        yield base, editor, tmp_path / "curation.yaml"
    finally:
        stop.set()
        thread.join(timeout=10)


def _fake_build_report(output: Path) -> None:
    """What a build leaves beside the site for the review queue: a report and content pages."""
    (output / "content").mkdir()
    for slug, fm in (("un-article", {"date": "2024-03-05", "outlet": "Le Monde"}),
                     ("autre", {"date": None, "outlet": "Le Monde", "title_derived": True}),
                     ("hostile", {"date": "2024-03-06", "outlet": None})):
        head = yaml.safe_dump({"title": HOSTILE if slug == "hostile" else slug.title(), "slug": slug, **fm})
        (output / "content" / f"{slug}.md").write_text(f"---\n{head}---\n\nTexte.\n", encoding="utf-8")
    inputs = [{"file": "a.txt", "status": "article", "article": "un-article", "reason": "text"},
              {"file": "b.txt", "status": "duplicate", "article": "un-article", "reason":
               "near-duplicate of a.txt: jaccard 0.53, containment 0.60 (rule: jaccard >= 0.5)"},
              {"file": "c.txt", "status": "duplicate", "article": "autre", "reason":
               "near-duplicate of d.txt: jaccard 0.93, containment 0.99 (rule: jaccard >= 0.5)"},
              {"file": "<junk>.txt", "status": "rejected", "article": None, "reason": "too short: 3 words"}]
    stories = {"close_calls": [{"a": "autre", "b": "un-article", "score": 0.33, "together": False}]}
    stats = {"stories": stories, "entities_unsure": [{"name": "Jean Dupont", "type": "people"}]}
    (output / "build-report.json").write_text(json.dumps({"inputs": inputs, "stats": stats}), encoding="utf-8")


def test_the_review_queue_surfaces_what_the_build_was_unsure_about(desk) -> None:
    base = desk[0]
    with urllib.request.urlopen(f"{base}{EDIT_PATH}/review", timeout=30) as response:
        page = lxml.html.fromstring(response.read())
    groups = {section.xpath("h2")[0].text_content().rsplit(" (", 1)[0]:
              [(li.xpath("a/@href") or [""])[0] + " " + li.text_content() for li in section.xpath("ol/li")]
              for section in page.xpath("//main/section")}
    assert [link.split()[0] for link in groups["In the newest edition (2024-w10)"]] == \
        ["/articles/hostile/", "/articles/un-article/"]
    assert [link.split()[0] for link in groups["Without a date"]] == ["/articles/autre/"]
    assert [link.split()[0] for link in groups["Without an outlet"]] == ["/articles/hostile/"]
    assert [link.split()[0] for link in groups["Titles made from the text"]] == ["/articles/autre/"]
    (close,) = groups["Merges near the threshold"]  # 0.53 against 0.5; 0.93 is far from it
    assert close.startswith("/articles/un-article/") and "b.txt merged" in close
    assert groups["Rejected files"] == [" <junk>.txt too short: 3 words"]
    assert groups["Story decisions near the threshold"] == ["/articles/autre/ Autre apart at 0.33 with “Un-Article”"]
    assert groups["Entities typed by one mention"] == ["/people/jean-dupont/ Jean Dupont people"]
    assert page.xpath("//script[contains(., 'alert(1)')]") == []  # the hostile title is text


def test_every_item_of_a_real_builds_review_queue_links_to_a_page(corpus_site: Path) -> None:
    groups = review_queue(corpus_site, content_frontmatter(corpus_site), "weekly")
    items = [item for group in groups for item in group.items]
    assert "Entities typed by one mention" in {group.title for group in groups if group.items}
    for item in items:
        assert not item.link or (corpus_site / "site" / item.link / "index.html").is_file(), item


def post(base: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}{EDIT_PATH}/action", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_write_needs_the_session_token_and_this_server(desk) -> None:
    base, editor, corrections = desk
    pin = {"action": "pin", "page": "/articles/un-article/"}
    token = {TOKEN_HEADER: editor.token}
    assert post(base, pin, {})[0] == 403
    assert post(base, pin, {TOKEN_HEADER: "x" * len(editor.token)})[0] == 403
    assert post(base, pin, {**token, "Origin": "http://evil.example"})[0] == 403
    assert post(base, pin, {**token, "Sec-Fetch-Site": "cross-site"})[0] == 403
    assert post(base, pin, {**token, "Host": "evil.example"})[0] == 403  # a rebound DNS name
    assert not corrections.exists()
    # the subject comes from the site's own pages, never a path or a name from the request
    assert post(base, {"action": "pin", "page": "/../curation.yaml"}, token)[0] == 400
    assert post(base, {"action": "pin", "page": "/articles/nulle-part/"}, token)[0] == 400
    assert post(base, {"action": "rename", "page": "/articles/un-article/", "value": "X"}, token)[0] == 400
    assert post(base, {"action": "type", "page": "/people/jean-dupont/", "value": "../x"}, token)[0] == 400
    assert not corrections.exists()

    assert post(base, {"action": "date", "page": "/articles/un-article/", "value": "2019-02-30"}, token)[0] == 400
    assert not corrections.exists()

    status, answer = post(base, pin, {**token, "Origin": base})
    assert status == 200 and "pinned “Un article”" in answer["message"]
    for action, value in (("outlet", "Agence  de test "), ("date", "2019-01-15")):
        assert post(base, {"action": action, "page": "/articles/un-article/", "value": value}, token)[0] == 200
    assert yaml.safe_load(corrections.read_text(encoding="utf-8")) == \
        {"curation": {"overrides": {"un-article": {"pin": True, "outlet": "Agence de test", "date": "2019-01-15"}}}}


def test_story_actions_name_articles_of_the_site(desk) -> None:
    base, editor, corrections = desk
    token = {TOKEN_HEADER: editor.token}
    story, article = "/stories/un-article/", "/articles/un-article/"
    assert post(base, {"action": "split", "page": story, "value": "hostile"}, token)[0] == 400  # not a member
    assert post(base, {"action": "story", "page": article, "value": "http://x/articles/nulle-part/"}, token)[0] == 400
    assert not corrections.exists()
    assert post(base, {"action": "split", "page": story, "value": "autre"}, token)[0] == 200
    assert post(base, {"action": "story", "page": article, "value": f"{base}/articles/hostile/"}, token)[0] == 200
    overrides = yaml.safe_load(corrections.read_text(encoding="utf-8"))["curation"]["overrides"]
    assert overrides == {"autre": {"story": "alone"}, "un-article": {"story": "hostile"}}
    assert post(base, {"action": "detach", "page": article}, token)[0] == 200
    assert post(base, {"action": "story_title", "page": story, "value": "Une histoire"}, token)[0] == 200
    assert yaml.safe_load(corrections.read_text(encoding="utf-8"))["curation"]["overrides"]["un-article"] == \
        {"story": "alone", "story_title": "Une histoire"}


def test_an_edition_marked_as_sent_keeps_the_list_the_build_made(desk) -> None:
    base, editor, corrections = desk
    with urllib.request.urlopen(f"{base}/editions/2024-w10/", timeout=30) as response:
        page = response.read().decode("utf-8")
    assert 'data-action="sent"' in page and 'data-copy="email.html?raw"' in page
    assert post(base, {"action": "sent", "page": "/editions/2024-w10/"}, {TOKEN_HEADER: editor.token})[0] == 200
    assert yaml.safe_load(corrections.read_text(encoding="utf-8")) == \
        {"curation": {"sent_editions": {"2024-w10": ["hostile", "un-article"]}}}
    with urllib.request.urlopen(f"{base}/editions/2024-w10/", timeout=30) as response:
        assert 'data-action="sent"' not in response.read().decode("utf-8")


def test_a_build_keeps_a_sent_edition_and_names_a_story_as_the_editor_said(
        corpus_site: Path, tmp_path: Path) -> None:
    """A sent edition keeps its list and what came later goes to the next one; a story renamed
    on its lead article shows that name; and the site equals a fresh build."""
    config, seeds, out = tmp_path / "site.yaml", tmp_path / "seeds", tmp_path / "out"
    shutil.copy(corpus_site.parent / "site.yaml", config)
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    editions = {}
    for fm, _ in content_pages(out):
        if fm["date"]:
            editions.setdefault(period_of(fm["date"], "weekly")[0], []).append(fm["slug"])
    key = max((k for k, slugs in editions.items() if len(slugs) >= 2), key=lambda k: (len(editions[k]), k))
    kept, late = sorted(editions[key])[:1], sorted(editions[key])[1:]
    story = max((out / "site" / "stories").glob("*/index.html"), key=lambda p: p.read_text().count("timeline-title"))
    curation_file.write(tmp_path / "curation.yaml", [
        Entry(("curation", "sent_editions", key), kept, "sent"),
        Entry(("curation", "overrides", story.parent.name, "story_title"), "Une histoire renommée", "renamed")])
    assert run_build(seeds, out, "--quiet", config=config).returncode == 0
    assert lxml.html.fromstring(story.read_bytes()).xpath("//h1")[0].text_content() == "Une histoire renommée"
    site = out / "site" / "editions"

    def linked(edition: str) -> set[str]:
        return set(re.findall(r"articles/([a-z0-9-]+)/index.html", (site / edition / "index.html").read_text()))

    assert linked(key) >= set(kept) and not linked(key) & set(late)
    after = period_of((period_bounds(key)[1] + dt.timedelta(days=1)).isoformat(), "weekly")[0]
    assert set(late) <= linked(after)
    fresh = tmp_path / "fresh"
    assert run_build(seeds, fresh, "--quiet", config=config).returncode == 0
    for folder in ("content", "site"):
        assert tree_differences(fresh / folder, out / folder) == [], folder


def test_a_pinned_article_moves_up_on_the_home_page(desk) -> None:
    base, editor, corrections = desk
    token = {TOKEN_HEADER: editor.token}
    assert post(base, {"action": "pin_up", "page": "/", "value": "autre"}, token)[0] == 400  # already first
    assert post(base, {"action": "pin_up", "page": "/", "value": "un-article"}, token)[0] == 200
    assert yaml.safe_load(corrections.read_text(encoding="utf-8"))["curation"]["overrides"] == \
        {"un-article": {"pin": 1}, "autre": {"pin": 2}}


def test_the_bar_shows_hostile_names_as_text(desk) -> None:
    base, editor, _ = desk
    with urllib.request.urlopen(f"{base}/articles/hostile/", timeout=30) as response:
        page = response.read().decode("utf-8")
    assert 'id="build-site-editor"' in page and editor.token in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    status, _ = post(base, {"action": "title", "page": "/articles/hostile/", "value": HOSTILE},
                     {TOKEN_HEADER: editor.token})
    assert status == 200
    with urllib.request.urlopen(f"{base}{EDIT_PATH}/", timeout=30) as response:
        listing = response.read().decode("utf-8")
    assert "<script>alert(1)</script>" not in listing and "alert(1)" in listing


def test_two_tabs_writing_at_once_lose_nothing(desk) -> None:
    base, editor, corrections = desk
    token = {TOKEN_HEADER: editor.token}
    corrections.write_text("entities:\n  ignore:\n  - Lundi  # added by hand\n", encoding="utf-8")
    actions = [{"action": "pin", "page": "/articles/un-article/"},
               {"action": "title", "page": "/articles/autre/", "value": "Un autre titre"},
               {"action": "type", "page": "/people/jean-dupont/", "value": "organizations"},
               {"action": "hide", "page": "/articles/hostile/"}]
    answers: list[int] = []
    threads = [threading.Thread(target=lambda a=a: answers.append(post(base, a, token)[0])) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 4
    paths = [entry.path for entry in curation_file.read(corrections)]
    assert sorted(paths) == sorted([
        ("entities", "ignore", "Lundi"), ("curation", "overrides", "un-article", "pin"),
        ("curation", "overrides", "autre", "title"), ("entities", "types", "Jean Dupont"),
        ("curation", "overrides", "hostile", "hide")])
    assert {entry.path: entry.note for entry in curation_file.read(corrections)}[
        ("entities", "ignore", "Lundi")] == "added by hand"
    # undo, as the corrections page sends it
    status, _ = post(base, {"action": "undo", "value": json.dumps(["entities", "ignore", "Lundi"])}, token)
    assert status == 200 and ("entities", "ignore", "Lundi") not in \
        [entry.path for entry in curation_file.read(corrections)]


# --------------------------------------------------------------------------- in the browser

FRONTEX = "frontex-et-l-oim-organisent-un-webinaire-sur-la-lutte-contre-la-traite-et-le"


def test_an_editor_curates_in_the_browser_and_a_plain_build_agrees(corpus_site: Path, tmp_path: Path) -> None:
    seeds, out, config = tmp_path / "seeds", tmp_path / "out", tmp_path / "site.yaml"
    shutil.copytree(corpus_site.parent / "seeds", seeds)
    shutil.copytree(corpus_site, out)
    shutil.copy(corpus_site.parent / "site.yaml", config)
    corrections = tmp_path / "curation.yaml"  # beside site.yaml: the default curation_file
    with build_site_serve(seeds, out, config, "--edit") as (base, log), browser() as b:
        page = b.new_page()
        problems = collect_page_problems(page)
        articles = sorted(p.name for p in (out / "site" / "articles").iterdir() if p.is_dir())
        other = next(slug for slug in articles if slug != FRONTEX)

        def rebuilt(count: int) -> None:
            """Wait for the COUNT-th rebuild since the start to be published and the open page,
            marked before, to have reloaded by itself (so no reload interrupts what follows)."""
            deadline = time.monotonic() + 120
            while sum("published in" in line or "rebuild failed" in line for line in log) < count:
                assert time.monotonic() < deadline, "\n".join(log)
                time.sleep(0.2)
            assert not any("rebuild failed" in line for line in log), "\n".join(log)
            page.wait_for_function("() => !window.beforeRebuild", timeout=60_000)

        def mark() -> None:
            page.evaluate("() => { window.beforeRebuild = true; }")

        # correct a title: the file holds it, the rebuilt page shows it (reloaded by itself)
        page.goto(f"{base}/articles/{FRONTEX}/")
        _check_editor_page(page, "article", tmp_path)
        page.fill("#build-site-editor form[data-action=title] input", "Frontex et l'OIM contre la traite")
        page.click("#build-site-editor form[data-action=title] button")
        mark()
        rebuilt(1)
        assert page.locator("h1").inner_text() == "Frontex et l'OIM contre la traite"
        assert "title: Frontex et l'OIM contre la traite  # " in corrections.read_text(encoding="utf-8")

        # pin it: the home page features it
        page.click("#build-site-editor button[data-action=pin]")
        mark()
        rebuilt(2)
        assert page.locator("#build-site-editor button[data-action=unpin]").count() == 1
        page.goto(f"{base}/")
        assert "Frontex et l'OIM contre la traite" in page.locator(".badge").first.locator("xpath=..").inner_text()

        def rename(organization: str, name: str, count: int) -> None:
            """Rename an organization in its page's bar: the editor is taken to the corrections."""
            page.goto(f"{base}/organizations/{organization}/")
            page.fill("#build-site-editor form[data-action=rename] input", name)
            page.click("#build-site-editor form[data-action=rename] button")
            page.wait_for_url(f"{base}{EDIT_PATH}/", timeout=30_000)
            mark()
            rebuilt(count)

        # rename an entity: its page moves to the new name
        rename("frontex", "Agence Frontex", 3)
        page.goto(f"{base}/organizations/agence-frontex/")
        assert page.locator("h1").inner_text() == "Agence Frontex"
        # merge another organization into it: one page holds the articles of both
        merged_away = next(p.parent.name for p in sorted((out / "site" / "organizations").glob("*/index.html"))
                           if p.parent.name not in ("agence-frontex", "frontex"))

        def articles_of(organization: str) -> set[str]:
            page_file = out / "site" / "organizations" / organization / "index.html"
            return set(re.findall(r"articles/([a-z0-9-]+)/index.html", page_file.read_text(encoding="utf-8")))

        expected = articles_of("agence-frontex") | articles_of(merged_away)
        rename(merged_away, "Agence Frontex", 4)
        assert not (out / "site" / "organizations" / merged_away).exists()
        assert articles_of("agence-frontex") >= expected

        # hide another article, then undo it from the corrections page
        page.goto(f"{base}/articles/{other}/")
        page.click("#build-site-editor button[data-action=hide]")
        page.wait_for_url(f"{base}{EDIT_PATH}/", timeout=30_000)
        mark()
        rebuilt(5)
        assert not (out / "site" / "articles" / other).exists()
        assert page.locator("main li").count() == 5
        _check_editor_page(page, "corrections", tmp_path)
        page.locator("main li", has_text="› hide:").locator("button").click()
        mark()
        rebuilt(6)
        assert (out / "site" / "articles" / other / "index.html").is_file()
        assert "hide: true" not in corrections.read_text(encoding="utf-8")
        page.goto(f"{base}{EDIT_PATH}/review")
        assert page.locator("main h2").count() >= 5
        _check_editor_page(page, "review", tmp_path)
        # split the last article of the biggest story out of it
        story = max((out / "site" / "stories").glob("*/index.html"), key=lambda p: p.read_text().count("timeline-title"))
        page.goto(f"{base}/stories/{story.parent.name}/")
        options = page.locator("#build-site-editor form[data-action=split] option")
        assert options.count() >= 2
        _check_editor_page(page, "story", tmp_path)
        member = options.last.get_attribute("value")
        page.select_option("#build-site-editor form[data-action=split] select", member)
        page.click("#build-site-editor form[data-action=split] button")
        page.wait_for_url(f"{base}{EDIT_PATH}/", timeout=30_000)
        mark()
        rebuilt(7)
        assert f"{member}:\n      story: alone  # " in corrections.read_text(encoding="utf-8")
        if story.exists():  # a story of two is gone; a bigger one no longer lists it
            assert f"articles/{member}/" not in story.read_text(encoding="utf-8")
        assert not (out / "site" / "stories" / member).exists()

        # an edition: its e-mail HTML copied to the clipboard, then marked as sent
        edition = max((out / "site" / "editions").glob("*/email.html")).parent
        copier = b.new_context(permissions=["clipboard-read", "clipboard-write"]).new_page()
        copier.goto(f"{base}/editions/{edition.name}/")
        copier.click("#build-site-editor button[data-copy]")
        copier.wait_for_function("document.querySelector('#build-site-editor [role=status]').textContent"
                                 " === 'e-mail HTML copied'", timeout=30_000)
        assert copier.evaluate("navigator.clipboard.readText()") == (edition / "email.html").read_text(encoding="utf-8")
        copier.click("#build-site-editor button[data-action=sent]")
        copier.wait_for_function("document.querySelector('#build-site-editor [role=status]').textContent"
                                 ".includes('rebuilding')", timeout=30_000)
        assert f"sent_editions:\n    {edition.name}: [" in corrections.read_text(encoding="utf-8")
        rebuilt(8)
        copier.context.close()
        assert not problems, problems.report()

    # a plain build of the same folder, corrections file included, gives the site served
    fresh = tmp_path / "fresh"
    assert run_build(seeds, fresh, "--quiet", config=config).returncode == 0
    for folder in ("content", "site"):
        assert tree_differences(fresh / folder, out / folder) == [], folder


def _check_editor_page(page, name: str, tmp_path: Path) -> None:
    """The page as the editor sees it: accessible (axe-core), valid HTML (the Nu checker, on what
    the server sends), screenshots at 1280 and 390 px in tests/artifacts/."""
    violations = axe_violations(page)
    assert violations == [], format_violations(violations)
    sent = tmp_path / f"editor-{name}.html"
    with urllib.request.urlopen(page.url, timeout=30) as response:
        sent.write_bytes(response.read())
    assert vnu_errors([sent]) == []
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"editor-{name}-{width}", full_page=True)
