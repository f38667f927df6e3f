"""What a press review receives, made from a make_seeds corpus, and a score of a build of it.

    python bench/kinds.py make OUT [--n 1000] [--seed 1]   # OUT/seeds and OUT/kinds-gold.json
    python bench/kinds.py score OUT BUILD                   # figures for a build of OUT/seeds
    python bench/kinds.py feed OUT [--items 5000]           # time the reading of one large feed

`make` runs ../shared/tools/make_seeds.py (--layouts mixed) and repackages a share of its
articles, by its gold, into what editors are sent besides page scrapes: RSS 2.0, Atom and
RSS 1.0 feeds with and without full content, news alerts listing 3-10 articles (.eml, some
in an .mbox), one-article newsletters, copies damaged by mojibake or HTML entities, corrected
republications ("Mis à jour le ..."), and paywall stubs beside a full copy or alone. The text
is the corpus's: bodies are cut out of the scrapes between their gold first and last
sentences. `score` reads only the output contract (build-report.json, content/*.md, the
site's HTML) and prints the figures issue 21 names, then one JSON line.
"""
from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import html
import importlib.util
import json
import mailbox
import random
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252", the cp1252 browsers decode with
import yaml

PROJECT = Path(__file__).resolve().parent.parent
TOOLS = PROJECT.parent / "shared" / "tools"
GOLD_NAME = "kinds-gold.json"
PARIS = dt.timezone(dt.timedelta(hours=2))

# The share of articles given each kind; the rest stay page scrapes. "with_full" kinds keep
# the scrape beside the new copy (they must merge), the others replace it.
KIND_SHARES = {
    "feed_full": 0.12, "feed_excerpt_with_full": 0.08, "feed_excerpt": 0.04,
    "alert": 0.06, "alert_with_full": 0.04, "newsletter": 0.04,
    "mojibake": 0.05, "entities": 0.05, "updated": 0.06,
    "paywall_with_full": 0.04, "paywall": 0.02,
}
EXCERPT_KINDS = {"feed_excerpt", "alert", "paywall"}  # alone: published as an excerpt
MERGE_KINDS = {"feed_excerpt_with_full", "alert_with_full", "paywall_with_full"}


def _expectation(kind: str, others: list[str]) -> str:
    """What the article's page must be: "excerpt", "merged" (an excerpt in a full copy), "updated", "full"."""
    if kind in MERGE_KINDS or kind in EXCERPT_KINDS and others:  # a rescrape or syndicated copy is full
        return "merged"
    return "excerpt" if kind in EXCERPT_KINDS else "updated" if kind == "updated" else "full"
FEED_ITEMS_MAX = 40
ALERT_SIZES = (3, 10)
# what outlets print where the paywall cuts (fr, en)
PAYWALL_LINES = {
    "fr": ["Cet article est réservé aux abonnés. Il vous reste 72% de cet article à lire.",
           "La suite de cet article est réservée aux abonnés.", "Déjà abonné ? Connectez-vous"],
    "en": ["Subscribe to continue reading.", "This article is for subscribers only.",
           "Already a subscriber? Sign in"],
}
# what a wrong decode or an entity-escaping export leaves in a page
DAMAGE = re.compile(r"Ã[\u0080-\u00bf ]|â€|Ã©|Â[\u00a0-\u00bf]|&(?:amp;)*(?:[a-zA-Z]+\d*|#\d+|#x[0-9a-fA-F]+);")
MONTHS_EN = "January February March April May June July August September October November December".split()


# --------------------------------------------------------------------------- damage
def mojibake(text: str, latin1: bool = False) -> str:
    """UTF-8 read as cp1252 (as a browser or Windows does) or as latin-1."""
    return text.encode("utf-8").decode("latin-1" if latin1 else "sloppy-windows-1252")


_NAMED = {v: k for k, v in html.entities.html5.items() if k.endswith(";") and len(v) == 1}


def entities(text: str) -> str:
    """Every non-ASCII character as an entity, named where HTML has a name ("&eacute;"), else numeric."""
    return "".join(c if ord(c) < 128 else f"&{_NAMED[c]}" if c in _NAMED and c != "’" else f"&#{ord(c)};"
                   for c in text)


