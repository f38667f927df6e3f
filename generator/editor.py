"""build-site serve --edit: the editor's desk over the preview.

The preview's pages get a small editor bar: on an article, hide, pin, correct the title,
outlet or date, move it into another story or out of its own; on the home page, move a pinned
article up; on a story, rename it or split an article out; on an edition, mark it as sent (its
list is kept, new articles go to the next one) and copy its e-mail HTML; on an entity, rename
or merge, change its type, ignore it. Each action is one entry of the corrections file
(core/curation_file.py), which the serve loop sees change and rebuilds from, like any edit.
/__edit/ lists the corrections with an undo button each, /__edit/review the review queue
(review.py). Nothing of this is in output/site: the bar is added to the pages as they are sent.

Safe by construction: the server listens on 127.0.0.1 unless told otherwise (--host, with a
warning); a write needs this session's token (in the pages the server sends, unreadable from
another origin), a Host of this server (no DNS rebinding) and no foreign Origin; the only file
written is the corrections file; what an action names (an article, an entity) is read from the
site's own page, never a path or a name taken from the request; every text shown is escaped.
"""
from __future__ import annotations

import datetime as dt
import hmac
import html
import json
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .core import curation_file
from .core.curation_file import Entry
from .core.model import ENTITY_TYPES
from .corpus.curate import STORY_ALONE
from .corpus.permalinks import SLUG
from .output.content import read_frontmatter
from .review import SHOWN, content_frontmatter, review_queue
from .site.editions import collect_editions

EDIT_PATH = "/__edit"  # reserved like /__build: the corrections page, and POST .../action
TOKEN_HEADER = "X-Build-Site-Token"
MAX_REQUEST_BYTES = 16 * 1024
MAX_TEXT = 300  # characters of a corrected title or a new name
ARTICLE_ACTIONS = {"hide", "pin", "unpin", "title", "outlet", "date", "story", "detach"}
ENTITY_ACTIONS = {"rename", "type", "ignore"}


class EditRefused(Exception):
    """An action the editor does not carry out; (HTTP status, one-line reason)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Subject:
    """What a page is about: an article, story or edition (key: its slug), the home page, or an
    entity (key: its shown name)."""

    kind: str  # "article", "story", "edition", "home", or the taxonomy: "people", "organizations", "places"
    key: str
    heading: str
    outlet: str = ""  # an article's, from its content page
    date: str = ""
    members: tuple[tuple[str, str], ...] = ()  # (slug, title): a story's articles, the home's pinned


def _linked_articles(page: Path, before: str) -> tuple[tuple[str, str], ...]:
    """(slug, title) of each article a page links to right after the markup BEFORE, in order."""
    found = re.findall(before + r'<a href="[^"]*articles/([a-z0-9-]+)/[^"]*"[^>]*>(.*?)</a>',
                       page.read_text(encoding="utf-8"), re.S)
    return tuple((slug, _text_of(title)) for slug, title in found)


def story_members(page: Path) -> tuple[tuple[str, str], ...]:
    """The articles on a story page's timeline."""
    return _linked_articles(page, r'class="timeline-title">')


def pinned_on_home(page: Path) -> tuple[tuple[str, str], ...]:
    """The pinned articles on the home page (a card with a badge), in order."""
    return _linked_articles(page, r'<p class="badge">[^<]*</p>\s*<h2>')


def _text_form(action: str, label: str, value: str, button: str, size: str = "") -> str:
    """A one-field form of the bar (its field is sent as the action's value)."""
    return (f'<form data-action="{action}"><label>{label} <input name="value" required maxlength="{MAX_TEXT}"'
            f'{f" size={size}" if size else ""} value="{html.escape(value)}"></label><button>{button}</button></form>')


def _select_form(action: str, label: str, options: Iterable[tuple[str, str]], button: str, selected: str = "") -> str:
    """A form of the bar that picks one of OPTIONS (value, text)."""
    listed = "".join(f'<option value="{html.escape(value)}"{" selected" if value == selected else ""}>'
                     f'{html.escape(text)}</option>' for value, text in options)
    return (f'<form data-action="{action}"><label>{label} <select name="value">{listed}</select></label>'
            f'<button>{button}</button></form>')


def _button(action: str, text: str) -> str:
    return f'<button type="button" data-action="{action}">{text}</button>'


