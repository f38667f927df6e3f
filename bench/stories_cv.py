"""Stories judged against people's ratings, by cross-validation (issue 25's protocol).

    python bench/stories_cv.py [--work DIR]     # prints the out-of-fold figures, then one JSON line

The rated pairs are the French SemEval-2022 Task 8 training pairs with a text for both
articles (../shared/corpus: semeval_fr_full's full texts, else the task's own cut texts).
Their articles are built as one folder among a background of other real articles (Mosaïque
FM's and fundus's, dated into the same weeks so that they compete as candidates), twice: with
full texts, and with every body cut to its first CUT_WORDS words, as leads and excerpts are.

The pairs are split into FOLDS fixed folds (by a hash of the pair id). For each fold one
threshold is chosen on the other folds' pairs of both folders (the best balance of "rated the
same story: together" and "rated different: apart", a wrong merge counting APART_WEIGHT
missed ones), both folders are grouped with it, and the held-out fold's pairs are judged by
the stories they land in. The figures are pooled over the folds: out of fold, nothing of a
pair decides its own verdict.
Pearson is of the similarity with the "overall" rating (1 = same story ... 4 = unrelated;
reported as a positive agreement).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT.parent / "shared" / "corpus"
sys.path.insert(0, str(PROJECT))

from generator.core.settings import load_config
from generator.core.versions import stage_version
from generator.corpus.stories import StoryInput, cluster_stories, pair_similarity
from generator.output.content import read_content

FOLDS = 5
CUT_WORDS = 80
SAME, APART = 1.5, 3.0  # ratings: <= SAME is one story, >= APART is not
APART_WEIGHT = 3.0  # a wrong merge shows two events as one: worse than a missed one
THRESHOLDS = np.round(np.arange(0.10, 0.70, 0.01), 2)


@dataclass
class Pair:
    pair_id: str
    a: str  # article ids
    b: str
    overall: float

    @property
    def fold(self) -> int:
        return int(hashlib.sha256(self.pair_id.encode()).hexdigest(), 16) % FOLDS


def rated_pairs() -> list[Pair]:
    """The French training pairs (1 = same story ... 4 = unrelated), one per pair id."""
    rows: dict[str, dict[str, str]] = {}
    with (CORPUS / "semeval_fr_full" / "pairs.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["pair_id"]] = row
    with (CORPUS / "semeval_fr" / "pairs_french.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "train" and row["lang1"] == row["lang2"] == "fr":
                rows.setdefault(row["pair_id"], row)
    return [Pair(r["pair_id"], r["article_id1"], r["article_id2"], float(r["overall"])) for r in rows.values()]


def semeval_records() -> dict[str, dict[str, Any]]:
    """Article id -> seed record: the full text of semeval_fr_full, else the task's cut text."""
    records = {}
    for line in (CORPUS / "semeval_fr_full" / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        records[r["article_id"]] = {"title": r["title"], "text": r["text"], "outlet": r["outlet_name"],
                                    "date": r["date"] or r.get("date_approx") or None, "url": r["url"]}
    with (CORPUS / "semeval_fr" / "pairs_french.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for k in ("1", "2"):
                aid, text = row[f"article_id{k}"], row[f"hfl_text{k}"].strip()
                if row["lang1"] == row["lang2"] == "fr" and text and aid not in records:
                    title, _, body = text.partition("  ")  # the task's texts: title, two spaces, body
                    records[aid] = {"title": title if body else None, "text": body or text,
                                    "outlet": row[f"outlet{k}"], "url": row[f"url{k}"]}
    return records


def background_records(dates: list[str], seed: int = 25) -> list[dict[str, Any]]:
    """Other real articles (Mosaïque FM, fundus), each given a date of the rated articles'
    weeks so that they are candidates beside them."""
    csv.field_size_limit(10**9)
    out, seen = [], set()
    with (CORPUS / "mosaiquefm" / "MosaiqueFM_v0.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["url"] not in seen and len(row["Article"].split()) > 40:
                seen.add(row["url"])
                out.append({"title": row["Titre"], "text": row["Article"], "outlet": "Mosaïque FM", "url": row["url"]})
    for line in (CORPUS / "fundus" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        paragraphs = [p for s in r["body"]["sections"] for p in s.get("paragraphs", [])]
        body = "\n\n".join(r["body"].get("summary", []) + paragraphs)
        if len(body.split()) > 40:
            out.append({"title": r["title"], "text": body, "outlet": r["publisher"], "url": r["url"]})
    rng = random.Random(seed)
    for record in out:
        record["date"] = rng.choice(dates)
    return out


def cut(text: str, words: int) -> str:
    """The first WORDS words of a body, its paragraphs kept."""
    kept, left = [], words
    for paragraph in text.split("\n\n"):
        if left <= 0:
            break
        tokens = paragraph.split()
        kept.append(" ".join(tokens[:left]))
        left -= len(tokens)
    return "\n\n".join(kept)


def build(records: dict[str, dict[str, Any]], work: Path) -> Path:
    """Build RECORDS (file stem -> record) as one folder under WORK, once per set of texts and
    version of the package; returns the build's output folder."""
    key = hashlib.sha256((stage_version("build") + json.dumps(records, sort_keys=True)).encode()).hexdigest()[:12]
    folder = work / key
    out = folder / "out"
    if not (out / "build-report.json").exists():
        seeds = folder / "seeds"
        seeds.mkdir(parents=True, exist_ok=True)
        for stem, record in records.items():
            (seeds / f"{stem}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "generator", "--seeds", str(seeds), "--output", str(out), "--quiet",
                        "--config", str(PROJECT / "site.yaml")],
                       cwd=folder, check=True, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    return out


def choose_threshold(same: np.ndarray, apart: np.ndarray) -> float:
    """The threshold that best keeps SAME-rated pairs together and APART-rated ones apart (a
    wrong merge counting APART_WEIGHT times a missed one); of the thresholds as good as the
    best, the middle one, so that it does not sit on one pair's score."""
    value = [np.mean(same >= t) + APART_WEIGHT * np.mean(apart < t) for t in THRESHOLDS]
    best = [t for t, v in zip(THRESHOLDS, value) if v == max(value)]
    return float(best[len(best) // 2])


@dataclass
class Folder:
    """One built folder as the stage sees it, and the rated pairs' similarities in it."""

    out: Path  # the build's output folder
    items: list[StoryInput]
    slug_of: dict[str, str]  # article id -> slug of its page
    pairs: list[Pair]
    similarity: np.ndarray  # the stage's similarity of each pair
    windowed: np.ndarray  # the same, 0 for two dated articles further apart than the window


def prepare(out: Path, pairs: list[Pair], settings: dict[str, Any]) -> Folder:
    pages = [(fm, body) for fm, body, _ in read_content(out / "content")]
    page_of = {src["file"].removesuffix(".json"): fm for fm, _ in pages for src in fm["sources"]}
    items = [StoryInput(fm["slug"], fm["title"], fm["lang"], fm["date"], fm["entities"], body) for fm, body in pages]
    index = {it.slug: i for i, it in enumerate(items)}
    pairs = [p for p in pairs if p.a in page_of and p.b in page_of and page_of[p.a]["slug"] != page_of[p.b]["slug"]]
    ends = [(items[index[page_of[p.a]["slug"]]], items[index[page_of[p.b]["slug"]]]) for p in pairs]
    similarity = pair_similarity(items, [(index[a.slug], index[b.slug]) for a, b in ends])
    gaps = [abs(dt.date.fromisoformat(a.date).toordinal() - dt.date.fromisoformat(b.date).toordinal())
            if a.date and b.date else 0 for a, b in ends]
    windowed = np.where(np.array(gaps) <= settings["window_days"], similarity, 0.0)
    return Folder(out, items, {aid: fm["slug"] for aid, fm in page_of.items()}, pairs, similarity, windowed)


def cross_validate(folders: dict[str, Folder], settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Out-of-fold figures of each folder. One threshold per fold serves every folder, as the
    shipped default serves full texts and leads alike: it is chosen on the other folds' pairs
    of all the folders together."""
    ratings = {name: np.array([p.overall for p in f.pairs]) for name, f in folders.items()}
    held = {name: np.array([p.fold for p in f.pairs]) for name, f in folders.items()}
    together = {name: np.zeros(len(f.pairs), dtype=bool) for name, f in folders.items()}
    chosen = []
    for fold in range(FOLDS):
        train = {name: held[name] != fold for name in folders}
        best = choose_threshold(
            np.concatenate([f.windowed[train[n] & (ratings[n] <= SAME)] for n, f in folders.items()]),
            np.concatenate([f.windowed[train[n] & (ratings[n] >= APART)] for n, f in folders.items()]))
        chosen.append(best)
        for name, f in folders.items():
            story_of = {slug: s.slug for s in cluster_stories(f.items, {**settings, "threshold": best})
                        for slug in s.members}
            for k in np.flatnonzero(~train[name]):
                p = f.pairs[k]
                together[name][k] = story_of[f.slug_of[p.a]] == story_of[f.slug_of[p.b]]
    results = {}
    for name, f in folders.items():
        same, apart, t = ratings[name] <= SAME, ratings[name] >= APART, together[name]
        results[name] = {
            "pairs": len(f.pairs), "same": int(same.sum()), "apart_rated": int(apart.sum()),
            "together": round(float(t[same].mean()), 3), "together_n": int(t[same].sum()),
            "apart": round(float((~t[apart]).mean()), 3), "apart_n": int((~t[apart]).sum()),
            "pearson": round(float(-np.corrcoef(ratings[name], f.similarity)[0, 1]), 3), "thresholds": chosen,
            "missed": [(p.pair_id, p.overall, round(float(s), 3)) for p, s, k in zip(f.pairs, f.similarity, t)
                       if p.overall <= SAME and not k],
            "merged": [(p.pair_id, p.overall, round(float(s), 3)) for p, s, k in zip(f.pairs, f.similarity, t)
                       if p.overall >= APART and k]}
    return results


def all_pairs_threshold(folders: dict[str, Folder]) -> float:
    """The threshold the protocol chooses on every pair: the shipped default's candidate."""
    ratings = {name: np.array([p.overall for p in f.pairs]) for name, f in folders.items()}
    return choose_threshold(np.concatenate([f.windowed[ratings[n] <= SAME] for n, f in folders.items()]),
                            np.concatenate([f.windowed[ratings[n] >= APART] for n, f in folders.items()]))


def folders(work: Path) -> dict[str, Folder]:
    """The rated articles among the background, built with full texts and with cut ones."""
    settings = load_config(None)["stories"]
    pairs = rated_pairs()
    semeval = semeval_records()
    background = background_records(sorted({r["date"] for r in semeval.values() if r.get("date")}))
    out = {}
    for name, words in (("full", None), ("cut", CUT_WORDS)):
        records = {aid: dict(r, text=cut(r["text"], words) if words else r["text"]) for aid, r in semeval.items()}
        records.update({f"bg{i:03d}": dict(r, text=cut(r["text"], words) if words else r["text"])
                        for i, r in enumerate(background)})
        out[name] = prepare(build(records, work), pairs, settings)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/stories-cv"))
    args = parser.parse_args()
    built = folders(args.work)
    results = cross_validate(built, load_config(None)["stories"])
    for name, result in results.items():
        print(f"{name:4}: {result['pairs']} pairs; rated the same story, together {result['together_n']}/"
              f"{result['same']} = {result['together']}; rated different, apart {result['apart_n']}/"
              f"{result['apart_rated']} = {result['apart']}; Pearson {result['pearson']}")
        print(f"      missed {result['missed']}\n      merged {result['merged']}")
    print(f"thresholds by fold {results['full']['thresholds']}; on all pairs {all_pairs_threshold(built)}")
    print(json.dumps({name: {k: v for k, v in r.items() if k not in ("missed", "merged")} for name, r in results.items()}))


if __name__ == "__main__":
    main()