# --------------------------------------------------------------------------- inputs
def lead(lines: list[str], words: int = 40) -> list[str]:
    """The first lines of a body, about WORDS words: what a feed or an alert gives as a summary."""
    kept: list[str] = []
    for line in lines:
        kept.append(line)
        if len(" ".join(kept).split()) >= words:
            break
    return kept


def as_html(lines: list[str]) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60]


def rss2(channel: str, items: list[dict[str, Any]], full: bool) -> str:
    entries = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['url'])}</link>"
        f"<guid>{escape(i['url'])}</guid><pubDate>{email.utils.format_datetime(i['published'])}</pubDate>"
        f"<description>{escape(' '.join(lead(i['lines'])))}</description>"
        + (f"<content:encoded><![CDATA[{as_html(i['lines'])}]]></content:encoded>" if full else "")
        + "</item>\n" for i in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
            f"<channel><title>{escape(channel)}</title><link>https://{slug(channel)}.example/</link>"
            f"<description>{escape(channel)}</description>\n{entries}</channel></rss>\n")


def atom(channel: str, items: list[dict[str, Any]], full: bool) -> str:
    entries = "".join(
        f'<entry><title>{escape(i["title"])}</title><link rel="alternate" href="{escape(i["url"])}"/>'
        f"<id>{escape(i['url'])}</id><published>{i['published'].isoformat()}</published>"
        f"<updated>{i['published'].isoformat()}</updated>"
        f'<summary type="html">{escape(as_html(lead(i["lines"])))}</summary>'
        + (f'<content type="html">{escape(as_html(i["lines"]))}</content>' if full else "")
        + "</entry>\n" for i in items)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"<title>{escape(channel)}</title><id>urn:feed:{slug(channel)}</id>"
            f"<updated>{items[0]['published'].isoformat()}</updated>\n{entries}</feed>\n")


def rss1(channel: str, items: list[dict[str, Any]], full: bool) -> str:
    """RSS 1.0 (RDF): the full text as plain description (it has no content element)."""
    entries = "".join(
        f'<item rdf:about="{escape(i["url"])}"><title>{escape(i["title"])}</title><link>{escape(i["url"])}</link>'
        f"<dc:date>{i['published'].isoformat()}</dc:date>"
        f"<description>{escape(chr(10).join(i['lines']))}</description></item>\n" for i in items)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
            f'<channel rdf:about="https://{slug(channel)}.example/"><title>{escape(channel)}</title>'
            f"<link>https://{slug(channel)}.example/</link><description>{escape(channel)}</description></channel>\n"
            f"{entries}</rdf:RDF>\n")


def snippet(lines: list[str], words: int = 30) -> str:
    """An alert's snippet: the article's first words, cut as alert services cut them."""
    text = " ".join(lines).split()
    return " ".join(text[:words]) + (" ..." if len(text) > words else "")


def redirect(url: str) -> str:
    return f"https://www.google.com/url?rct=j&sa=t&url={quote(url, safe='')}&ct=ga&cd=CAEY&usg=AOvVaw"


def alert(items: list[dict[str, Any]], sent: dt.datetime, topic: str) -> EmailMessage:
    """A news alert as Google Alerts sends it: HTML with its text version."""
    message = EmailMessage()
    message["From"] = "Google Alertes <googlealerts-noreply@google.com>"
    message["To"] = "redaction@example.org"
    message["Subject"] = f"Alerte Google – {topic}"
    message["Date"] = email.utils.format_datetime(sent)
    message["Message-ID"] = email.utils.make_msgid(domain="google.com")
    text = "\n\n".join(f"{i['title']}\n{i['outlet']}\n{snippet(i['lines'])}\n<{redirect(i['url'])}>"
                       for i in items)
    message.set_content(f"Alertes Google\n\n{topic}\nActualités\n\n{text}\n\n"
                        "Vous avez reçu cet e-mail, car vous êtes abonné aux alertes Google.\n")
    rows = "".join(
        f'<tr><td><a href="{html.escape(redirect(i["url"]))}"><span>{html.escape(i["title"])}</span></a>'
        f'<div style="color:#006621">{html.escape(i["outlet"])}</div>'
        f'<div style="color:#545454">{html.escape(snippet(i["lines"]))}</div></td></tr>'
        '<tr><td><a href="https://www.google.com/alerts/feedback?ffu=1">Signaler comme non pertinent</a></td></tr>'
        for i in items)
    message.add_alternative(
        "<html><head><style>td{font:13px Arial}</style></head><body><table>"
        f"<tr><td><b>Alertes Google</b></td></tr><tr><td>{html.escape(topic)}</td></tr><tr><td>ACTUALITÉS</td></tr>"
        f"{rows}<tr><td>Vous avez reçu cet e-mail, car vous êtes abonné aux alertes Google.</td></tr>"
        '<tr><td><a href="https://www.google.com/alerts/remove?s=x">Se désabonner</a></td></tr></table></body></html>',
        subtype="html")
    return message


