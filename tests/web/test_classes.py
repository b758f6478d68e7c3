"""Class pages: who sees which class, the pupil list, passcode letters, cancelling unused codes."""
import re
import time

import pytest
import segno
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry
from app.services import passcodes
from app.services.school_calendar import current_academic_year
from tests.conftest import client_as, count_queries, sign_in
from tests.factories import (
    make_cast,
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_teacher,
    make_team,
)

CODE_RE = re.compile(r'<p class="passcode">([A-Z0-9]{5}-[A-Z0-9]{5})</p>')


@pytest.fixture
def world(app):
    """One school with two classes and one person of each kind, plus another school's head."""
    school = make_school(name="Oakfield Primary", office_phone="0113 496 0123",
                         office_email="office@oakfield.sch.uk")
    klass = make_class(school, name="3K", year_group=4)
    other_class = make_class(school, name="5R", year_group=6)
    pupil = make_pupil(klass, name="Zosia K.")
    people = make_cast(school, klass, other_class, pupil)
    return school, klass, other_class, pupil, people


_client = client_as


# who -> expected status for: class list, class page, letters page (GET)
PAGES = [
    ("teacher of class", 200, 200, 200),
    ("other teacher", 200, 404, 404),
    ("teacher who runs the school", 200, 200, 200),
    ("senior leader", 200, 200, 404),
    ("head", 200, 200, 200),
    ("parent", 404, 404, 404),
    ("pupil", 404, 404, 404),
    ("anonymous", 302, 302, 302),
    ("other school's head", 200, 404, 404),
]


@pytest.mark.parametrize("who, index, page, letters", PAGES)
def test_page_access(world, client, login_as, who, index, page, letters):
    school, klass, other_class, pupil, people = world
    c = _client(client, login_as, people, who)
    assert c.get("/classes/").status_code == index
    assert c.get(f"/classes/{klass.id}").status_code == page
    assert c.get(f"/classes/{klass.id}/letters").status_code == letters
    if who == "anonymous":
        assert c.get(f"/classes/{klass.id}").headers["Location"].startswith("/auth/login")


def _action(who, letters, revoke):
    return pytest.param(who, letters, revoke)


# who -> expected status for: make letters (POST), cancel a pupil's unused passcodes (POST)
ACTIONS = [
    _action("teacher of class", 200, 404),
    _action("other teacher", 404, 404),
    _action("teacher who runs the school", 200, 302),
    _action("senior leader", 404, 404),
    _action("head", 200, 302),
    _action("parent", 404, 404),
    _action("pupil", 404, 404),
    _action("anonymous", 302, 302),
    _action("other school's head", 404, 404),
]


@pytest.mark.parametrize("who, letters, revoke", ACTIONS)
def test_action_access(world, client, login_as, who, letters, revoke):
    school, klass, other_class, pupil, people = world
    c = _client(client, login_as, people, who)
    assert c.post(f"/classes/{klass.id}/letters", data={"which": "all"}).status_code == letters
    issued = db.session.scalar(select(func.count(passcodes.Passcode.id)))
    assert issued == (1 if letters == 200 else 0)
    assert c.post(f"/classes/{klass.id}/pupils/{pupil.id}/revoke-passcodes").status_code == revoke
    outstanding = passcodes.outstanding_hints([pupil.id]).get(pupil.id, [])
    assert len(outstanding) == (0 if revoke == 302 or letters != 200 else 1)


def test_refused_looks_are_audited(world, login_as):
    school, klass, other_class, pupil, people = world
    login_as(people["other teacher"]).get(f"/classes/{klass.id}")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
    assert entry.target_type == "schoolclass" and entry.target_id == klass.id


def test_a_pupil_of_another_class_cannot_be_reached_through_this_class(world, login_as):
    school, klass, other_class, pupil, people = world
    stranger = make_pupil(other_class)
    r = login_as(people["head"]).post(f"/classes/{klass.id}/pupils/{stranger.id}/revoke-passcodes")
    assert r.status_code == 404


