"""Entities a reader can browse by: measured on a hand-checked gold set of real articles.

The gold (tests/data/entities_gold.json) holds only annotations and references; the texts are
read from ../shared/corpus at test time. Run this file as a script to print per-type
precision/recall/F1 of raw spaCy against the pipeline.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CORPUS, PROJECT, SHARED, content_pages, need_shared, run_build  # noqa: E402
from generator.corpus.entities import Corrections, assign_entities, settle_names  # noqa: E402
from generator.corpus.ner import LABELS, MODELS, TYPES, load_model  # noqa: E402
from generator.corpus.reference import fold  # noqa: E402
from generator.core.model import Article  # noqa: E402
from generator.corpus.reference import load_reference  # noqa: E402

GOLD = PROJECT / "tests" / "data" / "entities_gold.json"


def gold_texts() -> list[tuple[dict, str]]:
    """(gold record, article body) for every annotated article."""
    need_shared(CORPUS)
    gold = json.loads(GOLD.read_text(encoding="utf-8"))["articles"]
    semeval = {}
    for line in (CORPUS / "semeval_fr_full" / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        semeval[r["article_id"]] = r["text"], r["outlet_name"]
    fundus = {}
    for line in (CORPUS / "fundus" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        fundus[r["id"]] = r["body_text"]
    with (CORPUS / "mosaiquefm" / "MosaiqueFM_v0.csv").open(encoding="utf-8", newline="") as handle:
        mosaique = {r["url"]: " ".join(r["Article"].split()) for r in csv.DictReader(handle)}
    out = []
    for record in gold:
        source, key = record["source"], record["id"]
        outlet = None  # the outlet a build would know from the page's metadata
        if source == "semeval_fr_full":
            text, outlet = semeval[key]
        elif source == "fundus":  # "OttawaCitizen" is the outlet "Ottawa Citizen"
            text, outlet = fundus[key], re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key.split("/")[1].split("_")[0])
        elif source == "mosaiquefm":
            text, outlet = mosaique[key], "Mosaïque FM"
        else:  # the seed: its body, between the dateline and the footer
            raw = (SHARED / "seeds" / key).read_text(encoding="utf-8")
            text = raw.split("Publié dans PanoraPost le 15 - 10 - 2020", 1)[1].split("Cliquez ici")[0]
        out.append(({**record, "outlet": outlet}, text.strip()))
    return out


def score(predicted: list[dict[str, list[str]]], gold: list[dict]) -> dict[str, tuple[int, int, int]]:
    """(true positives, predicted, gold) per type; a gold entity is found by any of its forms,
    or by another name the reference lists give that entity ("Union européenne" for "UE")."""
    group = load_reference().group
    totals = defaultdict(lambda: [0, 0, 0])
    for pred, record in zip(predicted, gold):
        for kind in TYPES:
            entities = [{fold(f) for f in ([e] if isinstance(e, str) else e)} for e in record[kind]]
            entities = [forms | {group[f] for f in forms if f in group} for forms in entities]
            names = list(dict.fromkeys(group.get(fold(n), fold(n)) for n in pred.get(kind, [])))
            matched_gold = set()
            tp = 0
            for name in names:
                hit = next((i for i, forms in enumerate(entities) if name in forms and i not in matched_gold), None)
                if hit is not None:
                    matched_gold.add(hit)
                    tp += 1
            totals[kind][0] += tp
            totals[kind][1] += len(names)
            totals[kind][2] += len(entities)
    return {k: tuple(v) for k, v in totals.items()}


def f1(tp: int, npred: int, ngold: int) -> tuple[float, float, float]:
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def micro(scores: dict[str, tuple[int, int, int]]) -> float:
    return f1(*(sum(v[i] for v in scores.values()) for i in range(3)))[2]


def articles_for(texts: list[tuple[dict, str]]) -> list[Article]:
    return [Article(slug=f"a{i}", title="", title_derived=True, outlet=rec.get("outlet"), date=None, lang=rec["lang"],
                    lines=[p for p in re.split(r"\n\s*\n", text) if p.strip()], members=[])
            for i, (rec, text) in enumerate(texts)]


def pipeline_predictions(texts: list[tuple[dict, str]]) -> list[dict[str, list[str]]]:
    articles = articles_for(texts)
    assign_entities(articles, {"aliases": {}, "ignore": []}, None, lambda func, items: func(items))
    return [a.entities for a in articles]


def raw_spacy_predictions(texts: list[tuple[dict, str]]) -> list[dict[str, list[str]]]:
    """What spaCy alone gives: every distinct entity text under its mapped label."""
    out = []
    for rec, text in texts:
        doc = load_model(rec["lang"])("\n\n".join(articles_for([(rec, text)])[0].lines))
        pred: dict[str, list[str]] = {k: [] for k in TYPES}
        for ent in doc.ents:
            if LABELS.get(ent.label_) in pred and ent.text not in pred[LABELS[ent.label_]]:
                pred[LABELS[ent.label_]].append(ent.text)
        out.append(pred)
    return out


@pytest.fixture(scope="module")
def texts() -> list[tuple[dict, str]]:
    return gold_texts()


def test_gold_set_covers_both_languages(texts: list[tuple[dict, str]]) -> None:
    langs = [rec["lang"] for rec, _ in texts]
    assert len(texts) >= 60 and langs.count("fr") >= 35 and langs.count("en") >= 18
    assert all(rec["lang"] in MODELS for rec, _ in texts)
    held_out = [rec["lang"] for rec, _ in texts if rec.get("held_out")]
    assert len(held_out) >= 20 and held_out.count("en") >= 10


def test_pipeline_reaches_the_f1_bar_and_beats_raw_spacy(texts: list[tuple[dict, str]]) -> None:
    """On the 41 articles the rules were tuned on, and apart on the 20 held out from tuning
    (annotated before any output of the pipeline on them was looked at)."""
    predicted, raw = pipeline_predictions(texts), raw_spacy_predictions(texts)
    figures = {}
    for part, keep in (("tuned", lambda rec: not rec.get("held_out")), ("held out", lambda rec: rec.get("held_out"))):
        rows = [k for k, (rec, _) in enumerate(texts) if keep(rec)]
        gold = [texts[k][0] for k in rows]
        scores = score([predicted[k] for k in rows], gold)
        figures[part] = (micro(scores), f1(*scores["organizations"])[2], micro(score([raw[k] for k in rows], gold)))
        print(f"\n{part}: {len(rows)} articles, micro-F1 {figures[part][0]:.3f}, organizations "
              f"{figures[part][1]:.3f}, raw spaCy {figures[part][2]:.3f}")
    ours, organizations, bare = figures["tuned"]
    # measured 0.887 (organizations 0.851) against 0.808 before the reference lists and corpus
    # joins; raw spaCy 0.739
    assert ours >= 0.88, f"micro-F1 {ours:.3f}"
    assert organizations >= 0.82, f"organizations F1 {organizations:.3f}"
    assert ours >= bare + 0.05, f"pipeline {ours:.3f} vs raw spaCy {bare:.3f}"
    # held out: measured 0.733 (organizations 0.634), issue 25's target is 0.87
    ours, organizations, bare = figures["held out"]
    assert ours >= 0.71 and ours > bare, f"held out: micro-F1 {ours:.3f}, raw spaCy {bare:.3f}"


def test_seed_article_entities(texts: list[tuple[dict, str]]) -> None:
    (seed,) = [(rec, text) for rec, text in texts if rec["source"] == "seed"]
    (found,) = pipeline_predictions([seed])
    assert set(found["people"]) == {"Fabrice Leggeri", "Carmela Godeau"}
    orgs = {fold(o) for o in found["organizations"]}
    assert {"frontex", "unicef", "onudc", "hcr", "nations unies"} <= orgs
    assert len(orgs & {"oim", "organisation internationale pour les migrations"}) == 1
    assert len(orgs & {"ue", "union europeenne"}) == 1
    assert "Méditerranée" in found["places"]
    everything = {fold(n) for names in found.values() for n in names}
    for bad in ("I", "Directrice", "Mme Carmela Godeau", "Frontex VEGA",
                "Etats membres et partenaires des deux côtés de la"):
        assert fold(bad) not in everything


def test_aliases_and_ignore_from_site_yaml(texts: list[tuple[dict, str]]) -> None:
    (seed,) = [(rec, text) for rec, text in texts if rec["source"] == "seed"]
    articles = articles_for([seed])
    assign_entities(articles, {"aliases": {"HCR": "Haut Commissariat des Nations unies pour les réfugiés"},
                               "ignore": ["UNICEF"]}, None, lambda func, items: func(items))
    orgs = articles[0].entities["organizations"]
    assert "UNICEF" not in orgs and "HCR" not in orgs


if __name__ == "__main__":
    loaded = gold_texts()
    gold_records = [rec for rec, _ in loaded]
    for name, preds in (("raw spaCy", raw_spacy_predictions(loaded)), ("pipeline", pipeline_predictions(loaded))):
        s = score(preds, gold_records)
        cells = "  ".join(f"{k} P {f1(*s[k])[0]:.2f} R {f1(*s[k])[1]:.2f} F1 {f1(*s[k])[2]:.2f}" for k in TYPES)
        print(f"{name:10s} {cells}  micro-F1 {micro(s):.3f}")


def test_language_without_model_gets_the_entities_the_corpus_knows(texts: list[tuple[dict, str]]) -> None:
    (seed,) = [(rec, text) for rec, text in texts if rec["source"] == "seed"]
    spanish = ({"lang": "es"}, "El director de Frontex, Fabrice Leggeri, visitó la región del Mediterráneo "
                               "con representantes de UNICEF y del HCR.")
    articles = articles_for([seed, spanish])
    assign_entities(articles, {"aliases": {}, "ignore": []}, None, lambda func, items: func(items))
    found = articles[1].entities
    assert found["people"] == ["Fabrice Leggeri"]
    assert {"Frontex", "UNICEF", "HCR"} <= set(found["organizations"])


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict]:
    """Frontmatter of every page and the report of a make_seeds build of 1,000 articles plus
    the shipped seeds, with an editor's entity corrections in site.yaml."""
    tool = need_shared(CORPUS.parent / "tools" / "make_seeds.py")
    base = tmp_path_factory.mktemp("entities")
    seeds = base / "seeds"
    subprocess.run([sys.executable, str(tool), str(seeds), "--n", "1000", "--seed", "11", "--quiet"],
                   check=True, timeout=600)
    for seed in (PROJECT / "seeds").iterdir():
        shutil.copy(seed, seeds)
    config = base / "site.yaml"
    # Strava (an app) comes out of NER a person, "NDLR" (note de la rédaction) a name, and "AI"
    # (artificial intelligence) an organization of many pages
    config.write_text('title: "Revue"\nbase_url: "https://example.org/"\nentities:\n'
                      '  types: {Strava: organizations}\n  ignore: [NDLR, AI]\n'
                      '  canonical: [OTAN]\n', encoding="utf-8")
    result = run_build(seeds, base / "out", "--quiet", config=config)
    assert result.returncode == 0, result.stderr
    report = json.loads((base / "out" / "build-report.json").read_text(encoding="utf-8"))
    return [fm for fm, _ in content_pages(base / "out")], report


