"""output/build-report.json: every input file once, with its fate and the reason."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..core.model import ARTICLE, DUPLICATE, REJECTED, Document, FileOutcome


def _entry(doc: Document) -> dict[str, Any]:
    return {"status": doc.status, "article": doc.article_slug, "reason": doc.reason}


def _repaired(members: list[Document]) -> dict[str, Any]:
    """{"repaired": {kind: lines}} summed over a file's documents, or {} when nothing was."""
    total: Counter[str] = Counter()
    for doc in members:
        total.update(doc.repaired)
    return {"repaired": dict(sorted(total.items()))} if total else {}


def build_report(outcomes: list[FileOutcome], docs: list[Document], stats: dict[str, Any]) -> dict[str, Any]:
    """One entry per file; a file of several records lists them under "records"."""
    by_file: dict[str, list[Document]] = {}
    for doc in docs:
        by_file.setdefault(doc.file, []).append(doc)
    inputs = [{"file": o.file, "status": o.status, "article": None, "reason": o.reason} for o in outcomes]
    for file, members in by_file.items():
        if len(members) == 1 and members[0].record is None:
            inputs.append({"file": file, **_entry(members[0]), **_repaired(members)})
            continue
        members.sort(key=lambda d: d.record or 0)
        counts = Counter(d.status for d in members)
        status = next((s for s in (ARTICLE, DUPLICATE) if counts[s]), REJECTED)
        first = next((d.article_slug for d in members if d.status == status), None)
        reason = f"{len(members)} records: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        inputs.append({"file": file, "status": status, "article": first, "reason": reason, **_repaired(members),
                       "records": [{"record": d.record, **_entry(d)} for d in members]})
    inputs.sort(key=lambda e: e["file"])
    return {"inputs": inputs, "stats": stats}


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