def newsletter(item: dict[str, Any]) -> EmailMessage:
    """An outlet's newsletter carrying one article, its title on top."""
    message = EmailMessage()
    message["From"] = f"{item['outlet']} <newsletter@{slug(item['outlet'])}.example>"
    message["To"] = "redaction@example.org"
    message["Subject"] = item["title"]
    message["Date"] = email.utils.format_datetime(item["published"])
    message.set_content("\n\n".join(item["lines"]) + "\n")
    message.add_alternative(
        f"<html><head><title>La lettre de {html.escape(item['outlet'])}</title></head><body>"
        f"<table><tr><td>La lettre de {html.escape(item['outlet'])}</td></tr><tr><td><article>"
        f"<h1>{html.escape(item['title'])}</h1>{as_html(item['lines'])}</article></td></tr>"
        f'<tr><td><a href="{html.escape(item["url"])}">Lire l\'article sur notre site</a></td></tr>'
        '<tr><td><a href="https://example.org/unsubscribe">Se désabonner</a></td></tr></table></body></html>',
        subtype="html")
    return message


def revision_line(day: dt.date, lang: str) -> str:
    if lang == "fr":
        return f"Mis à jour le {day:%d/%m/%Y} à 18h12"
    return f"Updated: {MONTHS_EN[day.month - 1]} {day.day}, {day.year} 6:12 pm"


# --------------------------------------------------------------------------- make
def _articles(seeds: Path, gold: dict[str, Any]) -> list[dict[str, Any]]:
    """Each gold original with its text, its body cut out between the gold first and last sentences."""
    out = []
    for name, g in sorted(gold["files"].items()):
        if g["kind"] != "original" or not (g["title"] and g["outlet"] and g["date"]) or g["lang"] not in PAYWALL_LINES:
            continue  # French and English articles with all their metadata are repackaged
        text = (seeds / name).read_text(encoding="utf-8")
        start, end = text.find(g["first_sentence"]), text.rfind(g["last_sentence"])
        if start < 0 or end < start:
            continue
        end += len(g["last_sentence"])
        lines = [line.strip() for line in text[start:end].splitlines() if line.strip()]
        if any(b in text[start:end] for b in g["boilerplate"]) or g["title"] in lines:
            continue  # the body span is not only body text: leave that scrape as it is
        out.append({"file": name, "cluster": g["cluster"], "title": g["title"], "outlet": g["outlet"],
                    "date": g["date"], "lang": g["lang"], "text": text, "start": start, "end": end,
                    "lines": lines, "first_sentence": g["first_sentence"], "last_sentence": g["last_sentence"]})
    return out


def _published(article: dict[str, Any], rng: random.Random) -> dt.datetime:
    # one in ten at half past midnight in Paris: the day before in UTC, the page keeps the day as published
    hour, minute = (0, 30) if rng.random() < 0.1 else (rng.randint(6, 22), rng.choice((0, 15, 30, 45)))
    return dt.datetime.combine(dt.date.fromisoformat(article["date"]), dt.time(hour, minute), PARIS)