def test_no_person_page_is_a_part_of_another_unless_the_part_is_ambiguous(
        corpus_build: tuple[list[dict], dict]) -> None:
    """"Trump" joins "Donald Trump"; "Harris" stays apart only when several Harrises exist;
    "Nelson Rolihlahla Mandela" joins "Nelson Mandela"."""
    pages, _ = corpus_build
    people = {name for fm in pages for name in fm["entities"]["people"]}
    endings = defaultdict(set)
    for name in people:
        words = name.split()
        for k in range(1, len(words)):
            endings[" ".join(words[k:])].add(name)
    parts = {short: sorted(endings[short]) for short in people if short in endings}
    assert len(people) > 500
    lone = {short: fulls for short, fulls in parts.items() if len(fulls) == 1}
    assert not lone, f"partial names beside the one full name they stand for: {lone}"
    # "Nelson Rolihlahla Mandela" is "Nelson Mandela": a middle name more or less is one person
    two_words = {tuple(name.split()) for name in people if len(name.split()) == 2}
    middle = [name for name in people if len(name.split()) >= 3 and (name.split()[0], name.split()[-1]) in two_words]
    assert not middle, f"names beside the same name without its middle name: {middle}"


def test_person_pages_name_someone_a_reader_can_tell(corpus_build: tuple[list[dict], dict]) -> None:
    """A one-word person ("Paul", "Spurs", "APA") is a page only when a text names it a person
    again and again: at most 3% of the person pages (13% before the rule)."""
    pages, _ = corpus_build
    people = {name for fm in pages for name in fm["entities"]["people"]}
    one_word = sorted(name for name in people if " " not in name)
    print(f"\none-word person pages: {len(one_word)} of {len(people)}: {one_word}")
    assert len(one_word) <= 0.03 * len(people), one_word


