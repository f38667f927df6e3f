"""Boilerplate out: per-line rules, then lines that recur across many documents.

Every rule is written to miss rather than to eat a real paragraph: keyword rules only fire on
short lines, and a corpus-wide repeated line counts as boilerplate only when it recurs in many
documents *in different contexts* (a syndicated paragraph recurs with its neighbours).
"""
from __future__ import annotations

import hashlib
import re

from ..core.model import Document

SHORT_LINE = 200  # keyword rules only apply to lines at most this long

# A ticker: several headlines joined by runs of (non-breaking) spaces or bullets.
_TICKER_SEP = re.compile(r"(?:\u00a0\s*){2,}|\s{4,}|\s[•|·]\s")
# (name, pattern, hints): a rule with hints only runs on a line holding one of them, in any case
# (the unanchored patterns are the slow ones, and this runs on every short line).
_RULES: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("image_report", re.compile(
        r"^(?:merci d'avoir signal|cette image sera automatiquement bloqu|thank you for reporting|"
        r"this image will be automatically blocked)", re.I), ()),
    ("source_footer", re.compile(
        r"^(?:cliquez ici pour lire l'article|click here to read the (?:full )?article|"
        r"lire l'article (?:complet|original|sur|depuis)|read the (?:full|original) article|"
        r"voir l'article original|source de l'article)", re.I), ()),
    ("read_also", re.compile(
        r"^(?:[»>•*-]\s*)?(?:à lire aussi|a lire aussi|lire aussi|lire également|à lire également|"
        r"voir aussi|à voir aussi|read (?:also|more)|see also|related(?: articles?| stories)?)"
        r"\s*(?::|»|$|-|–)", re.I), ()),
    ("share_row", re.compile(
        r"^(?:(?:partager|partagez|share|tweet|tweeter|envoyer|imprimer|print|e-?mail|facebook|"
        r"twitter|x|linkedin|whatsapp|telegram|messenger|pinterest|reddit|copier le lien|copy link)"
        r"(?:\s*(?:sur|on|this|cet article|l'article|:|\||,|/|·|•))*\s*){1,8}$", re.I), ()),
    ("copyright", re.compile(
        r"(?:^©|^\(c\)\s|^copyright\b|tous droits réservés|all rights reserved|"
        r"reproduction interdite)", re.I), ("©", "(c)", "copyright", "réservés", "reserved", "reproduction")),
    ("cookie", re.compile(
        r"(?:\bcookies?\b.*\b(?:accept|utilis|use|consent|paramètr|navigat|expérience|experience|"
        r"partenaires|partners|préférences|preferences)|\b(?:we|nous) (?:use|utilisons) (?:des )?cookies)",
        re.I), ("cookie",)),
    ("cookie", re.compile(
        r"^(?:tout accepter|accepter et fermer|accepter et continuer|continuer sans accepter|accept all|"
        r"accept cookies|reject all|tout refuser|j'accepte|manage (?:preferences|cookies|consent|options)|"
        r"g[ée]rer (?:mes|les) (?:pr[ée]f[ée]rences|cookies|choix)|param[ée]trer les cookies|"
        r"cookie (?:settings|policy|preferences)|privacy settings)\b", re.I), ()),
    # where a paywall cuts the text: what is above it is only the start of the article (PAYWALL_CUT)
    ("paywall", re.compile(
        r"^(?:il vous reste \d+(?:[.,]\d+)?\s?% de cet article à lire|"
        r"la suite (?:de cet article )?est réservée aux (?:abonnés|membres)|"
        r"(?:cet article|ce contenu|la suite) est réservée? aux (?:abonnés|membres)|"
        r"(?:pour lire la suite|abonnez-vous pour (?:lire|continuer|accéder)|"
        r"lisez la suite|continuez votre lecture)[^.!?]{0,60}(?:abonn|connect)|"
        r"subscribe (?:now )?to (?:continue|keep) reading|"
        r"to (?:continue|keep) reading,? (?:please )?(?:subscribe|sign in|log in)|"
        r"this (?:article|story|content) is (?:only )?(?:(?:available|reserved|exclusive) (?:only )?)?(?:to|for) "
        r"(?:paying )?(?:subscribers|members)|you(?:'ve| have) reached your (?:free )?article limit)", re.I),
     ("reste", "réservé", "suite", "lecture", "subscri", "reading", "members", "limit")),
    # a paywall's labels and prompts (a teaser's "Article réservé aux abonnés", "Déjà abonné ?")
    ("subscriber_label", re.compile(
        r"^(?:(?:article|contenu) )?(?:réservée? aux abonnés|abonnés?|premium|"
        r"(?:for )?subscribers? only|exclusive (?:to|for) subscribers)\s*$|"
        r"^(?:déjà abonné|vous êtes abonné|already a subscriber|already subscribed)\s*\?", re.I),
     ("abonn", "premium", "subscri")),
    # the links an alert or a newsletter puts around what it lists (Google Alerts, Talkwalker, ...)
    ("message_links", re.compile(
        r"^(?:signaler comme non pertinent|flag as irrelevant|se désabonner|se désinscrire|unsubscribe|"
        r"afficher toutes vos alertes|see all your alerts|voir plus de résultats|see more results|"
        r"modifier cette alerte|edit this alert|gérer (?:mes|vos) alertes|manage (?:your )?alerts|"
        r"afficher (?:cet e-mail )?dans (?:le|votre) navigateur|voir la version en ligne|view (?:it )?in (?:your )?browser)"
        r"\s*$", re.I), ()),
    ("newsletter", re.compile(
        r"^(?:abonnez-vous|inscrivez-vous à (?:notre|la) newsletter|recevez notre newsletter|"
        r"subscribe to (?:our|the) newsletter|sign up for (?:our|the) newsletter)", re.I), ()),
]


