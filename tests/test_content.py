"""Markdown pages: scraped text survives the trip to Markdown and HTML exactly as typed."""
from __future__ import annotations

import html
import re

import yaml
from hypothesis import given, settings, strategies as st

from generator.corpus.permalinks import base_slug
from generator.output.content import escape_markdown, frontmatter, render_markdown
from generator.core.model import Article
from generator.site.views import markdown_to_html

# one line of scraped text: printable characters, no line breaks, no leading/trailing blanks
LINE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=120) \
    .map(lambda s: " ".join(s.split())).filter(bool)


def shown(text: str) -> str:
    """What a browser shows for the HTML of one paragraph."""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


@settings(max_examples=400, deadline=None)
@given(LINE)
def test_any_line_is_shown_exactly_as_typed(line: str) -> None:
    assert " ".join(shown(markdown_to_html(escape_markdown(line))).split()) == line


@settings(max_examples=200, deadline=None)
@given(LINE, st.lists(LINE, max_size=4))
def test_frontmatter_round_trips_any_title_and_entity(title: str, names: list[str]) -> None:
    art = Article(slug="s", title=title, title_derived=False, outlet=names[0] if names else None,
                  date="2020-01-02", lang="fr", lines=["corps"], members=[],
                  entities={"people": names, "organizations": [], "places": []})
    _, head, _ = render_markdown(art).split("---\n", 2)
    assert yaml.safe_load(head) == frontmatter(art)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_slugs_are_always_safe(title: str) -> None:
    slug = base_slug(title)
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) and len(slug) <= 80