def test_fragments_and_mistypes_are_gone(corpus_build: tuple[list[dict], dict]) -> None:
    pages, report = corpus_build
    by_type = {t: {name for fm in pages for name in fm["entities"][t]} for t in TYPES}
    everything = set().union(*by_type.values())
    for fragment in ("Région Moyen-Orient", "Agence européenne de garde-frontières", "Chers", "Assemblée"):
        assert fragment not in everything
    # not "Sever" (a Russian army group NER takes for a person): nothing in the corpus says otherwise
    for name, wrong in (("Français", "places"), ("Valencia", "people"), ("Rosstat", "people"),
                        ("MENA", "organizations"), ("Strava", "people"), ("Kyriakos Mitsotakis", "places")):
        assert name not in by_type[wrong], f"{name} among {wrong}"
    assert "Kyriakos Mitsotakis" in by_type["people"]  # NER calls him a place in one text, a person in others
    (seed,) = [fm for fm in pages if any(s["file"].startswith("000_") for s in fm["sources"])]
    assert "Frontex" in seed["entities"]["organizations"]
    assert {"Moyen-Orient et Afrique du Nord", "MENA"} & set(seed["entities"]["places"])
    # the editor's corrections hold on every page and the report counts them
    assert "Strava" in by_type["organizations"] and "NDLR" not in everything and "AI" not in everything
    assert "OTAN" in by_type["organizations"] and "Nato" not in everything and "NATO" not in everything
    counts = report["stats"]["entity_corrections"]
    assert counts["types"] >= 1 and counts["ignore"] >= 1 and counts["canonical"] >= 1


