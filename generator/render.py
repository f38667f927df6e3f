"""output/site/: HTML pages rendered from output/content/ alone.

This is the minimal site (home page and one page per article); the site issue grows it.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import markdown
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .content import read_content

UI = {
    "fr": {"home": "Accueil", "articles": "articles", "also_published_by": "Également publié par",
           "sources": "Sources", "no_date": "date inconnue", "lang": "fr"},
    "en": {"home": "Home", "articles": "articles", "also_published_by": "Also published by",
           "sources": "Sources", "no_date": "unknown date", "lang": "en"},
}


def markdown_to_html(text: str) -> str:
    """Markdown to HTML with raw HTML, entities and autolinks treated as plain text.

    Scraped text is untrusted: python-markdown passes raw HTML through by default.
    """
    md = markdown.Markdown(extensions=[], output_format="html")
    md.preprocessors.deregister("html_block")
    for pattern in ("html", "entity", "automail", "autolink"):
        md.inlinePatterns.deregister(pattern)
    return md.convert(text)


def _environment(templates: Path) -> Environment:
    return Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render_site(content_dir: Path, site_dir: Path, templates: Path, static: Path,
                config: dict[str, Any]) -> int:
    """Write the site; returns the number of HTML pages written."""
    env = _environment(templates)
    pages = read_content(content_dir)
    pages.sort(key=lambda p: (p[0].get("date") or "", p[0]["slug"]), reverse=True)
    common = {"site": config, "ui": UI[config["language"]]}
    site_dir.mkdir(parents=True, exist_ok=True)
    if static.is_dir():
        shutil.copytree(static, site_dir / "static", dirs_exist_ok=True)
    articles = [fm for fm, _ in pages]
    (site_dir / "index.html").write_text(
        env.get_template("index.html").render(articles=articles, root="", **common), encoding="utf-8")
    for fm, body in pages:
        folder = site_dir / "articles" / fm["slug"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(
            env.get_template("article.html").render(article=fm, body_html=markdown_to_html(body),
                                                     root="../../", **common), encoding="utf-8")
    return len(pages) + 1