def test_teacher_sees_their_own_classes_of_this_year_only(world, login_as):
    school, klass, other_class, pupil, people = world
    teacher = people["teacher of class"]
    last_year = make_class(school, name="2K", academic_year=current_academic_year() - 1,
                           teachers=[teacher])
    r = login_as(teacher).get("/classes/")
    assert "My classes" in r.text
    assert f'href="/classes/{klass.id}"' in r.text
    assert f'href="/classes/{other_class.id}"' not in r.text
    assert f'href="/classes/{last_year.id}"' not in r.text
    assert "1 pupil" in r.text and teacher.name in r.text


@pytest.mark.parametrize("who", ["senior leader", "head", "teacher who runs the school"])
def test_leaders_see_every_class_of_their_school(world, login_as, who):
    school, klass, other_class, pupil, people = world
    elsewhere = make_class(make_school(), name="9Z")
    r = login_as(people[who]).get("/classes/")
    assert "All classes" in r.text
    assert f'href="/classes/{klass.id}"' in r.text and f'href="/classes/{other_class.id}"' in r.text
    assert f'href="/classes/{elsewhere.id}"' not in r.text


def test_teacher_with_no_class_is_told_what_to_do(world, login_as):
    school = world[0]
    r = login_as(make_teacher(school)).get("/classes/")
    assert r.status_code == 200 and "not a teacher of any class" in r.text


def test_class_page_lists_pupils_with_team_parents_and_outstanding_letters(world, login_as):
    school, klass, other_class, pupil, people = world
    team = make_team(school, name="Kingfishers")
    second = make_pupil(klass, name="Kwame A.", team_id=team.id)
    [(_, code)] = passcodes.issue_passcodes([second], people["head"])
    make_pupil(other_class, name="Priya S.")
    r = login_as(people["teacher of class"]).get(f"/classes/{klass.id}")
    assert r.status_code == 200
    assert "Zosia K." in r.text and "Kwame A." in r.text and "Priya S." not in r.text
    assert "Kingfishers" in r.text
    assert "2 pupils" in r.text
    assert "1 letter not used yet" in r.text and f"Codes ending {code[-2:]}" in r.text
    rows = {name: row for name, row in re.findall(r'hx-disable>([^<]+)</a></span></th>(.*?)</tr>',
                                                  r.text, re.S)}
    assert re.search(r"<td>1</td>", rows["Zosia K."])  # one parent linked
    assert re.search(r"<td>0</td>", rows["Kwame A."])
    assert f'/classes/{klass.id}/letters' in r.text
    assert "Cancel unused passcodes" not in r.text  # a teacher does not cancel: the office does


def test_class_page_links_to_sign_in_pages_only_when_they_exist(world, app, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["teacher of class"]).get(f"/classes/{klass.id}")
    routable = app.jinja_env.tests["routable"]
    for path in (f"/classroom/sheets/class/{klass.id}", f"/classroom/show/{klass.id}"):
        assert (f'href="{path}"' in r.text) == routable(path)
    assert routable(f"/classes/{klass.id}") and routable("/join") and routable("/classes")
    assert not routable("/no/such/page") and not routable("/classes/not-a-number")


def test_senior_leader_sees_the_class_but_not_the_print_links(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["senior leader"]).get(f"/classes/{klass.id}")
    assert "Zosia K." in r.text
    assert f"/classes/{klass.id}/letters" not in r.text


def test_letters_one_page_per_pupil_with_qr_and_codes_that_redeem(world, login_as):
    school, klass, other_class, pupil, people = world
    make_pupil(klass, name="Kwame A.")
    make_pupil(klass, name="Ana P.")
    r = login_as(people["teacher of class"]).post(f"/classes/{klass.id}/letters", data={"which": "all"})
    assert r.status_code == 200
    page = r.text
    letters = page.split('<section class="letter')[1:]
    assert len(letters) == 3
    codes = CODE_RE.findall(page)
    assert len(codes) == 3 and len(set(codes)) == 3
    for letter, code in zip(letters, codes):
        assert "<svg" in letter and "<?xml" not in letter
        expected = segno.make(f"http://localhost/join?code={code}", error="m").svg_inline(
            scale=1, omitsize=True, svgclass="qr-code", lineclass=None)
        assert expected in letter
        assert "Oakfield Primary" in letter and "3K" in letter
        assert "0113 496 0123" in letter and "office@oakfield.sch.uk" in letter
        assert "http://localhost/join" in letter and "31 August " in letter
    assert "style=" not in page.split("<main")[1]
    assert "data-print" in page
    names = re.findall(r'Join Hearth for ([^(]+) \(3K\)', page)
    assert sorted(n.strip() for n in names) == ["Ana P.", "Kwame A.", "Zosia K."]
    assert r.headers["Cache-Control"] == "private, no-store"
    for code in codes:
        assert passcodes.check(code)[0] == "valid"
    family = make_parent(school)
    linked = passcodes.redeem(codes[0], family)
    assert linked.display_name == names[0].strip()