def test_a_new_name_is_looked_for_only_in_the_texts_that_hold_it(tmp_path: Path) -> None:
    """The verbatim pass keeps each text's matches in the store: when the corpus's names change,
    only texts where a changed name may stand are matched again, and every result equals a
    match from scratch (real articles)."""
    from generator.core.store import StageCache, store_path
    from generator.corpus.entities import find_verbatim, spread_batch

    records = gold_texts()[:12]
    items = [(text, record.get("title") or "") for record, text in records]
    two_words = re.compile(r"\b[A-Z][a-zé]+ [A-Z][a-zé]+\b")
    # a name of the first text that no other text holds, and names several texts share
    new_name = next(m for m in two_words.findall(items[0][0]) if not any(m in t for t, _ in items[1:]))
    names = {m: "organizations" for t, _ in items[1:4] for m in two_words.findall(t)[:3]}
    calls: list[int] = []

    def counting(func, batch):
        calls.append(len(batch))
        return func(batch)

    cache = StageCache(store_path(tmp_path), "ner", "ner")
    try:
        assert find_verbatim(names, items, cache, counting) == (spread_batch(names, items), set(range(len(items))))
        assert calls == [len(items)]
        for looked_for in ({**names, new_name: "people"}, names):  # a name added, then removed
            calls.clear()
            assert find_verbatim(looked_for, items, cache, counting) == (spread_batch(looked_for, items), {0})
            assert calls == [1], "only the text holding the changed name is matched again"
            assert any(f.surface == new_name for f in find_verbatim(looked_for, items[:1], cache, counting)[0][0]) \
                == (new_name in looked_for)
    finally:
        cache.close()


def test_a_changed_name_may_occur_only_where_its_words_stand(monkeypatch) -> None:
    """The verbatim pass's test of which texts a changed name may stand in: its first word as a
    substring rules a text out; where it is found, the words decide ("Smolnyi" holds "Smolny",
    not the name); the same answers with many names, which skip the substring test."""
    from generator.corpus import entities

    changed = entities._by_first_word(["Smolny College", "Panama"])
    texts = {"Il a étudié au Smolny College de Saint-Pétersbourg.": True,
             "La rue Smolnyi, près du College de France.": False,
             "Le canal de Panama est fermé.": True,
             "Rien de tout cela.": False}
    for few in (True, False):
        monkeypatch.setattr(entities, "FEW_FIRST_WORDS", 50 if few else 1)
        assert {text: entities._may_occur(text, changed) for text in texts} == texts


def test_the_french_tokenizer_pattern_is_compiled_once_per_store(tmp_path, monkeypatch):
    """spaCy's French tokenizer pattern (1.4 M characters, ~3 s to compile) is compiled at
    the first build and read back from the store at the next: the same matches, no compiling."""
    from re import _compiler

    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH

    from generator.core.patterns import compiled_from
    pattern = TOKEN_MATCH.__self__.pattern
    words = ["faux-vampire", "saut-de-ski", "entr'abat", "porte-avions", "Porte-Avions", "rick-roll",
             "Paris", "week-end", "aujourd'hui", "anti-", "l'État", "zig-zaguer", "pet-en-l'air", "x"]
    expected = [bool(TOKEN_MATCH(w)) for w in words]
    assert any(expected) and not all(expected)
    store = tmp_path / "build.sqlite"
    re.purge()
    with compiled_from(store):
        first = re.compile(pattern)
    re.purge()

    def no_compiling(*args):
        raise AssertionError("the pattern was compiled again")
    monkeypatch.setattr(_compiler, "_code", no_compiling)
    with compiled_from(store):
        second = re.compile(pattern)
    re.purge()
    assert [bool(first.match(w)) for w in words] == expected
    assert [bool(second.match(w)) for w in words] == expected


