"""E-mail as input (.eml, .mbox): alerts listing several articles, one-article newsletters, broken messages.

The messages are written at run time with the standard library from real articles of
../shared/corpus (semeval_fr_full's outlets, Mosaïque FM, Radio-Canada), shaped as their senders
write them: a news alert (HTML and its text version, each headline a redirect link, then the
outlet and a snippet), a newsletter carrying one article, a mailbox of several messages.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import content_pages, run_build, semeval_rows
from generator.core.model import FileOutcome
from generator.ingest.dispatch import read_file
from test_feeds import PARIS, lead, mosaique_articles, semeval_articles, words

SENT = dt.datetime(2020, 3, 26, 0, 30, tzinfo=PARIS)  # half past midnight in Paris: the day before in UTC


def alert_articles(n: int) -> list[dict[str, Any]]:
    """N real articles of N different outlets, as an alert would list them."""
    seen: dict[str, dict[str, Any]] = {}
    for row in semeval_rows():
        if row["text"].count(" ") > 60:
            seen.setdefault(row["outlet_name"], row)
    return [{"title": " ".join(r["title"].split()), "url": r["url"], "outlet": r["outlet_name"],
             "snippet": lead(r["text"], 30)} for r in list(seen.values())[:n]]


def redirect(url: str) -> str:
    return f"https://www.google.com/url?rct=j&sa=t&url={quote(url, safe='')}&ct=ga&cd=CAEY&usg=AOvVaw"


def alert(items: list[dict[str, Any]], sent: dt.datetime = SENT, with_html: bool = True) -> EmailMessage:
    """A news alert as Google Alerts sends it: HTML with its text version (or the text alone)."""
    message = EmailMessage()
    message["From"] = "Google Alertes <googlealerts-noreply@google.com>"
    message["To"] = "redaction@example.org"
    message["Subject"] = "Alerte Google – coronavirus"
    message["Date"] = email.utils.format_datetime(sent)
    message["Message-ID"] = email.utils.make_msgid(domain="google.com")
    text = "\n\n".join(f"{i['title']}\n{i['outlet']}\n{i['snippet']}\n<{redirect(i['url'])}>" for i in items)
    message.set_content(f"Alertes Google\n\ncoronavirus\nActualités\n\n{text}\n\n"
                        "Vous avez reçu cet e-mail, car vous êtes abonné aux alertes Google.\n")
    if not with_html:
        return message
    rows = "".join(
        f'<tr><td><a href="{html.escape(redirect(i["url"]))}" style="color:#1a0dab"><span>{html.escape(i["title"])}'
        f'</span></a><div style="color:#006621">{html.escape(i["outlet"])}</div>'
        f'<div style="color:#545454">{html.escape(i["snippet"])}</div></td></tr>'
        '<tr><td><a href="https://www.google.com/alerts/feedback?ffu=1">Signaler comme non pertinent</a></td></tr>'
        for i in items)
    message.add_alternative(
        "<html><head><style>td{font:13px Arial}</style></head><body><table>"
        "<tr><td><b>Alertes Google</b></td></tr><tr><td>coronavirus</td></tr><tr><td>ACTUALITÉS</td></tr>"
        f"{rows}<tr><td>Vous avez reçu cet e-mail, car vous êtes abonné aux alertes Google.</td></tr>"
        '<tr><td><a href="https://www.google.com/alerts/remove?s=x">Se désabonner</a> | '
        '<a href="https://www.google.com/alerts">Afficher toutes vos alertes</a></td></tr></table></body></html>',
        subtype="html")
    return message


def newsletter(article: dict[str, Any], sender: str, with_title: bool) -> EmailMessage:
    """A newsletter carrying one article: its title shown on top (else only in the Subject)."""
    message = EmailMessage()
    message["From"] = f"{sender} <newsletter@example.org>"
    message["To"] = "redaction@example.org"
    message["Subject"] = article["title"]
    message["Date"] = email.utils.format_datetime(article["published"])
    paragraphs = [p for p in article["text"].split("\n\n") if p.strip()]
    message.set_content("\n\n".join(paragraphs) + "\n")
    if with_title:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        message.add_alternative(
            f"<html><head><title>La lettre de {html.escape(sender)}</title></head><body>"
            f"<table><tr><td>La lettre de {html.escape(sender)}</td></tr><tr><td><article>"
            f"<h1>{html.escape(article['title'])}</h1>{body}</article></td></tr>"
            f'<tr><td><a href="{html.escape(article["url"])}">Lire l\'article sur notre site</a></td></tr>'
            '<tr><td><a href="https://example.org/unsubscribe">Se désabonner</a></td></tr></table></body></html>',
            subtype="html")
    return message


def without_text_part() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Service presse <presse@example.org>"
    message["Subject"] = "Communiqué en pièce jointe"
    message["Date"] = email.utils.format_datetime(SENT)
    message.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="communique.pdf")
    return message


@pytest.fixture(scope="module")
def mail_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("email")
    seeds = base / "seeds"
    seeds.mkdir()
    listed = alert_articles(11)
    assert len(listed) == 11 and len({i["outlet"] for i in listed}) == 11
    mosaique = mosaique_articles(2)
    for article in mosaique:  # a newsletter sets its text in paragraphs
        sentences = article["text"].split(". ")
        article["text"] = "\n\n".join(". ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3))
    radio = next(r for r in semeval_articles("Radio-Canada", 5) if r["url"] not in {i["url"] for i in listed})
    radio = {"title": radio["title"], "url": radio["url"], "text": radio["text"],
             "published": dt.datetime.fromisoformat(radio["date"]).replace(hour=7, tzinfo=PARIS)}
    (seeds / "alert.eml").write_bytes(alert(listed[:6]).as_bytes())
    (seeds / "alert-text.eml").write_bytes(alert(listed[6:9], with_html=False).as_bytes())
    (seeds / "alert-one.eml").write_bytes(alert(listed[10:11]).as_bytes())  # an alert of one result
    (seeds / "newsletter.eml").write_bytes(newsletter(mosaique[0], "Mosaïque FM", with_title=True).as_bytes())
    (seeds / "subject-title.eml").write_bytes(newsletter(radio, "Radio-Canada", with_title=False).as_bytes())
    box = mailbox.mbox(seeds / "digest.mbox")
    for message in (alert([listed[9], listed[0], listed[1]], SENT + dt.timedelta(days=1)),
                    newsletter(mosaique[1], "Mosaïque FM", with_title=False), without_text_part()):
        box.add(message)
    box.flush()
    box.close()
    headers = alert(listed[:1], with_html=False).as_string().split("\n\n", 1)[0]  # a message cut after its headers
    (seeds / "headers-only.eml").write_text(headers + "\n", encoding="utf-8")
    out = base / "out"
    result = run_build(seeds, out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    return {"out": out, "listed": listed, "mosaique": mosaique, "radio": radio,
            "pages": {fm["title"]: (fm, body) for fm, body in content_pages(out)},
            "report": {row["file"]: row for row in report["inputs"]}}


def test_an_alert_is_one_excerpt_page_per_article_with_its_link(mail_build: dict[str, Any]) -> None:
    pages = mail_build["pages"]
    for item in mail_build["listed"][:9] + mail_build["listed"][10:]:  # the HTML alerts' and the text-only one's
        fm, body = pages[item["title"]]
        assert fm["excerpt"] is True
        assert fm["url"] == item["url"]  # the article's own address, not the alert's redirect
        assert fm["outlet"] == item["outlet"]  # named under the headline, not the sender
        assert fm["date"] == SENT.date().isoformat()  # the Date header's day as sent
        assert words(body) == words(item["snippet"])
    assert not any("Alertes Google" in title or "Signaler" in title for title in pages)


def test_every_listed_article_is_accounted_for_by_its_position(mail_build: dict[str, Any]) -> None:
    report = mail_build["report"]
    for name, n in (("alert.eml", 6), ("alert-text.eml", 3), ("alert-one.eml", 1)):
        rows = report[name]["records"]
        assert [r["record"] for r in rows] == list(range(n)) and all(r["status"] == "article" for r in rows)
        assert len({r["article"] for r in rows}) == n


def test_a_one_article_newsletter_is_one_article(mail_build: dict[str, Any]) -> None:
    article = mail_build["mosaique"][0]
    fm, body = mail_build["pages"][article["title"]]  # its title from the content (<h1>), not the Subject
    assert "excerpt" not in fm and fm["outlet"] == "Mosaïque FM"  # the sender's name
    assert fm["date"] == article["published"].date().isoformat()
    assert words(body) == words(article["text"])  # the article, without the letter's header and footer
    row = mail_build["report"]["newsletter.eml"]
    assert row["status"] == "article" and "records" not in row


def test_the_subject_is_the_title_when_the_content_gives_none(mail_build: dict[str, Any]) -> None:
    radio = mail_build["radio"]
    fm, body = mail_build["pages"][radio["title"]]
    assert fm["outlet"] == "Radio-Canada" and fm["date"] == radio["published"].date().isoformat()
    assert words(body) == words(radio["text"]) and "title_derived" not in fm


def test_a_mailbox_accounts_for_every_message(mail_build: dict[str, Any]) -> None:
    rows = mail_build["report"]["digest.mbox"]["records"]
    assert [r["record"] for r in rows] == [0, 1, 2, 3, 4]
    listed = mail_build["listed"]
    assert [r["status"] for r in rows[:3]] == ["article", "duplicate", "duplicate"]  # items 0, 1 came in alert.eml
    assert rows[3]["status"] == "article"
    assert rows[4] == {"record": 4, "status": "rejected", "article": None,
                       "reason": "message 3: e-mail has no text or HTML part"}
    assert mail_build["pages"][listed[9]["title"]][0]["url"] == listed[9]["url"]
    fm, _ = mail_build["pages"][mail_build["mosaique"][1]["title"]]
    assert fm["outlet"] == "Mosaïque FM"


def test_a_message_without_text_is_rejected_with_a_reason(mail_build: dict[str, Any]) -> None:
    row = mail_build["report"]["headers-only.eml"]
    assert row["status"] == "rejected" and row["reason"] == "no text in the e-mail"


def test_every_truncation_of_an_alert_is_read_or_rejected_never_a_crash(tmp_path: Path) -> None:
    data = alert(alert_articles(3)).as_bytes()
    for cut in range(1, len(data), max(1, len(data) // 80)):
        (tmp_path / "cut.eml").write_bytes(data[:cut])
        outcome = read_file(tmp_path, "cut.eml", 10**7)
        if isinstance(outcome, FileOutcome):
            assert outcome.status in ("rejected", "skipped") and outcome.reason and "\n" not in outcome.reason, cut
        else:
            assert all(doc.title for doc in outcome), cut


def test_an_email_is_read_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    items = alert_articles(3)
    (tmp_path / "message.txt").write_bytes(alert(items).as_bytes())
    docs = read_file(tmp_path, "message.txt", 10**7)
    assert not isinstance(docs, FileOutcome)
    assert [(d.kind, d.record, d.title, d.url) for d in docs] == [("email", i, t["title"], t["url"])
                                                                  for i, t in enumerate(items)]
