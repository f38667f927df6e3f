"""Boilerplate goes, article text stays."""
from __future__ import annotations


import pytest

from conftest import PROJECT
from generator.ingest.clean import boilerplate_rule
from generator.core.settings import DEFAULTS
from generator.corpus.layout import decide_layouts
from generator.core.model import Document
from generator.ingest.dispatch import read_file


@pytest.mark.parametrize("line, rule", [
    ("Merci d'avoir signalé!", "image_report"),
    ("Cliquez ici pour lire l'article depuis sa source.", "source_footer"),
    ("Click here to read the article from its source.", "source_footer"),
    ("Lire aussi : Le gouvernement annonce un nouveau plan", "read_also"),
    ("À lire aussi", "read_also"),
    ("Read more: How the vote was won", "read_also"),
    ("Partager sur Facebook Twitter", "share_row"),
    ("Share", "share_row"),
    ("© 2024 Le Monde. Tous droits réservés.", "copyright"),
    ("Ce site utilise des cookies pour améliorer votre navigation.", "cookie"),
    ("Nous utilisons des cookies pour vous offrir la meilleure expérience.", "cookie"),
    ("We use cookies to give you the best experience on our site.", "cookie"),
    ("Manage preferences", "cookie"),
    ("Accepter et fermer", "cookie"),
    ("Abonnez-vous à notre newsletter", "newsletter"),
])
def test_boilerplate_lines(line: str, rule: str) -> None:
    assert boilerplate_rule(line) == rule


@pytest.mark.parametrize("line", [
    "Lire aussi les propos du ministre, qui a partagé sur Facebook une photo du chantier, "
    "ne suffit pas à comprendre la colère des habitants du quartier.",
    "Le partage des cookies entre les deux entreprises a été jugé illégal par la CNIL, qui a "
    "infligé une amende record au groupe américain. " * 3,
    "Share prices fell sharply on Monday.",
    "Publié dans PanoraPost le 15 - 10 - 2020",
    "Les cookies de Noël de la boulangerie du village ont remporté le concours régional.",
])
def test_article_sentences_are_not_boilerplate(line: str) -> None:
    assert boilerplate_rule(line) is None


def test_the_seed_ticker_and_image_report_go() -> None:
    (doc,) = read_file(PROJECT / "seeds", "000_ab709a61b5646eb0.txt", 10**7)
    decide_layouts([doc], DEFAULTS["clean"], [])
    text = "\n".join(doc.lines)
    assert "Le temps qu'il fera ce mardi 8 avril 2025" not in text
    assert "Merci d'avoir signalé" not in text and "Cliquez ici" not in text
    assert doc.title.startswith("Frontex et l'OIM organisent un webinaire")
    assert (doc.outlet, doc.date) == ("PanoraPost", "2020-10-15")
    assert doc.lines[0].startswith("Frontex, l'Agence européenne de garde-frontières")


def _doc(name: str, lines: list[str]) -> Document:
    return Document(file=name, kind="plain", lines=list(lines))


def strip_repeated_lines(docs: list[Document], min_docs: int, sentence_share: float) -> None:
    """The layout stage over DOCS, with these bars for repeated lines."""
    decide_layouts(docs, {**DEFAULTS["clean"], "repeated_line_min_docs": min_docs,
                          "repeated_sentence_share": sentence_share, "min_words": 1}, [])


def test_repeated_footer_goes_but_syndicated_paragraphs_stay() -> None:
    footer = "Suivez toute l'actualité de la région sur notre application mobile"
    wire = ["Le président a annoncé lundi une réforme des retraites qui sera présentée au "
            "Parlement en janvier, après des mois de concertation avec les syndicats.",
            "Les syndicats ont aussitôt appelé à une journée de grève nationale le 5 décembre."]
    docs = [_doc(f"story{i}.txt", [f"Article numéro {i} sur un sujet local très différent des autres, "
                                   f"avec sa propre histoire et ses propres témoins ({i}).", footer])
            for i in range(6)]
    docs += [_doc(f"wire{i}.txt", wire + [f"Réaction locale {i} recueillie par notre rédaction."])
             for i in range(6)]
    strip_repeated_lines(docs, min_docs=5, sentence_share=0.01)
    assert all(footer not in d.lines for d in docs)
    assert all(d.lines[:2] == wire for d in docs if d.file.startswith("wire"))
    assert all(len(d.lines) == 1 for d in docs if d.file.startswith("story"))


def test_a_quoted_sentence_is_not_boilerplate() -> None:
    """A sentence that a few of many stories quote is article text; one in most of them is not."""
    quote = "« Nous ne céderons pas », a déclaré le ministre devant les députés."
    credit = "Cet article a été rédigé avec l'aide de l'Agence France-Presse et de ses correspondants."
    docs = [_doc(f"d{i}.txt", [f"Un article distinct numéro {i} avec ses propres faits et chiffres, "
                               f"qui raconte une histoire différente ({i}).",
                               quote if i % 125 == 0 else f"Une phrase propre à l'article {i}.", credit])
            for i in range(1000)]
    strip_repeated_lines(docs, min_docs=5, sentence_share=0.01)
    assert all(quote in d.lines for d in docs if d.file.endswith(("d0.txt", "d125.txt", "d875.txt")))
    assert not any(credit in d.lines for d in docs)