def corpus_article(source: str, key: str, lang: str) -> tuple[dict, str]:
    """(record, text) of one article of ../shared/corpus, as gold_texts gives them."""
    need_shared(CORPUS)
    if source == "fundus":
        path, field, id_field = CORPUS / "fundus" / "gold.jsonl", "body_text", "id"
    else:
        path, field, id_field = CORPUS / "semeval_fr_full" / "articles.jsonl", "text", "article_id"
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if str(r[id_field]) == key:
            return {"lang": lang, "source": source, "id": key}, r[field]
    raise KeyError(key)


def test_a_name_keeps_the_period_of_its_initials(texts: list[tuple[dict, str]]) -> None:
    """"U.S." at the end of a sentence is shown "U.S.", not "U.S" (the sentence's period was
    stripped with the name's); a name ending in a plain word loses the sentence's period."""
    (fox,) = [(rec, text) for rec, text in texts if rec["id"] == "us/FoxNews_2023_04_28.html"]
    (found,) = pipeline_predictions([fox])
    names = {name for listed in found.values() for name in listed}
    assert "U.S." in names and "U.S" not in names
    assert not any(name.endswith(".") and not name[-2:-1].isupper() for name in names)


def test_a_name_after_a_capitalised_article_is_kept(texts: list[tuple[dict, str]]) -> None:
    """"The New York Times has reported..." (National Post) names the newspaper: the span was
    dropped whole for opening with a function word. The article of a sentence's start goes
    ("Le Maroc" is Maroc), the article of a one-word name stays ("Le Monde")."""
    (post,) = [(rec, text) for rec, text in texts if rec["id"] == "ca/NationalPost_2024_08_28.html"]
    (found,) = pipeline_predictions([post])
    assert "New York Times" in found["organizations"]
    maroc = ({"lang": "fr"}, ("Le Maroc a fermé ses frontières, a rapporté Le Monde lundi. Rabat attend, et le "
                              "Maroc aussi, selon Le Monde."))
    (found,) = pipeline_predictions([maroc])
    assert "Maroc" in found["places"] and "Le Maroc" not in found["places"]
    assert "Le Monde" in found["organizations"]


def test_an_organization_keeps_the_place_that_ends_its_name(texts: list[tuple[dict, str]]) -> None:
    """NER cuts "The American Civil Liberties Union of Indiana has filed a lawsuit" (Washington
    Times) before the place; the name takes it back in."""
    (times,) = [(rec, text) for rec, text in texts if rec["id"] == "us/WashingtonTimes_2023_04_28.html"]
    (found,) = pipeline_predictions([times])
    assert "American Civil Liberties Union of Indiana" in found["organizations"], found["organizations"]
    assert "American Civil Liberties Union" not in found["organizations"]


def test_a_family_is_no_ones_page(texts: list[tuple[dict, str]]) -> None:
    """"The Harrises" (National Post, beside Kamala, Donald and Shyamala Gopalan Harris) is a
    surname's plural: no entity, where NER made it an organization."""
    (post,) = [(rec, text) for rec, text in texts if rec["id"] == "ca/NationalPost_2024_08_28.html"]
    (found,) = pipeline_predictions([post])
    names = {name for listed in found.values() for name in listed}
    assert "Kamala Harris" in names and "Harrises" not in names


def test_two_places_run_together_are_no_place_of_their_own() -> None:
    """"Russie La Chine" (a span over two country names) is no page: each country is found as
    written; "Stamford Bridge" (two city names, no word between) and "Bosnie-Herzégovine" stay."""
    def mentions(form: str, label: str, n: int = 1) -> tuple[Counter, Counter, list[int]]:
        return Counter({form: n}), Counter({label: n}), [0]

    found = {"russie la chine": mentions("Russie La Chine", "places"), "russie france": mentions("Russie-France", "places"),
             "chine": mentions("Chine", "places", 2), "stamford bridge": mentions("Stamford Bridge", "places", 2),
             "bosnie herzegovine": mentions("Bosnie-Herzégovine", "places")}
    names = settle_names(found, load_reference(), Corrections.from_settings({"aliases": {}, "ignore": []}), set())
    shown = {name for name, _ in names.known.values()}
    assert "Chine" in shown and "Stamford Bridge" in shown and "Bosnie-Herzégovine" in shown
    assert "Russie La Chine" not in shown and "Russie-France" not in shown