def _assign(articles: list[dict[str, Any]], rng: random.Random) -> None:
    """A kind for each article; the articles of an alert share their day (an alert is sent daily)."""
    order = list(articles)
    rng.shuffle(order)
    alerts = round((KIND_SHARES["alert"] + KIND_SHARES["alert_with_full"]) * len(order))
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for article in order:
        by_day[article["date"]].append(article)
    days = [day for day in sorted(by_day) if len(by_day[day]) >= ALERT_SIZES[0]]
    rng.shuffle(days)
    alerted: list[dict[str, Any]] = []
    for day in days:
        if len(alerted) + ALERT_SIZES[0] > alerts:
            break
        size = min(rng.randint(*ALERT_SIZES), len(by_day[day]), alerts - len(alerted))
        for article in by_day[day][:size]:
            article["alert"] = f"{day}_{len(alerted)}"
            article["kind"] = "alert" if rng.random() < KIND_SHARES["alert"] / (
                KIND_SHARES["alert"] + KIND_SHARES["alert_with_full"]) else "alert_with_full"
            alerted.append(article)
    rest = [a for a in order if "kind" not in a]
    at = 0
    for kind, share in KIND_SHARES.items():
        if kind.startswith("alert"):
            continue
        count = round(share * len(order))
        for article in rest[at:at + count]:
            article["kind"] = kind
        at += count
    for article in rest[at:]:
        article["kind"] = "scrape"


