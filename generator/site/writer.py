"""Pages planned, keyed by what their templates are given, and rendered (in workers) into the site."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import shutil
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..core.executor import distributed, map_batches
from ..core.model import ENTITY_TYPES, BuildError
from ..core.store import digest
from ..core.versions import stage_version
from ..output.publish import write_if_changed
from .meta import collection_page, json_ld, news_article, story_collection
from .taxonomies import Term

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# the characters of cards and feed entries kept rendered, the most recently used (an entry holds
# its article's whole body: kept for every article, a worker rendering the listings of 100,000
# articles held gigabytes)
FRAGMENTS_KEPT_CHARS = 32_000_000

# entries of the page keys that record a family (SiteWriter.family): its declaration, its listed pages, its other files
FAMILY, FAMILY_PAGES, FAMILY_FILES = "family:", "family-pages:", "family-files:"


@dataclass
class PageJob:
    """One file of the site to render: template, path, and the template's own context."""

    template: str
    rel: str
    root: str
    context: dict[str, Any]


class SiteWriter:
    """Plans the site's pages, then renders them (in worker processes) into the site folder.

    A file whose bytes equal what the folder already holds (per `previous`, path -> digest)
    is not rewritten. Cards and feed entries are rendered once per article and reused on
    every listing and feed that shows them.
    """

    def __init__(self, templates: Path, site_dir: Path, config: dict[str, Any],
                 previous: dict[str, str] | None = None, previous_keys: dict[str, str] | None = None,
                 published: tuple[Path, dict[str, str], dict[str, str]] | None = None) -> None:
        catalog_path = templates / "i18n" / f"{config['language']}.yaml"
        try:
            self.messages = yaml.load(catalog_path.read_text(encoding="utf-8"), Loader=_LOADER)
        except OSError:
            raise BuildError(f"message catalog not found: {catalog_path}") from None
        self.env = self._environment(FileSystemLoader(str(templates)))
        self.site_dir = site_dir
        self.config = config
        self.base_url = config["base_url"].rstrip("/") + "/"
        self.previous = previous if previous is not None else {}  # kept true as files are linked in
        self.previous_keys = previous_keys or {}
        # the published site (folder, path -> digest, path -> key): the site folder is the
        # generation before it, so a page this build leaves as published is linked from there
        self.published_dir, self.published, self.published_keys = published or (None, {}, {})
        self.salt = render_salt(templates, config)
        self.jobs: list[PageJob] = []
        self.pages: list[str] = []
        # pages kept without being planned (see family()): path -> digest, and path -> key
        self.kept: dict[str, str] = {}
        self.kept_keys: dict[str, str] = {}
        self._family: list[str] | None = None  # the pages written by the family being planned
        self._family_files: list[str] = []  # and its other files (feeds, e-mails, charts)
        self._fragments: OrderedDict[tuple[str, str, str], Markup] = OrderedDict()
        self._fragment_chars = 0
        self.rendered = 0  # files rendered from their templates (the others were kept or linked)

    def _environment(self, loader: jinja2.BaseLoader) -> Environment:
        env = Environment(loader=loader, autoescape=select_autoescape(default=True, default_for_string=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          keep_trailing_newline=True, auto_reload=False)  # no template changes mid-build
        env.filters["t"] = self.translate
        env.globals.update(card=self.card, entry=self.entry, json_ld=json_ld,
                           news_article=lambda view: news_article(view, self.config, self.absolute),
                           collection_page=lambda term, articles, path: collection_page(
                               term, articles, path, self.config, self.absolute),
                           story_collection=lambda story, path: story_collection(
                               story, path, self.config, self.absolute))
        return env

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for Dask workers, which see no template folder: the templates go as text."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("env", "jobs", "_fragments", "_fragment_chars", "kept", "kept_keys")}
        loader = self.env.loader
        assert loader is not None
        state["templates"] = {}
        for name in self.env.list_templates():
            with contextlib.suppress(UnicodeDecodeError):
                state["templates"][name] = loader.get_source(self.env, name)[0]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        templates = state.pop("templates")
        self.__dict__.update(state, jobs=[], _fragments=OrderedDict(), _fragment_chars=0, kept={}, kept_keys={})
        self.env = self._environment(jinja2.DictLoader(templates))

    def translate(self, key: str, **values: Any) -> str:
        return str(self.messages[key]).format(**values)

    def absolute(self, rel: str) -> str:
        return self.base_url + rel.removesuffix("index.html")

    def _fragment(self, template: str, a: dict[str, Any], root: str) -> Markup:
        key = (template, a["slug"], root)
        fragment = self._fragments.get(key)
        if fragment is None:
            fragment = self._fragments[key] = Markup(self.env.get_template(template).render(
                site=self.config, root=root, ui=self.messages, a=a))
            self._fragment_chars += len(fragment)
            while self._fragment_chars > FRAGMENTS_KEPT_CHARS:
                self._fragment_chars -= len(self._fragments.popitem(last=False)[1])
        else:
            self._fragments.move_to_end(key)
        return fragment

    def card(self, a: dict[str, Any], root: str) -> Markup:
        """An article's card on a listing (the same on every listing at the same depth)."""
        return self._fragment("_card.html", a, root)

    def entry(self, a: dict[str, Any]) -> Markup:
        """An article's Atom entry (absolute links: the same in every feed)."""
        return self._fragment("_entry.xml", a, "")

    def write(self, template: str, rel: str, root: str | None = None, listed: bool = True, **context: Any) -> None:
        """Plan one page (`listed`: in the sitemap); render_planned() writes it."""
        if root is None:
            root = "../" * rel.count("/")
        self.jobs.append(PageJob(template, rel, root, context))
        page = listed and rel.endswith(".html")
        if page and rel != "404.html":
            self.pages.append(rel)
        if self._family is not None:
            (self._family if page else self._family_files).append(rel)

    def family(self, name: str, declared: str, plan: Callable[[], None]) -> None:
        """The files of one family (a term's pages and its feed, say), planned by PLAN only when
        what they show changed: DECLARED is a digest of it (the settings, templates and code in
        the salt, the family's own fields, the key of each article it shows). When the folder
        holds the pages made from the same declaration, they are kept as they are, unplanned:
        no context is built and no page key computed for them."""
        record, members, others = FAMILY + name, FAMILY_PAGES + name, FAMILY_FILES + name
        key = digest(self.salt, declared)
        for keys, take in ((self.previous_keys, self._held), (self.published_keys, self._link_published)):
            held, held_files = keys.get(members), keys.get(others, "")
            if keys.get(record) != key or held is None:
                continue
            pages, files = (held.split("\n") if held else []), (held_files.split("\n") if held_files else [])
            kept = {rel: take(rel) for rel in pages + files}
            if None in kept.values():
                continue
            self.kept.update(kept)  # type: ignore[arg-type]
            self.kept_keys.update((rel, keys[rel]) for rel in kept if rel in keys)
            self.pages += pages
            self.kept_keys.update({record: key, members: held})
            if held_files:
                self.kept_keys[others] = held_files
            return
        self._family, self._family_files = [], []
        try:
            plan()
            self.kept_keys.update({record: key, members: "\n".join(self._family)})
            if self._family_files:
                self.kept_keys[others] = "\n".join(self._family_files)
        finally:
            self._family = None

    def copy_made_from(self, rel: str, key: str) -> str | None:
        """The digest of REL once the site folder holds its copy made from KEY, taken from
        the folder itself or linked from the published site; None if neither has it."""
        if self.previous_keys.get(rel) == key:
            held = self._held(rel)
            if held is not None:
                return held
        return self._link_published(rel) if self.published_keys.get(rel) == key else None

    def _held(self, rel: str) -> str | None:
        # os.path on a string: a third of pathlib's cost, asked for every page the folder holds
        return self.previous[rel] if rel in self.previous and os.path.exists(f"{self.site_dir}/{rel}") else None

    def _link_published(self, rel: str) -> str | None:
        """Put the published copy of REL in the site folder (a hard link: no file is ever
        rewritten in place, see write_if_changed); its digest, or None if it is missing."""
        sha = self.published.get(rel)
        if sha is None or self.published_dir is None:
            return None
        target = self.site_dir / rel
        if self.previous.get(rel) == sha and target.exists():
            return sha
        source = self.published_dir / rel
        if not source.is_file():
            return None
        target.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # a file system without hard links
            shutil.copyfile(source, target)
        self.previous[rel] = sha
        return sha

    def render(self, job: PageJob) -> bytes:
        return self.env.get_template(job.template).render(
            site=self.config, root=job.root, path=job.rel, canonical=self.absolute(job.rel), ui=self.messages,
            **job.context).encode("utf-8")

    def write_text(self, rel: str, text: str) -> None:
        self.jobs.append(PageJob("", rel, "", {"text": text}))
        if self._family is not None:
            self._family_files.append(rel)


def render_batch(writer: SiteWriter, jobs: Sequence[PageJob]) -> list[str]:
    """Render and write a batch of outdated pages (in a worker); the digest of each."""
    return [write_if_changed(writer.site_dir, job.rel, writer.render(job), writer.previous) for job in jobs]


def page_key(writer: SiteWriter, job: PageJob) -> str:
    """A digest of everything the page's template is given."""
    return digest(writer.salt, job.template, job.rel, job.root,
                  canonical(job.context, SHOWN_AS.get(job.template, view_key)))


def render_batch_to_bytes(writer: SiteWriter, jobs: Sequence[PageJob]) -> list[bytes]:
    """The bytes of each outdated page of a batch, on a Dask worker, which sees no site folder."""
    return [writer.render(job) for job in jobs]


# Settings that reach the pages only through the content pages (the corpus stages' own): out of
# the salt, so an editor's override re-renders the pages that show what it changed, not the site.
# (curation.sent_editions does reach the edition pages, which declare their articles: see editions.py)
CONTENT_ONLY_SETTINGS = frozenset({"clean", "dedup", "outlets", "entities", "curation", "curation_file",
                                   "jobs", "executor"})


def render_salt(templates: Path, config: dict[str, Any]) -> str:
    """What every page depends on besides its context: the site's settings, templates,
    catalogs, code."""
    files = sorted(p for p in templates.rglob("*") if p.is_file())
    shown = {key: value for key, value in config.items() if key not in CONTENT_ONLY_SETTINGS}
    return digest(json.dumps(shown, sort_keys=True, default=str), stage_version("render"),
                  *(f"{p.relative_to(templates)}" for p in files), *(p.read_bytes() for p in files))


_VIEW_LINKS = ("terms", "related", "newer", "older", "coverage")  # fields that point at other objects


@functools.lru_cache(maxsize=64)
def _page_fields(fields: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fields)


def own_key(view: dict[str, Any]) -> str:
    """The article's own fields, memoised in the view: those made from its content page, named
    by the page's digest (views.py), and those later steps added (its terms' names and folders,
    its story's address)."""
    if "_own" not in view:
        made = _page_fields(view["_fields"]) if "_fields" in view else frozenset()
        later = {k: v for k, v in view.items()
                 if k not in made and k not in _VIEW_LINKS and not k.startswith("_")}
        later["terms"] = {t: [(term.name, term.folder) for term in terms] for t, terms in view.get("terms", {}).items()}
        view["_own"] = digest(view.get("_page", ""), json.dumps(later, sort_keys=True, default=str))
    return view["_own"]


def search_key(salt: str, view: dict[str, Any]) -> str:
    """What Pagefind reads from an article's page (article.html): the title, the body (or its
    excerpt), the outlet and entity filters; with the salt, the templates and settings."""
    record = [view["title"], view["excerpt"], view["outlet"],
              [[term.name for term in view["terms"][t]] for t in ENTITY_TYPES]]
    return digest(salt, json.dumps(record, sort_keys=True, default=str), view["body_html"])


def view_key(view: dict[str, Any]) -> str:
    """An article as any page may show it: its own fields and, of the articles it links to
    (related, other coverage, newer and older), what a link shows."""
    if "_key" not in view:
        linked = [link_key(r) for r in view.get("related", [])]
        linked += ["story"] + [link_key(r) for r in view.get("coverage", [])]
        linked += [link_key(view[k]) if view.get(k) else "-" for k in ("newer", "older")]
        view["_key"] = digest(own_key(view), *linked)
    return view["_key"]


# What a link to an article shows (article.html's related, other coverage, newer and older),
# and what its card on a term's or a period's listing shows (_card.html): an edit elsewhere in
# the article re-renders neither the pages linking to it nor those listings. The other pages
# (home, stories, editions) key an article by view_key, all it may show.
LINK_FIELDS = ("url", "title", "outlet", "date", "date_human")
CARD_FIELDS = LINK_FIELDS + ("pinned", "note", "lead")
CARD_CHIPS = ("people", "organizations", "places")  # the taxonomies of a card's chips, two of each


def link_key(view: dict[str, Any]) -> str:
    if "_link" not in view:
        view["_link"] = json.dumps([view[k] for k in LINK_FIELDS])
    return view["_link"]


def card_key(view: dict[str, Any]) -> str:
    if "_card" not in view:
        terms = view.get("terms", {})
        chips = [(term.name, term.folder) for t in CARD_CHIPS for term in terms.get(t, [])[:2]]
        view["_card"] = digest(json.dumps([view.get(k) for k in CARD_FIELDS] + [chips], default=str))
    return view["_card"]


# the templates whose articles are shown as cards only (_listing.html), and the feeds, whose
# entries (_entry.xml) show an article's own fields and none of the articles it links to
SHOWN_AS = {"term.html": card_key, "period.html": card_key, "feed.xml": own_key}


def canonical(value: Any, shown: Callable[[dict[str, Any]], str] = view_key) -> str:
    """A template context as a string that changes whenever what it shows may change; SHOWN
    digests an article as the template shows it."""
    if value is None or isinstance(value, (str, int, float)):  # the most frequent: first
        return repr(value)
    if isinstance(value, dict):
        if "slug" in value and "url" in value and "body_html" in value:
            return shown(value)
        return "{" + ",".join(f"{k}:{canonical(v, shown)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v, shown) for v in value) + "]"
    if isinstance(value, Term):
        return f"Term({value.taxonomy},{value.slug},{value.name},{len(value.articles)})"
    if hasattr(value, "declaration"):  # an object that says what of it may be shown (an edition)
        return type(value).__name__ + value.declaration()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__ + canonical(vars(value), shown)
    if callable(value):
        return getattr(value, "__qualname__", "callable")
    return repr(value)


def _render_indices(state: tuple[SiteWriter, list[PageJob]], indices: Sequence[int]) -> list[str]:
    writer, jobs = state
    return render_batch(writer, [jobs[i] for i in indices])


def _render_indices_to_bytes(state: tuple[SiteWriter, list[PageJob]], indices: Sequence[int]) -> list[bytes]:
    writer, jobs = state
    return render_batch_to_bytes(writer, [jobs[i] for i in indices])


def outdated_pages(writer: SiteWriter, planned: list[PageJob]) -> tuple[list[int], dict[str, str], dict[str, str]]:
    """Which planned pages must be rendered, known before anything is rendered or written: those
    whose key (what their template is given) is not the one the folder's copy was made from.

    Returns their indexes, and the path -> digest and path -> key of every templated page.
    """
    outdated: list[int] = []
    manifest: dict[str, str] = {}
    keys: dict[str, str] = {}
    for i, job in enumerate(planned):
        key = keys[job.rel] = page_key(writer, job)
        held = writer.copy_made_from(job.rel, key)
        if held is not None:
            manifest[job.rel] = held
        else:
            outdated.append(i)
    return outdated, manifest, keys


def render_planned(writer: SiteWriter, jobs: int) -> tuple[dict[str, str], dict[str, str]]:
    """Render the outdated pages planned so far, in `jobs` processes when there are many (they
    share the plan by fork); returns path -> digest of every planned file and path -> key."""
    planned, writer.jobs = writer.jobs, []
    texts = [job for job in planned if not job.template]  # files written as they are (robots.txt, e-mails)
    planned = [job for job in planned if job.template]
    outdated, manifest, keys = outdated_pages(writer, planned)
    writer.rendered += len(outdated)
    for job in texts:
        manifest[job.rel] = write_if_changed(writer.site_dir, job.rel, job.context["text"].encode("utf-8"),
                                             writer.previous)
    if distributed():  # on Dask the workers send the pages back and they are written here
        def write(indices: Sequence[int], rendered: list[bytes]) -> list[str]:
            return [write_if_changed(writer.site_dir, planned[i].rel, data, writer.previous)
                    for i, data in zip(indices, rendered)]

        digests = map_batches(_render_indices_to_bytes, outdated, jobs, batch_size=100,
                              shared=(writer, planned), then=write)
    else:
        digests = map_batches(_render_indices, outdated, jobs, batch_size=100, shared=(writer, planned))
    manifest.update((planned[i].rel, d) for i, d in zip(outdated, digests))
    manifest.update(writer.kept)
    keys.update(writer.kept_keys)
    writer.kept, writer.kept_keys = {}, {}
    return manifest, keys


def copy_static(static: Path, site_dir: Path, previous: dict[str, str]) -> dict[str, str]:
    manifest = {}
    if static.is_dir():
        for path in sorted(static.rglob("*")):
            if path.is_file():
                rel = "static/" + path.relative_to(static).as_posix()
                manifest[rel] = write_if_changed(site_dir, rel, path.read_bytes(), previous)
    return manifest
