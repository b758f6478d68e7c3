"""The plain-language privacy pages (issue 8 part 8): for parents at /privacy/, for pupils at
/privacy/pupils; and the default privacy notice that tells families about monitoring."""
import html
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import PolicyDocument
from app.services import consent
from app.services.translation import PROVIDERS
from tests.conftest import client_as
from tests.factories import make_cast, make_class, make_parent, make_pupil, make_school, set_consent


@pytest.fixture
def world(app):
    school = make_school(name="Oakfield Primary", office_phone="0161 496 0123", office_email="office@oakfield.test")
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="5R")
    pupil = make_pupil(klass, name="Zosia K.")
    people = make_cast(school, klass, other_class, pupil)
    people["another family's parent"] = make_parent(school, children=[make_pupil(klass, name="Kwame A.")])
    people["parent who has not read the notice"] = make_parent(school, children=[make_pupil(klass)],
                                                                acknowledged=False)
    return school, klass, pupil, people


def text_of(response):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.mark.parametrize("who", [
    "anonymous", "parent", "parent who has not read the notice", "pupil", "teacher of class", "senior leader",
    "head", "other school's head",
])
def test_everyone_may_read_both_pages(world, client, login_as, who):
    school, klass, pupil, people = world
    c = client_as(client, login_as, people, who)
    for url in ("/privacy/", "/privacy/pupils"):
        response = c.get(url)
        assert response.status_code == 200, (who, url)
        assert "noindex" in response.headers["X-Robots-Tag"]


def test_the_parents_page_says_who_sees_what_and_how_to_reach_the_office(world, client):
    page = client.get("/privacy/")
    assert "<bdi>Oakfield Primary</bdi> runs Hearth" in page.text  # the name isolated, not escaped
    text = text_of(page)
    assert "Oakfield Primary runs Hearth on its own server" in text
    assert "Your child's teachers see the points, work and messages of the children they teach." in text
    assert "Senior leaders may look at any class's pages, points and Student Story" in text
    assert "They can open a private message only after writing down why." in text
    assert "change your answer at any time on your child's page, with one tap" in text
    assert "0161 496 0123" in text and "office@oakfield.test" in text
    assert "Once you are signed in, you can download everything Hearth holds" in text
    # The school's own notice, its current version, is there in full.
    assert "The school's full privacy notice (version 1)" in text


def test_how_long_things_are_kept_comes_from_the_schools_settings(world, client):
    school, klass, pupil, people = world
    school.retention_messages_months = 48
    school.retention_after_leaving_months = 1
    db.session.commit()
    text = text_of(client.get("/privacy/"))
    assert "Messages: 48 months." in text
    assert "Team points and the reading log: 24 months." in text  # the default
    assert "everything about them is deleted 1 month later." in text


def test_translation_is_named_or_said_to_be_off(world, client, app):
    school, klass, pupil, people = world
    assert "Hearth sends nothing to a translation service." in text_of(client.get("/privacy/"))
    app.config.update(TRANSLATION_PROVIDER="libre", TRANSLATION_URL="http://127.0.0.1:9/")
    text = text_of(client.get("/privacy/"))
    assert f"may be sent to {PROVIDERS['libre']} to be translated" in text
    school.content_translation_enabled = False
    db.session.commit()
    assert "the school has switched it off" in text_of(client.get("/privacy/"))


def test_a_parent_sees_their_own_childrens_photo_answer_and_where_to_change_it(world, login_as):
    school, klass, pupil, people = world
    set_consent(pupil, "no")
    page = login_as(people["parent"]).get("/privacy/")
    text = text_of(page)
    assert re.search(r"Zosia K\. ?: No", text)
    assert f'href="/family/child/{pupil.id}#photo-consent"' in page.text
    assert "Kwame" not in text  # another family's child
    assert "/exports/" in page.text  # their own data, to download
    assert "Kwame" not in text_of(login_as(people["head"]).get("/privacy/"))


def test_a_parent_may_read_it_before_acknowledging_the_notice(world, login_as):
    school, klass, pupil, people = world
    c = login_as(people["parent who has not read the notice"])
    assert c.get("/privacy/").status_code == 200
    acknowledge = c.get("/consent/acknowledge")
    assert 'href="/privacy/"' in acknowledge.text


def test_signed_out_with_several_schools_the_first_school_is_described(world, client):
    make_school(name="Birchwood Primary")
    text = text_of(client.get("/privacy/"))
    assert "Oakfield Primary runs Hearth" in text
    assert "Birchwood" not in text


def test_a_signed_in_user_reads_about_their_own_school(world, login_as):
    school, klass, pupil, people = world
    head = people["other school's head"]
    text = text_of(login_as(head).get("/privacy/"))
    assert f"{head.school.name} runs Hearth" in text and "Oakfield" not in text


def test_the_pupils_page_in_short_sentences(world, login_as):
    school, klass, pupil, people = world
    c = login_as(pupil)
    page = c.get("/privacy/pupils")
    text = text_of(page)
    for sentence in ("Your teacher and your grown-ups can see your points and your work.",
                     "Only your class sees work you share.",
                     "Tell a grown-up if something online upsets you."):
        assert sentence in text
    assert 'class="plain big-points"' in page.text
    assert 'href="/classroom/me"' in page.text  # back to their own page
    # and the pupil's own page leads there
    assert 'href="/privacy/pupils"' in c.get("/classroom/me").text


@pytest.mark.parametrize("lang, direction", [("pl", "ltr"), ("ar", "rtl"), ("ur", "rtl")])
def test_the_pages_follow_the_interface_language(world, client, lang, direction):
    client.set_cookie("lang", lang)
    for url in ("/privacy/", "/privacy/pupils"):
        page = client.get(url, headers={"Accept-Language": lang})
        assert re.search(rf'<html lang="{lang}[^"]*" dir="{direction}"', page.text), url


# ---- the default privacy notice ---------------------------------------------------------------

def test_a_new_school_is_told_about_monitoring_in_its_default_notice(app):
    school = make_school(name="Elm Primary")
    notice = next(d for d in consent.current_documents(school.id) if d.kind == "privacy")
    assert "senior leaders, who monitor Hearth" in notice.body
    assert "may open a private message only after recording why" in notice.body


def test_changing_the_default_changes_no_published_notice_and_asks_no_one_again(app, monkeypatch):
    school = make_school(name="Elm Primary")
    parent = make_parent(school, children=[make_pupil(make_class(school))])
    published = {d.kind: d.body for d in consent.current_documents(school.id)}
    title, body = consent.DEFAULT_TEXTS["privacy"]
    monkeypatch.setitem(consent.DEFAULT_TEXTS, "privacy", (title, body + "\n\nA new paragraph."))
    consent.ensure_default_documents(school)
    db.session.commit()
    assert {d.kind: d.body for d in consent.current_documents(school.id)} == published
    assert db.session.scalar(select(func.count(PolicyDocument.id)).where(PolicyDocument.school_id == school.id)) == 2
    assert consent.outstanding_documents(parent) == []
