"""Lighthouse (npm `lighthouse` driving Debian's chromium, offline): the home page and an
article page score at least 95 in performance, accessibility, best practices and SEO."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, INSTALL_HINT, NODE_MODULES, serve, unavailable

LIGHTHOUSE = NODE_MODULES / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MINIMUM = 0.95
SEED_SLUG = "frontex-et-l-oim-organisent-un-webinaire-sur-la-lutte-contre-la-traite-et-le"


def lighthouse(url: str, report: Path) -> dict:
    """Run Lighthouse on URL (mobile preset, simulated throttling); returns its JSON report."""
    if not LIGHTHOUSE.is_file():
        unavailable(f"{LIGHTHOUSE} is missing: {INSTALL_HINT}")
    if not CHROMIUM.exists() or shutil.which("node") is None:
        unavailable(f"chromium or node is missing: {INSTALL_HINT}")
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    result = subprocess.run(
        ["node", str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
         f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={flags}", "--max-wait-for-load=30000"],
        capture_output=True, text=True, timeout=240, env={**os.environ, "CHROME_PATH": str(CHROMIUM)})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(report.read_text(encoding="utf-8"))


def shortfalls(data: dict) -> list[str]:
    """The audits that cost points, to say why a score is low."""
    out = []
    for category in data["categories"].values():
        for ref in category["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                out.append(f"{category['id']}: {ref['id']} {audit['score']} {audit.get('displayValue', '')}")
    return out


@pytest.mark.parametrize("name,rel", [("home", "index.html"), ("article", f"articles/{SEED_SLUG}/index.html")])
def test_lighthouse_scores(corpus_site: Path, name: str, rel: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(corpus_site / "site") as base:
        data = lighthouse(f"{base}/{rel}", ARTIFACTS / f"lighthouse-{name}.json")
    assert not data.get("runtimeError"), data.get("runtimeError")
    scores = {c: data["categories"][c]["score"] for c in CATEGORIES}
    assert all(score is not None and score >= MINIMUM for score in scores.values()), (scores, shortfalls(data))