def is_ticker(line: str) -> bool:
    """A long line made of many short headlines glued by separator runs."""
    if len(line) < 200:
        return False
    if line.count("\u00a0") < 6 and "    " not in line and not any(sep in line for sep in (" • ", " | ", " · ")):
        return False  # no separator runs at all: a paragraph (cheap test, this runs on every line)
    parts, last = 0, 0
    for sep in _TICKER_SEP.finditer(line):  # stop at the fourth headline: a ticker has dozens
        parts += bool(line[last:sep.start()].strip())
        if parts >= 4:
            return True
        last = sep.end()
    return parts + bool(line[last:].strip()) >= 4


def boilerplate_rule(line: str) -> str | None:
    """Name of the per-line rule that marks `line` as boilerplate, or None."""
    if is_ticker(line):
        return "ticker"
    if len(line) > SHORT_LINE:
        return None
    lowered = line.lower()
    for name, pattern, hints in _RULES:
        if hints and not any(hint in lowered for hint in hints):
            continue
        if pattern.search(line):
            return name
    return None


PAYWALL_CUT = "paywall"  # the rule of a line where a paywall cut the article: its text is an excerpt


def strip_boilerplate(doc: Document) -> None:
    """Drop boilerplate lines of one document by the per-line rules (in place); a document a
    paywall cut is an excerpt (it merges into a full copy; alone, it is published as one)."""
    rules = [boilerplate_rule(ln) for ln in doc.lines]
    doc.excerpt = doc.excerpt or PAYWALL_CUT in rules
    kept = (ln for ln, rule in zip(doc.lines, rules) if rule is None)
    doc.lines = [tidy for tidy in (" ".join(ln.split()) for ln in kept) if tidy]


_ODD_SPACE = re.compile(r"\s\s|[^\S ]")  # runs of spaces, tabs, NBSP, thin spaces, ...


def line_key(line: str) -> bytes:
    """The line's identity across documents: its words, any case, any spacing."""
    text = line.lower()
    if _ODD_SPACE.search(text):  # most lines are already tidy: no need to split and join them
        text = " ".join(text.split())
    return hashlib.blake2b(text.strip().encode(), digest_size=8).digest()


_SENTENCE_END = re.compile(r"[.!?…][»\"”’)\]]*$")


def looks_like_sentence(line: str) -> bool:
    """A written sentence rather than a label, menu item or credit line."""
    return len(line.split()) >= 6 and bool(_SENTENCE_END.search(line))


def remove_lines(docs: list[Document], keys: set[bytes]) -> int:
    """Take the lines with these keys out of the bodies; returns how many were removed."""
    removed = 0
    for doc in docs:
        kept = [ln for ln in doc.lines if line_key(ln) not in keys]
        removed += len(doc.lines) - len(kept)
        doc.lines = kept
    return removed