def test_letters_use_the_public_address_when_configured(make_app):
    application = make_app(PUBLIC_URL="https://hearth.oakfield.example/")
    with application.app_context():
        school = make_school()
        klass = make_class(school)
        make_pupil(klass)
        head = make_head(school)
        r = sign_in(application.test_client(), head).post(f"/classes/{klass.id}/letters",
                                                           data={"which": "all"})
        code = CODE_RE.findall(r.text)[0]
        assert "https://hearth.oakfield.example/join" in r.text
        expected = segno.make(f"https://hearth.oakfield.example/join?code={code}", error="m")
        assert expected.svg_inline(scale=1, omitsize=True, svgclass="qr-code", lineclass=None) in r.text


def test_letters_fall_back_to_the_requests_host(make_app):
    application = make_app(PUBLIC_URL=None)
    with application.app_context():
        school = make_school()
        klass = make_class(school)
        make_pupil(klass)
        head = make_head(school)
        client = application.test_client()
        host = "http://school.lan:8080"
        with client.session_transaction(base_url=host) as sess:
            sess.update({"_user_id": head.get_id(), "auth_at": int(time.time()),
                         "seen_at": int(time.time())})
        r = client.post(f"/classes/{klass.id}/letters", data={"which": "all"}, base_url=host)
        assert r.status_code == 200 and "http://school.lan:8080/join" in r.text


def test_letters_for_unlinked_pupils_only(world, login_as):
    school, klass, other_class, pupil, people = world  # Zosia already has a parent
    make_pupil(klass, name="Kwame A.")
    client = login_as(people["teacher of class"])
    form = client.get(f"/classes/{klass.id}/letters")
    assert '<input checked id="which-0" name="which" type="radio" value="unlinked">' in form.text
    r = client.post(f"/classes/{klass.id}/letters", data={"which": "unlinked"})
    assert r.text.count('<section class="letter') == 1
    assert "Kwame A." in r.text and "Join Hearth for Zosia K." not in r.text


def test_letters_when_everyone_is_linked_says_so_next_to_the_choice(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["teacher of class"]).post(f"/classes/{klass.id}/letters",
                                                  data={"which": "unlinked"})
    assert r.status_code == 200
    assert "already has a parent or carer linked" in r.text and 'id="which-error"' in r.text
    assert db.session.scalar(select(passcodes.Passcode)) is None


def test_head_cancels_a_pupils_unused_passcodes(world, login_as):
    school, klass, other_class, pupil, people = world
    head = people["head"]
    codes = [code for _, code in passcodes.issue_passcodes([pupil, pupil], head)]
    client = login_as(head)
    page = client.get(f"/classes/{klass.id}")
    assert "2 letters not used yet" in page.text and "Cancel unused passcodes" in page.text
    r = client.post(f"/classes/{klass.id}/pupils/{pupil.id}/revoke-passcodes")
    assert r.status_code == 302 and r.headers["Location"] == f"/classes/{klass.id}"
    assert [passcodes.check(code)[0] for code in codes] == ["revoked", "revoked"]
    page = client.get(f"/classes/{klass.id}")
    assert "2 unused passcodes for Zosia K. have been cancelled." in page.text
    assert "not used yet" not in page.text


def test_class_page_queries_do_not_grow_with_the_class(world, login_as):
    school, klass, other_class, pupil, people = world
    head = people["head"]
    client = login_as(head)
    team = make_team(school)
    pupil.team_id = team.id
    client.get(f"/classes/{klass.id}")  # the first request of a process loads a few things once
    small = count_queries(lambda: client.get(f"/classes/{klass.id}"))
    for _ in range(12):
        extra = make_pupil(klass, team_id=team.id)
        make_parent(school, children=[extra])
    passcodes.issue_passcodes(list(klass.pupils), head)
    large = count_queries(lambda: client.get(f"/classes/{klass.id}"))
    assert small == large