def _text_of(markup: str) -> str:
    """What a reader sees of MARKUP: its text, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def page_heading(page: Path) -> str:
    """The text of the page's first <h1>."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8", errors="replace"), re.S)
    return _text_of(found.group(1)) if found else ""


class Editor:
    """The editor's layer of one serve session: its token, its bar, its actions."""

    def __init__(self, site_dir: Path, corrections: Path, editions: str = "weekly") -> None:
        self.site_dir = site_dir
        self.corrections = corrections
        self.editions = editions  # the period of an edition, for the review queue
        self.held: tuple[int, list[dict]] | None = None  # (report's mtime, its content frontmatter)
        self.token = secrets.token_urlsafe(32)
        self.hosts: set[str] = set()  # the Host values of this server, set once it listens
        self.lock = threading.Lock()  # one write at a time; each re-reads the file first

    def listening_on(self, port: int, host: str = "127.0.0.1") -> None:
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"{host}:{port}"}

    # ------------------------------------------------------------------ what a page is about

    def subject(self, url_path: str) -> Subject | None:
        parts = [p for p in url_path.split("/") if p]
        if parts[-1:] == ["index.html"]:
            parts = parts[:-1]
        if not parts and url_path and (self.site_dir / "index.html").is_file():
            return Subject("home", "", "", members=pinned_on_home(self.site_dir / "index.html"))
        if len(parts) != 2 or not SLUG.fullmatch(parts[1]) \
                or parts[0] not in ("articles", "stories", "editions", *ENTITY_TYPES):
            return None
        page = self.site_dir / parts[0] / parts[1] / "index.html"
        if not page.is_file():
            return None
        heading = page_heading(page)
        if parts[0] == "articles":
            try:
                fm = read_frontmatter(self.site_dir.parent / "content" / f"{parts[1]}.md")
            except (OSError, IndexError, yaml.YAMLError):
                fm = {}
            return Subject("article", parts[1], heading, str(fm.get("outlet") or ""), str(fm.get("date") or ""))
        if parts[0] == "stories":
            return Subject("story", parts[1], heading, members=story_members(page))
        if parts[0] == "editions":
            return Subject("edition", parts[1], heading)
        return Subject(parts[0], heading, heading) if heading else None

    # ------------------------------------------------------------------ the bar on a page

    def bar(self, url_path: str) -> str:
        """The editor bar for the page at URL_PATH (every page links to the corrections)."""
        subject = self.subject(url_path)
        entries = self._entries_or_none() or []
        e = html.escape
        controls = ""
        if subject is not None and subject.kind == "article":
            pinned = any(x.path == ("curation", "overrides", subject.key, "pin") and x.value for x in entries)
            controls = (_button("unpin", "Unpin") if pinned else _button("pin", "Pin to the top")) \
                + _button("hide", "Hide") \
                + _text_form("title", "Title", subject.heading, "Correct") \
                + _text_form("outlet", "Outlet", subject.outlet, "Correct", size="14") \
                + ('<form data-action="date"><label>Date <input name="value" type="date" required '
                   f'value="{e(subject.date)}"></label><button>Correct</button></form>') \
                + _text_form("story", "Into the story of (an article's address)", "", "Move", size="14") \
                + _button("detach", "Out of its story")
        elif subject is not None and subject.kind == "home" and len(subject.members) > 1:
            controls = _select_form("pin_up", "Pinned", subject.members[1:], "Move up")
        elif subject is not None and subject.kind == "edition":
            sent = any(x.path == ("curation", "sent_editions", subject.key) for x in entries)
            controls = ("<span>Sent: new articles go to the next edition</span>" if sent
                        else _button("sent", "Mark as sent")) \
                + '<button type="button" data-copy="email.html?raw">Copy e-mail HTML</button>'
        elif subject is not None and subject.kind == "story":
            controls = _text_form("story_title", "Story name", subject.heading, "Rename") \
                + _select_form("split", "Article", subject.members, "Split out of the story")
        elif subject is not None:
            controls = _text_form("rename", "Name", subject.heading, "Rename or merge") \
                + _select_form("type", "Type", ((kind, kind) for kind in ENTITY_TYPES), "Set type", subject.kind) \
                + _button("ignore", "Ignore")
        return BAR % (e(self.token), e(TOKEN_HEADER), controls, EDIT_PATH, len(entries), EDIT_PATH, EDIT_PATH,
                      EDIT_SCRIPT)

    def corrections_page(self) -> bytes:
        """/__edit/: every correction, newest last, each with an undo button."""
        e = html.escape
        entries = self._entries_or_none()
        if entries is None:
            rows = f"<p>{e(str(self.corrections))} cannot be read: correct it by hand.</p>"
        elif not entries:
            rows = "<p>No corrections yet.</p>"
        else:
            rows = "<ol>" + "".join(
                f'<li><p>{e(x.note or "added by hand")}</p><div><code>{e(" › ".join(x.path))}: '
                f'{e(json.dumps(x.value, ensure_ascii=False))}</code> <form data-action="undo">'
                f'<input type="hidden" name="value" value="{e(json.dumps(x.path, ensure_ascii=False))}">'
                f'<button>Undo</button></form></div></li>' for x in entries) + "</ol>"
        return (EDITOR_PAGE % ("Corrections", "Corrections", f"Kept in <code>{e(str(self.corrections))}</code>; "
                               "every build reads them.", rows, self.bar(""))).encode()

    def review_page(self) -> bytes:
        """/__edit/review: the review queue of the last build, each item linking to its page."""
        e = html.escape
        try:
            groups = review_queue(self.site_dir.parent, self._pages(), self.editions)
        except (OSError, ValueError) as exc:
            body = f"<p>No build to review yet ({e(str(exc))}).</p>"
        else:
            body = ""
            for group in groups:
                items = "".join(f'<li>{_linked(x.label, x.link)} <span>{e(x.detail)}</span></li>'
                                for x in group.items[:SHOWN])
                more = f"<p>… and {len(group.items) - SHOWN} more.</p>" if len(group.items) > SHOWN else ""
                body += (f"<section><h2>{e(group.title)} ({len(group.items)})</h2><p>{e(group.why)}</p>"
                         f"{f'<ol>{items}</ol>' if items else ''}{more}</section>")
        return (EDITOR_PAGE % ("Review", "Review", "What the last build was unsure about, most useful first.",
                               body, self.bar(""))).encode()

    def _pages(self) -> list[dict]:
        """The content frontmatter of the last build, read again when its report changes (at
        10,000 articles reading it takes a few seconds)."""
        stamp = (self.site_dir.parent / "build-report.json").stat().st_mtime_ns
        if self.held is None or self.held[0] != stamp:
            self.held = (stamp, content_frontmatter(self.site_dir.parent))
        return self.held[1]

    def _edition_members(self, key: str, sent: dict[str, list[str]]) -> list[str]:
        """The slugs of the edition KEY as the last build made it (editions.collect_editions)."""
        views = [{"slug": fm.get("slug"), "date": str(fm["date"]) if fm.get("date") else None,
                  "pinned": bool(fm.get("pinned"))} for fm in self._pages()]
        edition = next((e for e in collect_editions(views, self.editions, sent) if e.key == key), None)
        return sorted(v["slug"] for v in edition.articles) if edition else []

    def _entries_or_none(self) -> list[Entry] | None:
        try:
            return curation_file.read(self.corrections)
        except curation_file.CurationFileError:
            return None

    # ------------------------------------------------------------------ actions

    def check_request(self, headers: Any, length: int) -> None:
        """Refuse a write that is not this session's editor speaking (raises EditRefused)."""
        if headers.get("Host", "") not in self.hosts:
            raise EditRefused(403, "refused: not addressed to this server")
        origin = headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc not in self.hosts:
            raise EditRefused(403, "refused: a request from another site")
        if headers.get("Sec-Fetch-Site") not in (None, "same-origin"):
            raise EditRefused(403, "refused: a request from another site")
        if not hmac.compare_digest(headers.get(TOKEN_HEADER, "").encode(), self.token.encode()):
            raise EditRefused(403, "refused: no valid editor token (reload the page)")
        if not 0 < length <= MAX_REQUEST_BYTES:
            raise EditRefused(413, "refused: request too large")

    def act(self, body: bytes) -> dict[str, Any]:
        """Carry out one action ({"action", "page", "value"}); the answer the page shows."""
        try:
            request = json.loads(body)
            action, page, value = request["action"], str(request.get("page", "")), request.get("value")
        except (ValueError, KeyError, TypeError):
            raise EditRefused(400, "refused: not an editor action") from None
        with self.lock:
            try:
                entries = curation_file.read(self.corrections)  # what another tab or a hand wrote
            except curation_file.CurationFileError as exc:
                raise EditRefused(409, f"{exc}: correct it by hand first") from None
            if action == "undo":
                message, after = self._undo(entries, value), None
            else:
                subject = self.subject(urlsplit(page).path)
                if subject is None:
                    raise EditRefused(400, "refused: this page has no editor actions")
                entries, message, after = self._apply(entries, subject, action, value)
            curation_file.write(self.corrections, entries)
        return {"message": f"{message}: rebuilding", "next": after}

    def _undo(self, entries: list[Entry], value: Any) -> str:
        try:
            path = tuple(str(p) for p in json.loads(str(value)))
        except (ValueError, TypeError):
            raise EditRefused(400, "refused: not a correction") from None
        kept = [x for x in entries if x.path != path]
        if len(kept) == len(entries):
            raise EditRefused(404, "that correction is no longer in the file")
        entries[:] = kept
        return "undone"

    def _apply(self, entries: list[Entry], subject: Subject, action: str, value: Any
               ) -> tuple[list[Entry], str, str | None]:
        when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        name = subject.heading
        if subject.kind == "article" and action in ARTICLE_ACTIONS:
            path, after = ("curation", "overrides", subject.key), None
            if action == "hide":
                entry, after = Entry((*path, "hide"), True, f"{when}: hid “{name}”"), EDIT_PATH + "/"
            elif action in ("pin", "unpin"):
                entry = Entry((*path, "pin"), action == "pin", f"{when}: {action}ned “{name}”")
            elif action in ("story", "detach"):
                target = STORY_ALONE if action == "detach" else self._article_slug(value)
                what = "taken out of its story" if action == "detach" else f"moved into the story of {target}"
                entry = Entry((*path, "story"), target, f"{when}: “{name}” {what}")
            elif action == "date":
                try:
                    day = dt.date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    raise EditRefused(400, "refused: a date YYYY-MM-DD is expected") from None
                entry = Entry((*path, "date"), day, f"{when}: date of “{name}” corrected to {day}")
            else:
                text = self._text(value)
                entry = Entry((*path, action), text, f"{when}: {action} of “{name}” corrected to “{text}”")
        elif subject.kind == "edition" and action == "sent":
            sent = {x.path[2]: x.value for x in entries if x.section == ("curation", "sent_editions")}
            members = self._edition_members(subject.key, sent)
            if not members:
                raise EditRefused(400, "refused: the last build has no such edition")
            entry, after = (Entry(("curation", "sent_editions", subject.key), members,
                                  f"{when}: edition {subject.key} sent with its {len(members)} articles"), None)
        elif subject.kind == "home" and action == "pin_up":
            order = [slug for slug, _ in subject.members]
            if value not in order[1:]:
                raise EditRefused(400, "refused: not a pinned article below the first")
            i = order.index(value)
            order[i - 1], order[i] = order[i], order[i - 1]
            titles = dict(subject.members)
            moved = [Entry(("curation", "overrides", slug, "pin"), position,
                           f"{when}: “{titles[slug]}” pinned at {position}") for position, slug in enumerate(order, 1)]
            paths = {x.path for x in moved}
            return [x for x in entries if x.path not in paths] + moved, f"“{titles[value]}” moved up", None
        elif subject.kind == "story" and action == "story_title":
            text = self._text(value)
            entry, after = (Entry(("curation", "overrides", subject.key, "story_title"), text,
                                  f"{when}: story “{name}” renamed “{text}”"), None)
        elif subject.kind == "story" and action == "split":
            titles = dict(subject.members)
            if value not in titles:
                raise EditRefused(400, "refused: not an article of this story")
            entry, after = (Entry(("curation", "overrides", value, "story"), STORY_ALONE,
                                  f"{when}: “{titles[value]}” split out of the story “{name}”"),
                            EDIT_PATH + "/")  # a story of two is gone once split
        elif subject.kind in ENTITY_TYPES and action in ENTITY_ACTIONS:
            path, after = ("entities",), None
            if action == "rename":
                text = self._text(value)
                entry = Entry((*path, "aliases", name), text,
                              f"{when}: “{name}” renamed “{text}” (merged if another entity has that name)")
                after = EDIT_PATH + "/"  # the entity's page moves to the new name's address
            elif action == "type":
                if value not in ENTITY_TYPES:
                    raise EditRefused(400, f"refused: the type must be one of {', '.join(ENTITY_TYPES)}")
                entry = Entry((*path, "types", name), value, f"{when}: “{name}” typed {value}")
            else:
                entry, after = Entry((*path, "ignore", name), True, f"{when}: “{name}” ignored"), EDIT_PATH + "/"
        else:
            raise EditRefused(400, f"refused: no action {action!r} on this page")
        kept = [x for x in entries if x.path != entry.path]
        return kept + [entry], entry.note.split(": ", 1)[-1], after

    def _article_slug(self, value: Any) -> str:
        """The slug of an article of the site, given as its slug or the address of its page."""
        text = str(value or "").strip()
        found = re.search(r"articles/([a-z0-9-]+)/?", text)
        slug = found.group(1) if found else text
        if not SLUG.fullmatch(slug) or not (self.site_dir / "articles" / slug / "index.html").is_file():
            raise EditRefused(400, "refused: give the address (or slug) of an article of this site")
        return slug

    @staticmethod
    def _text(value: Any) -> str:
        text = " ".join(str(value or "").split())
        if not text or len(text) > MAX_TEXT:
            raise EditRefused(400, f"refused: a text of 1 to {MAX_TEXT} characters is expected")
        return text


