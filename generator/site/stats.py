"""stats/index.html: the digest in numbers, with charts drawn at build time as static SVG (pygal).

Each chart is an <img> of an SVG file beside the page, with a text alternative, and the same
numbers as a table. Counts are of articles (pages): an entity is counted once per article
that names it, as its term page lists them; an outlet's share is of the articles it first
published (the frontmatter `outlet`); weeks are ISO weeks; undated articles count nowhere
in time.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import re
from collections import Counter
from typing import Any

from ..core.model import ENTITY_TYPES
from ..core.store import digest
from .taxonomies import term_folder

TOP = 10
OUTLET_SLICES = 9  # the rest of the outlets are one "other outlets" slice
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DAY_DRAWN = re.compile(r"(<!--Generated with pygal[^>]*?) on \d{4}-\d{2}-\d{2}-->")


def week_of(iso: str) -> str:
    year, week, _ = dt.date.fromisoformat(iso).isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> dt.date:
    return dt.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def compute_stats(views: list[dict[str, Any]]) -> dict[str, Any]:
    """Every number the statistics page shows, from the article views."""
    weeks = Counter(week_of(v["date"]) for v in views if v["date"])
    timeline: list[tuple[str, int]] = []
    if weeks:
        monday, last = week_monday(min(weeks)), week_monday(max(weeks))
        while monday <= last:  # every week from the first to the last, empty ones too
            key = week_of(monday.isoformat())
            timeline.append((key, weeks.get(key, 0)))
            monday += dt.timedelta(days=7)
    outlets = Counter(v["outlet"] for v in views if v["outlet"])
    mentions: dict[str, Counter[tuple[str, str]]] = {t: Counter() for t in ENTITY_TYPES}
    names: dict[tuple[str, str], str] = {}
    pairs: Counter[tuple[tuple[str, str], tuple[str, str]]] = Counter()
    for view in views:
        for taxonomy in ENTITY_TYPES:
            for term in view["terms"][taxonomy]:
                names[(taxonomy, term.slug)] = term.name
                mentions[taxonomy][(taxonomy, term.slug)] += 1
    for view in views:
        # a pair is shown only when named together twice or more, so an entity of a single
        # article can be left out: this keeps the count small on a large corpus
        keys = {(t, term.slug) for t in ENTITY_TYPES for term in view["terms"][t]
                if mentions[t][(t, term.slug)] > 1}
        pairs.update(itertools.combinations(sorted(keys), 2))

    def top(counter: Counter[Any], n: int) -> list[tuple[Any, int]]:
        # a selection, not a sort: 100 new articles at 10,000 meet millions of pairs (2.3 s sorted)
        return heapq.nsmallest(n, counter.items(), key=lambda kv: (-kv[1], kv[0]))

    return {
        "articles": len(views), "dated": sum(weeks.values()), "undated": len(views) - sum(weeks.values()),
        "weeks": timeline, "weeks_with_articles": sorted(weeks.items()),
        "outlets": sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0])),
        "with_outlet": sum(outlets.values()),
        "entities": {t: [{"name": names[k], "url": term_folder(*k) + "index.html", "count": n}
                         for k, n in top(mentions[t], TOP)] for t in ENTITY_TYPES},
        "pairs": [{"a": names[a], "a_url": term_folder(*a) + "index.html", "b": names[b],
                   "b_url": term_folder(*b) + "index.html", "count": n}
                  for (a, b), n in top(pairs, TOP) if n > 1],
    }


def _style() -> Any:
    from pygal.style import Style

    return Style(background="white", plot_background="white", foreground="#1f2328",
                 foreground_strong="#1f2328", foreground_subtle="#57606a",
                 colors=("#1f5fa8", "#b3541e", "#2e7d32", "#6a1b9a", "#ad1457", "#00695c",
                         "#5d4037", "#455a64", "#9e7c0c", "#8a8f98"),
                 font_family="system-ui, sans-serif", label_font_size=12, major_label_font_size=12,
                 value_font_size=11, legend_font_size=12, tooltip_font_size=12)


def _svg(chart: Any, name: str) -> str:
    """The chart's SVG text, static: pygal always adds a <script> of its settings for its
    tooltips; a chart shown as an <img> runs none, so it is dropped. pygal also names each
    chart by a random uuid and credits itself with the day it drew the chart: a fixed id and
    no day keep two builds byte-identical, on any day."""
    svg = _UUID.sub(name, chart.render(is_unicode=True))
    return _SCRIPT.sub("", _DAY_DRAWN.sub(r"\1-->", svg))


def draw_charts(stats: dict[str, Any], translate: Any) -> dict[str, str]:
    """File name -> SVG text of each chart."""
    import pygal

    common = dict(style=_style(), js=[], disable_xml_declaration=False, explicit_size=True,
                  show_legend=False, print_values=False, margin=12)
    svgs: dict[str, str] = {}
    if stats["weeks"]:
        chart = pygal.Bar(width=900, height=320, x_label_rotation=30, show_minor_x_labels=False,
                          x_labels_major_count=min(12, len(stats["weeks"])), **common)
        chart.x_labels = [w for w, _ in stats["weeks"]]
        chart.add(translate("stats_articles"), [n for _, n in stats["weeks"]])
        svgs["weeks.svg"] = _svg(chart, "weeks")
    if stats["outlets"]:
        chart = pygal.Pie(width=900, height=380, inner_radius=0.45, truncate_legend=-1,
                          **{**common, "show_legend": True})
        slices = stats["outlets"][:OUTLET_SLICES]
        rest = sum(n for _, n in stats["outlets"][OUTLET_SLICES:])
        for outlet, n in slices:
            chart.add(f"{outlet} ({n})", n)
        if rest:
            chart.add(f"{translate('stats_other_outlets')} ({rest})", rest)
        svgs["outlets.svg"] = _svg(chart, "outlets")
    for taxonomy in ENTITY_TYPES:
        rows = stats["entities"][taxonomy]
        if rows:
            svgs[f"{taxonomy}.svg"] = _svg(_bars([(r["name"], r["count"]) for r in rows], translate), taxonomy)
    if stats["pairs"]:
        svgs["pairs.svg"] = _svg(_bars([(f"{p['a']} + {p['b']}", p["count"]) for p in stats["pairs"]], translate),
                                 "pairs")
    return svgs


def _bars(rows: list[tuple[str, int]], translate: Any) -> Any:
    import pygal

    chart = pygal.HorizontalBar(width=900, height=60 + 30 * len(rows), style=_style(), js=[],
                                explicit_size=True, show_legend=False, print_values=True,
                                truncate_label=-1, margin=12)
    chart.x_labels = [label for label, _ in reversed(rows)]  # largest at the top
    chart.add(translate("stats_articles"), [n for _, n in reversed(rows)])
    return chart


def describe(stats: dict[str, Any], translate: Any) -> dict[str, str]:
    """The text alternative of each chart: what it shows and its main numbers."""
    def listing(rows: list[tuple[str, int]]) -> str:
        return "; ".join(f"{name}: {n}" for name, n in rows)

    alts = {}
    if stats["weeks"]:
        busiest = max(stats["weeks"], key=lambda wn: (wn[1], wn[0]))
        alts["weeks.svg"] = translate("stats_alt_weeks", first=stats["weeks"][0][0], last=stats["weeks"][-1][0],
                                      n=len(stats["weeks"]), busiest=busiest[0], most=busiest[1])
    if stats["outlets"]:
        alts["outlets.svg"] = translate("stats_alt_outlets", n=len(stats["outlets"]),
                                        top=listing(stats["outlets"][:OUTLET_SLICES]))
    for taxonomy in ENTITY_TYPES:
        rows = stats["entities"][taxonomy]
        if rows:
            alts[f"{taxonomy}.svg"] = translate("stats_alt_top", what=translate(taxonomy),
                                                top=listing([(r["name"], r["count"]) for r in rows]))
    if stats["pairs"]:
        alts["pairs.svg"] = translate("stats_alt_pairs",
                                      top=listing([(f"{p['a']} + {p['b']}", p["count"]) for p in stats["pairs"]]))
    return alts


def write_statistics(writer: Any, views: list[dict[str, Any]]) -> None:
    """stats/index.html and its SVG charts, planned only when what they count changed."""
    writer.family("stats/", stats_declaration(views), lambda: plan_statistics(writer, views))


def stats_declaration(views: list[dict[str, Any]]) -> str:
    """What compute_stats() reads: each article's date, outlet and entity terms."""
    return digest(*(f"{v['date']}\t{v['outlet']}\t" + "\t".join(
        f"{t}:{term.slug}:{term.name}" for t in ENTITY_TYPES for term in v["terms"][t]) for v in views))


def plan_statistics(writer: Any, views: list[dict[str, Any]]) -> None:
    stats = compute_stats(views)
    for name, svg in draw_charts(stats, writer.translate).items():
        writer.write_text(f"stats/{name}", svg)
    from babel.dates import format_date

    language = writer.config["language"]
    writer.write("stats.html", "stats/index.html", stats=stats, alts=describe(stats, writer.translate),
                 week_start=lambda week: format_date(week_monday(week), format="long", locale=language))