def make(out: Path, n: int, seed: int) -> dict[str, Any]:
    """Write OUT/seeds (a make_seeds corpus, repackaged) and OUT/kinds-gold.json."""
    seeds = out / "seeds"
    subprocess.run([sys.executable, str(TOOLS / "make_seeds.py"), "--n", str(n), "--seed", str(seed),
                    "--layouts", "mixed", "--quiet", "--force", str(seeds)], check=True)
    source_gold = json.loads((out / "seeds-gold.json").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    articles = _articles(seeds, source_gold)
    _assign(articles, rng)
    pool = {lang: [line for a in articles if a["lang"] == lang for line in a["lines"][1:-1] if len(line.split()) > 12]
            for lang in ("fr", "en")}
    others: dict[str, list[str]] = defaultdict(list)  # a cluster's copies besides its original
    for name, g in source_gold["files"].items():
        if g["kind"] not in {"original", "junk"}:
            others[g["cluster"]].append(name)
    inputs: dict[str, list[str | None]] = {}  # file -> the cluster of each of its items (a single-item file: one)
    expected: dict[str, dict[str, Any]] = {}
    feed_items: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
    alert_items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    paywall_lines: set[str] = set()

    for a in articles:
        kind = a["kind"]
        item = {**a, "published": _published(a, rng),
                "url": f"https://{slug(a['outlet'])}.example/{a['date'][:4]}/{slug(a['title'])}-{a['cluster']}"}
        exp = expected[a["cluster"]] = {
            "kind": kind, "title": a["title"], "outlet": a["outlet"], "date": a["date"],
            "first_sentence": a["first_sentence"], "last_sentence": a["last_sentence"],
            "expect": _expectation(kind, others[a["cluster"]]), "files": [a["file"], *others[a["cluster"]]],
            "link": kind.startswith(("feed", "alert"))}  # a scrape may give no address
        if kind in {"feed_full", "feed_excerpt", "alert", "newsletter", "paywall"}:
            (seeds / a["file"]).unlink()  # the scrape is replaced by what was sent
            exp["files"].remove(a["file"])
        if kind.startswith("feed"):
            feed_items[(a["outlet"], kind == "feed_full")].append(item)
        elif kind.startswith("alert"):
            alert_items[a["alert"]].append(item)
        elif kind == "newsletter":
            name = f"lettre_{a['cluster']}.eml"
            (seeds / name).write_bytes(bytes(newsletter(item)))
            inputs[name] = [a["cluster"]]
            exp["files"].append(name)
        elif kind in {"mojibake", "entities"}:
            if kind == "mojibake":
                damaged = mojibake(a["text"], latin1=rng.random() < 0.3)
                damaged = mojibake(damaged) if rng.random() < 0.25 else damaged  # decoded wrong twice
            else:
                damaged = entities(a["text"])
                if rng.random() < 0.5:  # an export that left its line breaks as tags
                    damaged = damaged.replace("\n", "<br />\n")
            (seeds / a["file"]).write_text(damaged, encoding="utf-8")
        elif kind == "updated":
            revised = dt.date.fromisoformat(a["date"]) + dt.timedelta(days=rng.randint(1, 3))
            lines = list(a["lines"])
            # a short passage taken out (a correction), when there is one in the middle
            words = sum(len(line.split()) for line in lines)
            middle = [i for i in range(1, len(lines) - 1) if 8 <= len(lines[i].split()) <= 0.15 * words]
            dropped = lines.pop(min(middle, key=lambda i: (len(lines[i]), i))) if middle else None
            added = rng.choice([line for line in pool[a["lang"]] if line not in a["lines"]  # and a paragraph added
                                and not (dropped and dropped in line)] or [a["title"]])
            lines.insert(max(len(lines) - 1, 0), added)  # before the last: the gold last sentence stays last
            sep = "\n\n" if "\n\n" in a["text"][a["start"]:a["end"]] else "\n"
            name = a["file"].replace(".txt", "_maj.txt")
            (seeds / name).write_text(a["text"][:a["start"]] + revision_line(revised, a["lang"]) + "\n\n"
                                      + sep.join(lines) + a["text"][a["end"]:], encoding="utf-8")
            exp.update(files=[a["file"], name], updated=revised.isoformat(), newest=added, dropped=dropped)
            inputs[name] = [a["cluster"]]
        elif kind.startswith("paywall"):
            cut = rng.choice(PAYWALL_LINES[a["lang"]][:2])
            stub_lines = lead(a["lines"], 35) + [cut, PAYWALL_LINES[a["lang"]][2]]
            paywall_lines.update((cut, PAYWALL_LINES[a["lang"]][2]))
            name = a["file"].replace(".txt", "_abonnes.txt")
            (seeds / name).write_text(a["text"][:a["start"]] + "\n".join(stub_lines) + a["text"][a["end"]:],
                                      encoding="utf-8")
            exp["files"].append(name)
            exp["lead"] = stub_lines[0]
            inputs[name] = [a["cluster"]]
        if kind not in {"feed_full", "feed_excerpt", "alert", "newsletter", "paywall"}:
            inputs.setdefault(a["file"], [a["cluster"]])

    writers = (rss2, atom, rss1)
    for (outlet, full), items in sorted(feed_items.items()):
        for part in range(0, len(items), FEED_ITEMS_MAX):
            chunk = items[part:part + FEED_ITEMS_MAX]
            writer = rng.choice(writers if full else writers[:2])  # RSS 1.0 has no summary beside the text
            name = f"flux_{slug(outlet)}_{'complet' if full else 'extraits'}_{part // FEED_ITEMS_MAX}.xml"
            (seeds / name).write_text(writer(outlet, chunk, full), encoding="utf-8")
            inputs[name] = [i["cluster"] for i in chunk]
            for i in chunk:
                expected[i["cluster"]]["files"].append(name)

    messages = []
    for key, chunk in sorted(alert_items.items()):
        day = dt.date.fromisoformat(key.split("_")[0])
        sent = dt.datetime.combine(day, dt.time(rng.choice((0, 7, 19)), 30), PARIS)
        messages.append((f"alerte_{key}", alert(chunk, sent, "actualité"), chunk))
    box = mailbox.mbox(str(seeds / "alertes.mbox"))
    for index, (name, message, chunk) in enumerate(messages):
        if index % 3 == 0:  # one alert in three arrives in a mailbox export
            box.add(message)
            inputs.setdefault("alertes.mbox", []).extend(i["cluster"] for i in chunk)
            files = "alertes.mbox"
        else:
            (seeds / f"{name}.eml").write_bytes(bytes(message))
            inputs[f"{name}.eml"] = [i["cluster"] for i in chunk]
            files = f"{name}.eml"
        for i in chunk:
            expected[i["cluster"]]["files"].append(files)
    box.close()
    if not messages:
        (seeds / "alertes.mbox").unlink()

    for name, g in source_gold["files"].items():  # the files left as make_seeds wrote them
        if (seeds / name).exists():
            inputs.setdefault(name, [g["cluster"]])
    gold = {"format": "news-digest-kinds/1", "seed": seed, "n": n, "kinds": Counter(a["kind"] for a in articles),
            "source_gold": source_gold["files"], "inputs": inputs, "articles": expected,
            "paywall_lines": sorted(paywall_lines)}
    (out / GOLD_NAME).write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")
    return gold


def read_big_feed(out: Path, items: int, seed: int) -> dict[str, Any]:
    """Write OUT/feed/flux.xml, one RSS 2.0 feed of ITEMS full-text items (make_seeds articles,
    again under new addresses when there are fewer), and time the reading of it."""
    import resource

    from generator.ingest.dispatch import read_file

    seeds = out / "source"
    subprocess.run([sys.executable, str(TOOLS / "make_seeds.py"), "--n", str(min(items, 1000)), "--seed",
                    str(seed), "--layouts", "mixed", "--quiet", "--force", str(seeds)], check=True)
    articles = _articles(seeds, json.loads((out / "source-gold.json").read_text(encoding="utf-8")))
    rng = random.Random(seed)
    entries = [{**a, "title": f"{a['title']} ({i})", "url": f"https://flux.example/{i}", "published": _published(a, rng)}
               for i, a in zip(range(items), (articles[i % len(articles)] for i in range(items)))]
    feed = out / "feed"
    feed.mkdir(parents=True, exist_ok=True)
    (feed / "flux.xml").write_text(rss2("Le Flux", entries, full=True), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    docs = read_file(feed, "flux.xml", 1 << 30)
    return {"items": items, "mb": round((feed / "flux.xml").stat().st_size / 1e6, 1),
            "documents": len(docs), "seconds": round(time.perf_counter() - start, 2),
            "peak_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)}


# --------------------------------------------------------------------------- score
def _score_build_module() -> Any:
    spec = importlib.util.spec_from_file_location("score_build", TOOLS / "score_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages(build: Path) -> list[tuple[dict[str, Any], str]]:
    pages = []
    for path in sorted((build / "content").glob("*.md")):
        _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
        pages.append((yaml.safe_load(front), body))
    return pages


def score(out: Path, build: Path) -> dict[str, Any]:
    """The figures of issue 21 for a build of OUT/seeds into BUILD."""
    sb = _score_build_module()
    gold = json.loads((out / GOLD_NAME).read_text(encoding="utf-8"))
    report = json.loads((build / "build-report.json").read_text(encoding="utf-8"))
    figures: dict[str, Any] = {}

    # every file, and every item of a feed or an alert, accounted for once, by its position
    rows = Counter(r["file"] for r in report["inputs"])
    records = {r["file"]: [x["record"] for x in r.get("records", [])] for r in report["inputs"]}
    unaccounted = []
    for name, clusters in gold["inputs"].items():
        positions = records.get(name) or [0]  # a file of one document has no positions
        ok = rows[name] == 1 and positions == list(range(len(clusters)))
        if not ok:
            unaccounted.append(name)
    figures["inputs"] = len(gold["inputs"])
    figures["items"] = sum(len(c) for c in gold["inputs"].values())
    figures["inputs_accounted"] = 1 - len(unaccounted) / len(gold["inputs"])

    def cluster_of(src: dict[str, Any]) -> str | None:
        clusters = gold["inputs"].get(src["file"]) or [None]
        record = src.get("record")
        return clusters[record] if record is not None and record < len(clusters) else clusters[0]

    pages = _pages(build)
    by_cluster: dict[str, list[tuple[dict[str, Any], str]]] = defaultdict(list)
    for fm, body in pages:
        majority = Counter(cluster_of(s) for s in fm["sources"]).most_common(1)[0][0]
        if majority in gold["articles"]:
            by_cluster[majority].append((fm, body))
    # a page may take its title, outlet and date from any copy of its article
    accepted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for g in list(gold["source_gold"].values()) + [{"cluster": c, **e} for c, e in gold["articles"].items()]:
        for key, normal in (("title", sb.norm_text), ("outlet", sb.norm_outlet), ("date", str)):
            if g.get(key):
                accepted[g["cluster"]][key].add(normal(g[key]))

    spans = defaultdict(set)  # the first and last sentences of each copy: the page shows one copy whole
    for g in gold["source_gold"].values():
        spans[g["cluster"]].add((g["first_sentence"], g["last_sentence"]))

    checks: dict[str, list[bool]] = defaultdict(list)
    per_kind: dict[str, list[bool]] = defaultdict(list)
    failures: list[str] = []
    for cluster, exp in gold["articles"].items():
        found = by_cluster.get(cluster, [])
        problems: list[str] = []  # of the title, outlet and date
        shape = [] if found else ["no page"]  # of the page against what the article was sent as
        if found:
            fm, body = found[0]
            flat = sb.norm_body(body)
            fields = {"title": sb.norm_text(fm["title"] or ""), "outlet": sb.norm_outlet(fm.get("outlet") or ""),
                      "date": str(fm.get("date"))}
            for key, value in fields.items():
                checks[key].append(value in accepted[cluster][key])
                if not checks[key][-1]:
                    problems.append(f"{key} {value!r}")
            missing = set(exp["files"]) - {s["file"] for s in fm["sources"]}
            if len(found) > 1 or missing:
                shape.append(f"{len(found)} pages, not on this one: {sorted(missing)}")
            complete = any(sb.norm_body(first) in flat and sb.norm_body(last) in flat for first, last in spans[cluster])
            if exp["expect"] == "excerpt":
                if not fm.get("excerpt"):
                    shape.append("not an excerpt")
                if exp["link"] and not any(s.get("url") for s in fm["sources"]):
                    shape.append("no link to the source")
            elif not complete:
                shape.append("body incomplete")
            elif fm.get("excerpt"):  # the whole text under the excerpt label ("Extrait :")
                shape.append("published as an excerpt beside a full copy" if exp["expect"] == "merged"
                             else "the whole text published as an excerpt")
            if exp["expect"] == "updated":
                if str(fm.get("updated")) != exp["updated"]:
                    shape.append(f"updated {fm.get('updated')!r}")
                if sb.norm_body(exp["newest"]) not in flat or exp["dropped"] and sb.norm_body(exp["dropped"]) in flat:
                    shape.append("not the newest text")
                if re.search(r"mis à jour|updated:", body, re.I):
                    shape.append("the revision line in the body")
        checks[exp["expect"]].append(not shape)
        per_kind[exp["kind"]].append(not problems + shape)
        if problems + shape:
            slug = found[0][0]["slug"] if found else "-"
            failures.append(f"{cluster} {exp['kind']} {slug}: {'; '.join(problems + shape)}")

    damaged_pages = [str(p.relative_to(build)) for p in sorted((build / "site").rglob("*.html"))
                     if DAMAGE.search(html.unescape(re.sub(r"<[^>]+>", " ", p.read_text(encoding="utf-8"))))]
    damaged_pages += [f"content/{fm['slug']}.md" for fm, body in pages
                      if DAMAGE.search(fm["title"] or "") or DAMAGE.search(body)]
    paywall = [sb.norm_body(line) for line in gold["paywall_lines"]]
    figures.update({name: sum(v) / len(v) for name, v in sorted(checks.items()) if v})
    figures["damaged_pages"] = len(damaged_pages)
    figures["damaged_examples"] = damaged_pages[:5]
    figures["paywall_lines_in_bodies"] = sum(any(line in sb.norm_body(body) for line in paywall) for _, body in pages)
    figures["per_kind"] = {kind: f"{sum(v)}/{len(v)}" for kind, v in sorted(per_kind.items())}
    figures["unaccounted"] = unaccounted[:10]
    figures["failures"] = failures
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="write OUT/seeds and OUT/kinds-gold.json")
    m.add_argument("out", type=Path)
    m.add_argument("--n", type=int, default=1000, help="distinct articles (default 1000)")
    m.add_argument("--seed", type=int, default=1)
    f = sub.add_parser("feed", help="time the reading of one large feed, written to OUT/feed")
    f.add_argument("out", type=Path)
    f.add_argument("--items", type=int, default=5000)
    f.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("score", help="score a build of OUT/seeds")
    s.add_argument("out", type=Path)
    s.add_argument("build", type=Path, help="the build's output folder")
    args = parser.parse_args(argv)
    if args.command == "make":
        gold = make(args.out, args.n, args.seed)
        print(f"{len(gold['inputs'])} files, {sum(len(c) for c in gold['inputs'].values())} items: "
              + ", ".join(f"{k} {v}" for k, v in sorted(gold["kinds"].items())))
        return 0
    if args.command == "feed":
        print(json.dumps(read_big_feed(args.out, args.items, args.seed)))
        return 0
    figures = score(args.out, args.build)
    for name, value in figures.items():
        print(f"{name:28} {value:.4f}" if isinstance(value, float) else f"{name:28} {value}")
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