def _linked(text: str, link: str) -> str:
    """TEXT as HTML, a link to the site-relative LINK when there is one."""
    return f'<a href="/{html.escape(link)}">{html.escape(text)}</a>' if link else html.escape(text)


# The bar: fixed at the foot of the page, its own styles (the site's stylesheet does not know it).
BAR = """<aside id="build-site-editor" aria-label="Editor" data-token="%s" data-header="%s" style="position:fixed;
left:0;right:0;bottom:0;z-index:2147483646;display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;padding:.5em 1em;
background:#1d2b36;color:#fff;font:14px/1.4 system-ui,sans-serif"><strong>Editor</strong>%s
<a href="%s/" style="color:#fff">Corrections (%d)</a><a href="%s/review" style="color:#fff">Review</a>
<span role="status" aria-live="polite"></span></aside>
<script>/* build-site serve --edit: the editor bar, not part of the published site */
var buildSiteEditPath = "%s";
%s</script>"""

EDIT_SCRIPT = """(function(){var bar=document.getElementById("build-site-editor");if(!bar){return}
var status=bar.querySelector("[role=status]");
document.body.style.paddingBottom=bar.offsetHeight+"px";  /* the page's end stays above the bar */
function send(action,value){status.textContent="saving…";
fetch(buildSiteEditPath+"/action",{method:"POST",headers:(function(h){h["Content-Type"]="application/json";
h[bar.getAttribute("data-header")]=bar.getAttribute("data-token");return h})({}),
body:JSON.stringify({action:action,page:location.pathname,value:value})})
.then(function(r){return r.json().then(function(j){return {ok:r.ok,j:j}})})
.then(function(a){status.textContent=a.j.message;if(a.ok&&a.j.next){location.href=a.j.next}},
function(){status.textContent="the preview server does not answer"})}
document.addEventListener("click",function(ev){var b=ev.target.closest("button[data-action]");
if(b){send(b.getAttribute("data-action"),null)}var c=ev.target.closest("button[data-copy]");
if(c){fetch(c.getAttribute("data-copy"),{cache:"no-store"}).then(function(r){return r.text()})
.then(function(t){return navigator.clipboard.writeText(t)}).then(function(){status.textContent="e-mail HTML copied"},
function(){status.textContent="could not copy: open email.html"})}});
document.addEventListener("submit",function(ev){var f=ev.target.closest("form[data-action]");if(!f){return}
ev.preventDefault();send(f.getAttribute("data-action"),f.elements.namedItem("value").value)});})();"""

EDITOR_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s · build-site editor</title>
<style>li{margin-bottom:1em}li p{margin:0}code{font-size:.85em;color:#444;overflow-wrap:anywhere}form{display:inline}
li span{color:#444}</style>
</head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:60em;margin:1em auto 6em;padding:0 1em">
<main><h1>%s</h1><p>%s <a href="/">Home</a></p>%s</main>
%s</body></html>"""
