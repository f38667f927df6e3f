"""How long the search page takes to show results, in a real browser (Debian's Chromium).

    python bench/search_latency.py OUTPUT [--queries 12] [--seed 1]

Serves OUTPUT/site over HTTP, opens search/index.html?q=WORD for words taken from the titles
of OUTPUT/content, and times each until the first result is shown (Pagefind loads the newest
bundle and merges the others first: the cost of the number of search shards). Prints the
median and the slowest, in seconds, and the number of bundles.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import browser, serve

from generator.output.content import read_frontmatter

# the moment the first result is in the page, from the navigation's start (the page's own clock)
SHOWN_AT = """new MutationObserver(function (changes, observer) {
  if (document.querySelector(".pagefind-ui__result")) { window.__shownAt = performance.now(); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});"""


def title_words(content: Path, count: int, seed: int) -> list[str]:
    pages = sorted(content.glob("*.md"))
    rng = random.Random(seed)
    rng.shuffle(pages)
    words: list[str] = []
    for page in pages:  # at most COUNT: a site whose titles hold fewer long words gives fewer
        long = [w for w in re.findall(r"\w+", read_frontmatter(page)["title"]) if len(w) >= 6 and not w.isdigit()]
        if long:
            words.append(rng.choice(long).lower())
            if len(words) == count:
                break
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--queries", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    site = args.output / "site"
    bundles = re.search(r'data-bundles="([^"]*)"', (site / "search" / "index.html").read_text()).group(1).split()
    words = title_words(args.output / "content", args.queries, args.seed)
    if not words:
        raise SystemExit(f"no title word of six letters or more to search for in {args.output / 'content'}")
    times = []
    with serve(site) as base, browser() as b:
        for word in words:
            page = b.new_page()  # a new page: every bundle is loaded and merged again (HTTP cache warm)
            page.add_init_script(SHOWN_AT)
            page.goto(f"{base}/search/index.html?q={word}")
            page.wait_for_function("window.__shownAt !== undefined", timeout=60_000)
            times.append(page.evaluate("window.__shownAt") / 1000)  # from the start of the navigation
            page.close()
    print(json.dumps({"bundles": len(bundles), "queries": len(times), "median_s": round(statistics.median(times), 3),
                      "slowest_s": round(max(times), 3), "runs": [round(t, 3) for t in times]}))


if __name__ == "__main__":
    main()