def test_a_person_is_shown_by_the_full_name_however_often_the_surname_is_said_alone() -> None:
    """One article says "Gary Mottola" twice, others "Mottola said" nine times: "Mottola" joins
    the one Mottola of the corpus and the page is "Gary Mottola" (it was renamed "Mottola" once
    the surname alone outnumbered the full name: a day of new articles renamed 344 old ones)."""
    def mentions(form: str, n: int) -> tuple[Counter, Counter, list[int]]:
        return Counter({form: n}), Counter({"people": n}), [n]

    found = {"gary mottola": mentions("Gary Mottola", 2), "mottola": mentions("Mottola", 9)}
    names = settle_names(found, load_reference(), Corrections.from_settings({"aliases": {}, "ignore": []}), set())
    assert names.joins.get("mottola") == "gary mottola"
    assert names.known["gary mottola"] == ("Gary Mottola", "people")


def test_an_entity_is_shown_in_the_site_language() -> None:
    """A French article says "Chine" twice, an English one "China" nine times: the place's
    page is "Chine" on a French site, "China" on an English one, each article tagged by it."""
    pair = [corpus_article("semeval_fr_full", "1536337900", "fr"),
            corpus_article("fundus", "us/FoxNews_2023_04_28.html", "en")]
    for language, name in (("fr", "Chine"), ("en", "China")):
        articles = articles_for(pair)
        assign_entities(articles, {"aliases": {}, "ignore": []}, None, lambda func, items: func(items),
                        language=language)
        for art in articles:
            assert name in art.entities["places"], (language, art.lang, art.entities["places"])


def test_entities_are_tagged_again_only_where_their_facts_changed(texts, tmp_path, monkeypatch) -> None:
    """The entities stage keeps each article's tags in the store with the corpus facts they were
    made under: a build with nothing changed tags no article, an editor's alias or one edited
    article tags again only the articles whose names it touches, and every result equals the
    stage run from scratch (real articles)."""
    import generator.corpus.entities as entities
    from generator.core.store import store_path

    calls: list[int] = []
    tag = entities.tag_article
    monkeypatch.setattr(entities, "tag_article", lambda *args: calls.append(1) or tag(*args))
    serial = lambda func, items: func(items)  # noqa: E731
    records = texts[:20]

    def run(settings: dict, edited: str | None = None, store: Path | None = store_path(tmp_path)) -> list[dict]:
        articles = articles_for(records)
        if edited is not None:
            articles[0].lines.append(edited)
        calls.clear()
        assign_entities(articles, {"aliases": {}, "ignore": [], **settings}, store, serial)
        return [a.entities for a in articles]

    plain: dict = {}
    first = run(plain)
    assert len(calls) == len(records)
    assert run(plain) == first and calls == [], "nothing changed: no article is tagged again"
    # an alias joining a name of one article to another entity: the articles that hold it
    name = first[3]["organizations"][0] if first[3]["organizations"] else first[3]["places"][0]
    alias = {"aliases": {name: "Entité renommée"}}
    holders = sum(name in sum(e.values(), []) for e in first)
    aliased = run(alias)
    assert 1 <= len(calls) < len(records) and len(calls) >= holders
    assert aliased == run(alias, store=None), "the alias applied incrementally equals a stage from scratch"
    assert any("Entité renommée" in sum(e.values(), []) for e in aliased)
    # an ignored entity: no name is looked for again, its articles are tagged again all the same
    hidden = {**alias, "ignore": ["Entité renommée"]}
    ignored = run(hidden)
    assert 1 <= len(calls) < len(records)
    assert ignored == run(hidden, store=None) and ignored != aliased
    run(alias)
    edited = run(alias, "Le Programme alimentaire mondial et Greenpeace ont réagi à Genève.")
    assert 1 <= len(calls) < len(records)
    assert edited == run(alias, "Le Programme alimentaire mondial et Greenpeace ont réagi à Genève.", store=None)
    assert run(alias, "Le Programme alimentaire mondial et Greenpeace ont réagi à Genève.") == edited
    assert calls == []
