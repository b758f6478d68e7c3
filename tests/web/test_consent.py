"""The privacy notice and rules (issue 8 part 1): the head publishes a new version, which asks every
parent again at their next visit; earlier versions are kept; a changed default text changes nothing
until the school publishes it."""
import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, PolicyDocument
from app.services import consent
from tests.conftest import client_as
from tests.factories import make_cast, make_class, make_parent, make_pupil, make_school


@pytest.fixture
def world(app):
    school = make_school(name="Oakfield Primary")
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="5R")
    pupil = make_pupil(klass, name="Zosia K.")
    people = make_cast(school, klass, other_class, pupil)
    people["parent who has not read it"] = make_parent(school, children=[make_pupil(klass)], acknowledged=False)
    return school, people


def text_of(response):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def versions(school, kind="privacy"):
    return list(db.session.scalars(select(PolicyDocument.version).where(
        PolicyDocument.school_id == school.id, PolicyDocument.kind == kind).order_by(PolicyDocument.version)))


NEW = {"title": "How Oakfield uses your information", "body": "A clearer notice.\n\nSenior leaders monitor Hearth."}

# who -> the list (GET), the form (GET), publishing (POST). Only the head; 302 = to sign in.
ACCESS = [
    ("head", 200, 200, 302),
    ("senior leader", 404, 404, 404),
    ("teacher who runs the school", 404, 404, 404),
    ("teacher of class", 404, 404, 404),
    ("parent", 404, 404, 404),
    ("pupil", 404, 404, 404),
    ("other school's head", 200, 200, 302),  # their own school's documents
    ("anonymous", 302, 302, 302),
]


@pytest.mark.parametrize("who, listing, form, post", ACCESS)
def test_access(world, client, login_as, who, listing, form, post):
    school, people = world
    c = client_as(client, login_as, people, who)
    assert c.get("/consent/documents").status_code == listing
    assert c.get("/consent/documents/privacy/new").status_code == form
    assert c.post("/consent/documents/privacy/new", data=NEW).status_code == post
    assert versions(school) == ([1, 2] if who == "head" else [1])


def test_a_new_version_asks_every_parent_again_and_keeps_the_old_one(world, login_as):
    school, people = world
    parent = login_as(people["parent"])
    assert parent.get("/family/").status_code == 200
    head = login_as(people["head"])
    r = head.post("/consent/documents/privacy/new", data=NEW)
    assert r.status_code == 302 and r.headers["Location"] == "/consent/documents"
    assert "Version 2 is published" in text_of(head.get("/consent/documents"))
    assert versions(school) == [1, 2]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "consent.document_published"))
    assert entry.actor_user_id == people["head"].id and entry.detail == {"kind": "privacy", "version": 2}
    r = parent.get("/family/")
    assert r.status_code == 302 and "/consent/acknowledge" in r.headers["Location"]
    page = text_of(parent.get("/consent/acknowledge"))
    assert "Version 2" in page and "Senior leaders monitor Hearth." in page
    assert "Using Hearth at Oakfield Primary: the rules" not in page  # the rules did not change


def test_the_list_shows_who_has_accepted_the_current_versions(world, login_as):
    school, people = world
    text = text_of(login_as(people["head"]).get("/consent/documents"))
    assert "Version 1, published" in text
    assert text.count("Accepted by 1 of 2 parents") == 2


def test_the_form_starts_from_the_current_version_or_from_hearths_suggestion(world, login_as):
    school, people = world
    head = login_as(people["head"])
    head.post("/consent/documents/privacy/new", data=NEW)
    assert "A clearer notice." in head.get("/consent/documents/privacy/new").text
    suggested = html.unescape(head.get("/consent/documents/privacy/new?start=default").text)
    assert "senior leaders, who monitor Hearth" in suggested
    assert "Oakfield Primary runs Hearth on its own server" in suggested


@pytest.mark.parametrize("data, message", [
    ({"title": "", "body": "Text"}, "Give the document a title."),
    ({"title": "Title", "body": "  "}, "Write the text families will read."),
])
def test_bad_input_is_refused_next_to_the_field_and_kept(world, login_as, data, message):
    school, people = world
    r = login_as(people["head"]).post("/consent/documents/privacy/new", data=data)
    assert r.status_code == 200
    assert message in text_of(r)
    assert 'aria-invalid="true"' in r.text
    assert versions(school) == [1]


def test_the_same_text_again_is_not_a_new_version(world, login_as):
    school, people = world
    current = next(d for d in consent.current_documents(school.id) if d.kind == "acceptable_use")
    r = login_as(people["head"]).post("/consent/documents/acceptable_use/new",
                                      data={"title": current.title, "body": current.body.replace("\n", "\r\n")})
    assert "This is the same as version 1." in text_of(r)
    assert versions(school, "acceptable_use") == [1]


def test_an_unknown_document_is_404(world, login_as):
    school, people = world
    assert login_as(people["head"]).get("/consent/documents/cookies/new").status_code == 404
