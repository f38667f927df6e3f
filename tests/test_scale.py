"""Scale without surprise: many files, a huge file, one enormous line."""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import PROJECT, SHIPPED_CONFIG, run_build

# bench/measure.py samples the sum of PSS of a command's whole process tree (the build and its workers)
_spec = importlib.util.spec_from_file_location("bench_measure", PROJECT / "bench" / "measure.py")
measure = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = measure  # its dataclass looks its module up there
_spec.loader.exec_module(measure)
MEMORY_BOUND_MB = 2048  # the README's bound for a folder of 100,000 files

ARTICLE = (PROJECT / "seeds" / "000_ab709a61b5646eb0.txt").read_text(encoding="utf-8")


def report(out: Path) -> dict[str, dict]:
    return {e["file"]: e for e in json.loads((out / "build-report.json").read_text(encoding="utf-8"))["inputs"]}


@pytest.mark.slow
def test_a_folder_of_100000_files_builds_in_bounded_memory(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i in range(100_000):  # the same scrape saved again and again, as a stuck crawler does
        (seeds / f"{i:06d}.txt").write_text(ARTICLE, encoding="utf-8")
    measured = measure.run_measured([sys.executable, "-m", "generator", "--seeds", seeds, "--output",
                                     tmp_path / "out", "--quiet", "--config", SHIPPED_CONFIG], cwd=tmp_path)
    entries = report(tmp_path / "out")
    assert len(entries) == 100_000
    assert sum(e["status"] == "article" for e in entries.values()) == 1
    assert len(list((tmp_path / "out" / "content").glob("*.md"))) == 1
    assert 0 < measured.tree_pss_mb < MEMORY_BOUND_MB, measured


def test_huge_file_is_rejected_and_long_line_is_read(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    with open(seeds / "huge.txt", "w", encoding="utf-8") as handle:  # 50 MB of text
        line = "Le conseil municipal a voté le budget de la ville après un long débat.\n"
        handle.write(line * (50_000_000 // len(line) + 1))
    words = ["budget", "école", "conseil", "ville", "vote", "débat", "maire", "projet", "rue", "parc"]
    long_line = " ".join(words[(i * 7 + i // 10) % 10] for i in range(700_000))  # about 5 MB, one line
    (seeds / "one-line.txt").write_text("Un article d'une seule ligne\nPublié dans Le Courrier le 02 - 03 - 2021\n\n"
                                        + long_line + "\n", encoding="utf-8")
    result = run_build(seeds, tmp_path / "out", "--quiet")
    assert result.returncode == 0, result.stderr
    entries = report(tmp_path / "out")
    assert entries["huge.txt"]["status"] == "rejected" and "too large" in entries["huge.txt"]["reason"]
    assert entries["one-line.txt"]["status"] == "article"
    page = (tmp_path / "out" / "site" / "articles" / "un-article-d-une-seule-ligne" / "index.html")
    assert page.stat().st_size > 4_000_000


# --- NER workers hold no corpus (ner.ModelServer): they are forked by a process started
# before the build loads anything, so what the build holds after is not in them

LOADED_AFTER_THE_SERVER: list[str] = []  # stands for the corpus: filled once the server runs


def _where_am_i(items: list[int]) -> list[tuple[int, int, int, int]]:
    return [(item, os.getpid(), os.getppid(), len(LOADED_AFTER_THE_SERVER)) for item in items]


def _die(items: list[int]) -> list[int]:
    os._exit(3)


def test_ner_workers_are_forked_before_the_corpus_is_loaded() -> None:
    from generator.core.model import BuildError
    from generator.corpus.ner import ModelServer

    server = ModelServer(None, jobs=2)
    try:
        LOADED_AFTER_THE_SERVER.extend(["an article"] * 1000)
        advanced: list[int] = []
        results = server.mapper(7, advanced.append)(_where_am_i, list(range(100)))
        assert [r[0] for r in results] == list(range(100))  # in order, each once
        assert sum(advanced) == 100  # the progress bar saw every batch
        workers = {r[1] for r in results}
        assert os.getpid() not in workers and server.process.pid not in workers
        assert {r[2] for r in results} == {server.process.pid}  # the server's children
        assert {r[3] for r in results} == {0}  # they never saw what was loaded here after it started
        with pytest.raises(BuildError, match="NER worker process died"):
            server.mapper(10)(_die, list(range(20)))
    finally:
        LOADED_AFTER_THE_SERVER.clear()
        server.close()
    assert not server.process.is_alive()


def test_the_ner_server_is_gone_before_the_verbatim_pass_forks_its_workers() -> None:
    """The server and its workers (the models, about 550 MB at 10,000 articles) end as soon as NER
    is done: they were alive until the end of the entities stage, beside the verbatim pass's own
    pool, at the cold build's peak of memory."""
    from generator.core.model import Article
    from generator.corpus.entities import assign_entities
    from generator.corpus.ner import ModelServer

    server = ModelServer(None, jobs=2)
    alive_at_the_verbatim_pass: list[bool] = []

    def verbatim_map(func, items):  # the stage's other per-article work (map_batches)
        alive_at_the_verbatim_pass.append(server.process.is_alive())
        return func(items)

    article = Article(slug="a", title="Visite", title_derived=False, outlet="Le Monde", date=None, lang="fr",
                      lines=["Emmanuel Macron a reçu Olaf Scholz à Paris mardi."], members=[])
    assign_entities([article], {"aliases": {}, "ignore": []}, None, server.mapper(64), verbatim_map,
                    server=server)
    assert "Emmanuel Macron" in article.entities["people"]  # tagged by the server
    assert alive_at_the_verbatim_pass and not any(alive_at_the_verbatim_pass)


def _batch_size(items: list[int]) -> list[int]:
    return [len(items)] * len(items)


def test_the_ner_server_ends_by_itself_once_its_pool_has_worked() -> None:
    """Closed at the end of the entities stage, the server and its pool's workers end at once;
    it used to wait on its idle workers until close() gave up and killed it, 5 s later. And a
    day's few texts are shared among the workers, not sent as one batch to one of them."""
    from generator.corpus.ner import ModelServer

    server = ModelServer(None, jobs=2)
    try:
        assert len(server.mapper(64)(_where_am_i, list(range(100)))) == 100
        assert server.mapper(64)(_batch_size, list(range(41))) == [21] * 21 + [20] * 20
    finally:
        server.close()
    assert server.process.exitcode == 0  # not killed (-9)
