"""Photo consent pages: the class list and history for staff, paper forms for the office, a
parent's one-tap yes or no on the child's page, and the question asked after linking a child."""
import html
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, PhotoConsent, Pupil
from app.services import passcodes
from app.services.photo_consent import record_photo_consent
from tests.conftest import client_as, count_queries, htmx_headers, sign_in
from tests.factories import make_cast, make_class, make_head, make_parent, make_pupil, make_school


@pytest.fixture
def world(app):
    """One school with two classes and one person of each kind, plus another family's parent."""
    school = make_school(name="Oakfield Primary")
    klass = make_class(school, name="3K", year_group=4)
    other_class = make_class(school, name="5R", year_group=6)
    pupil = make_pupil(klass, name="Zosia K.")
    people = make_cast(school, klass, other_class, pupil)
    people["another family's parent"] = make_parent(school, children=[make_pupil(klass, name="Kwame A.")])
    return school, klass, other_class, pupil, people


def consent_of(pupil):
    return db.session.scalar(select(Pupil.photo_consent).where(Pupil.id == pupil.id))


def rows_from(pupil, source):
    return db.session.scalar(select(func.count(PhotoConsent.id)).where(
        PhotoConsent.pupil_id == pupil.id, PhotoConsent.source == source))


def text_of(response):
    """The page's text without tags, so that a sentence with a name in a span reads whole."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


# who -> expected status for: the class list (GET), a pupil's history (GET),
# recording a paper form (POST), a parent's choice for the child (POST)
ACCESS = [
    ("teacher of class", 200, 200, 404, 404),
    ("other teacher", 404, 404, 404, 404),
    ("teacher who runs the school", 200, 200, 302, 404),
    ("senior leader", 200, 200, 404, 404),
    ("head", 200, 200, 302, 404),
    ("parent", 404, 404, 404, 302),
    ("another family's parent", 404, 404, 404, 404),
    ("pupil", 404, 404, 404, 404),
    ("anonymous", 302, 302, 302, 302),
    ("other school's head", 404, 404, 404, 404),
]


@pytest.mark.parametrize("who, class_list, history, paper, choice", ACCESS)
def test_access(world, client, login_as, who, class_list, history, paper, choice):
    school, klass, other_class, pupil, people = world
    c = client_as(client, login_as, people, who)
    done = {302: who != "anonymous"}  # a 302 is the redirect after saving, or to the sign-in page
    assert c.get(f"/consents/classes/{klass.id}").status_code == class_list
    assert c.get(f"/consents/pupils/{pupil.id}").status_code == history
    r = c.post(f"/consents/pupils/{pupil.id}/paper", data={"consent": "no"})
    assert r.status_code == paper
    assert rows_from(pupil, "paper") == (1 if done.get(paper) else 0)
    r = c.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "yes"})
    assert r.status_code == choice
    assert rows_from(pupil, "parent") == (1 if done.get(choice) else 0)
    expected = "yes" if done.get(choice) else "no" if done.get(paper) else None
    assert consent_of(pupil) == expected
    if who == "anonymous":
        assert r.headers["Location"].startswith("/auth/login")


def test_refused_changes_are_audited(world, login_as):
    school, klass, other_class, pupil, people = world
    login_as(people["another family's parent"]).post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "no"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
    assert (entry.target_type, entry.target_id) == ("pupil", pupil.id)


def test_nothing_crosses_between_schools(world, login_as):
    school, klass, other_class, pupil, people = world
    elsewhere = make_school()
    their_class = make_class(elsewhere, name="4T")
    their_pupil = make_pupil(their_class, name="Tomasz W.")
    head = login_as(people["head"])
    assert head.get(f"/consents/classes/{their_class.id}").status_code == 404
    assert head.get(f"/consents/pupils/{their_pupil.id}").status_code == 404
    assert head.post(f"/consents/pupils/{their_pupil.id}/paper", data={"consent": "yes"}).status_code == 404
    assert login_as(people["parent"]).post(f"/consents/pupils/{their_pupil.id}/photo",
                                           data={"consent": "yes"}).status_code == 404
    assert consent_of(their_pupil) is None


def test_made_up_ids_are_404(world, login_as):
    school, klass, other_class, pupil, people = world
    head = login_as(people["head"])
    assert head.get("/consents/classes/999999").status_code == 404
    assert head.get("/consents/pupils/999999").status_code == 404
    assert head.post("/consents/pupils/999999/paper", data={"consent": "yes"}).status_code == 404
    assert login_as(people["parent"]).post("/consents/pupils/999999/photo", data={"consent": "yes"}).status_code == 404


def test_the_state_changing_endpoints_refuse_get(world, login_as):
    school, klass, other_class, pupil, people = world
    assert login_as(people["head"]).get(f"/consents/pupils/{pupil.id}/paper").status_code == 405
    assert login_as(people["parent"]).get(f"/consents/pupils/{pupil.id}/photo").status_code == 405


# ---- staff: the class list and the history --------------------------------------------------------

def test_class_list_shows_each_pupil_with_a_worded_badge_and_a_shape(world, login_as):
    school, klass, other_class, pupil, people = world
    kwame = db.session.scalar(select(Pupil).where(Pupil.display_name == "Kwame A."))
    ada = make_pupil(klass, name="Ada L.")
    record_photo_consent(pupil, "yes", source="parent", by=people["parent"])
    record_photo_consent(kwame, "no", source="paper", by=people["head"])
    make_pupil(other_class, name="Priya S.")
    make_pupil(klass, name="Left B.", status="left")
    r = login_as(people["teacher of class"]).get(f"/consents/classes/{klass.id}")
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    for one, word in ((pupil, "Yes"), (kwame, "No"), (ada, "Not recorded")):
        row = re.search(rf'<tr id="pupil-{one.id}">.*?</tr>', r.text, re.S).group(0)
        assert "#avatar-fox" in row and one.display_name in row
        badge = re.search(r'<span class="badge consent consent-(\w+)"><svg[^>]*>.*?</svg>([^<]+)</span>', row, re.S)
        assert badge.group(2) == word and badge.group(1) == {"Yes": "yes", "No": "no"}.get(word, "none")
        assert f'href="/consents/pupils/{one.id}"' in row
    assert "Priya S." not in r.text and "Left B." not in r.text
    assert 'style="' not in r.text and "<script>" not in r.text


@pytest.mark.parametrize("who, may_record", [
    ("teacher of class", False),
    ("senior leader", False),
    ("teacher who runs the school", True),
    ("head", True),
])
def test_only_the_schools_managers_get_the_paper_forms(world, login_as, who, may_record):
    school, klass, other_class, pupil, people = world
    r = login_as(people[who]).get(f"/consents/classes/{klass.id}")
    assert (f'action="/consents/pupils/{pupil.id}/paper"' in r.text) == may_record
    assert ("Record a paper form" in r.text) == may_record


def test_the_class_page_links_to_its_photo_consent_list(world, login_as):
    school, klass, other_class, pupil, people = world
    for who in ("teacher of class", "senior leader", "head"):
        assert f'href="/consents/classes/{klass.id}"' in login_as(people[who]).get(f"/classes/{klass.id}").text


def test_history_says_who_when_how_and_which_notice(world, login_as):
    school, klass, other_class, pupil, people = world
    from app.services.consent import publish_new_version
    record_photo_consent(pupil, "no", source="paper", by=people["head"])
    publish_new_version(school, "privacy", "Privacy notice", "Version two.", by=people["head"])
    record_photo_consent(pupil, "yes", source="parent", by=people["parent"])
    r = login_as(people["teacher of class"]).get(f"/consents/pupils/{pupil.id}")
    page = text_of(r)
    newest = page.index("By a parent or carer, in Hearth")
    oldest = page.index("On a paper form, recorded by the office")
    assert newest < oldest
    assert people["parent"].name in page[newest:oldest] and "Version 2" in page[newest:oldest]
    assert people["head"].name in page[oldest:] and "Version 1" in page[oldest:]
    assert r.text.count("<time datetime=") == 2
    assert f'href="/consents/classes/{klass.id}"' in r.text


def test_history_without_answers_says_so(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["head"]).get(f"/consents/pupils/{pupil.id}")
    assert "No answer has been recorded yet." in r.text and "Not recorded" in r.text


def test_paper_form_without_javascript_redirects_to_the_pupils_row(world, login_as):
    school, klass, other_class, pupil, people = world
    office = login_as(people["teacher who runs the school"])
    r = office.post(f"/consents/pupils/{pupil.id}/paper", data={"consent": "yes"})
    assert r.status_code == 302 and r.headers["Location"] == f"/consents/classes/{klass.id}#pupil-{pupil.id}"
    row = db.session.scalar(select(PhotoConsent).where(PhotoConsent.pupil_id == pupil.id))
    assert (row.value, row.source, row.recorded_by_id) == ("yes", "paper", people["teacher who runs the school"].id)
    assert "Saved: photos of Zosia K. may be shared with the class." in office.get(r.headers["Location"]).text


def test_paper_form_with_htmx_answers_only_the_pupils_row(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["head"]).post(f"/consents/pupils/{pupil.id}/paper", data={"consent": "no"},
                                      headers=htmx_headers())
    assert r.status_code == 200 and "<html" not in r.text and "HX-Request" in r.headers["Vary"]
    assert r.text.strip().startswith(f'<tr id="pupil-{pupil.id}">') and r.text.strip().endswith("</tr>")
    assert "consent-no" in r.text and "Saved: photos of Zosia K. stay off the class page." in r.text
    assert f'action="/consents/pupils/{pupil.id}/paper"' in r.text
    assert consent_of(pupil) == "no"


def test_a_boosted_paper_form_gets_the_redirect(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["head"]).post(f"/consents/pupils/{pupil.id}/paper", data={"consent": "no"},
                                      headers=htmx_headers(**{"HX-Boosted": "true"}))
    assert r.status_code == 302 and consent_of(pupil) == "no"


@pytest.mark.parametrize("data", [{}, {"consent": "maybe"}, {"consent": ""}])
def test_a_paper_form_without_yes_or_no_changes_nothing(world, login_as, data):
    school, klass, other_class, pupil, people = world
    head = login_as(people["head"])
    r = head.post(f"/consents/pupils/{pupil.id}/paper", data=data, headers=htmx_headers())
    assert r.status_code == 200 and "Choose yes or no." in r.text
    r = head.post(f"/consents/pupils/{pupil.id}/paper", data=data)
    assert r.status_code == 302 and "Choose yes or no." in head.get(r.headers["Location"]).text
    assert consent_of(pupil) is None and rows_from(pupil, "paper") == 0


def test_class_list_queries_do_not_grow_with_the_class(world, login_as):
    school, klass, other_class, pupil, people = world
    client = login_as(people["head"])
    url = f"/consents/classes/{klass.id}"
    client.get(url)
    small = count_queries(lambda: client.get(url))
    for n in range(15):
        record_photo_consent(make_pupil(klass), "yes" if n % 2 else "no", source="paper", by=people["head"])
    assert count_queries(lambda: client.get(url)) == small


# ---- parents: the child's page --------------------------------------------------------------------

def test_the_childs_page_asks_first_while_nobody_has_answered(world, login_as):
    school, klass, other_class, pupil, people = world
    parent = login_as(people["parent"])
    r = parent.get(f"/family/child/{pupil.id}")
    assert r.text.count('id="photo-consent"') == 1
    assert r.text.index('id="photo-consent"') < r.text.index('id="points"')
    page = text_of(r)
    assert "Your answer: Not recorded" in page
    assert "Yes, photos of Zosia K. may be shared with the class" in page
    assert "No, keep photos of Zosia K. off the class page" in page
    assert "which only your family sees" in page
    record_photo_consent(pupil, "yes", source="parent", by=people["parent"])
    r = parent.get(f"/family/child/{pupil.id}")
    assert r.text.count('id="photo-consent"') == 1
    assert r.text.index('id="photo-consent"') > r.text.index('id="points"')
    assert "Your answer: Yes" in text_of(r)


def test_yes_and_no_have_equal_weight(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["parent"]).get(f"/family/child/{pupil.id}")
    buttons = re.findall(r'<button type="submit" name="consent" value="(yes|no)"[^>]*class="([^"]*)"', r.text)
    assert [value for value, _ in buttons] == ["yes", "no"]
    assert buttons[0][1] == buttons[1][1] == "secondary consent-button"
    assert f'action="/consents/pupils/{pupil.id}/photo"' in r.text and 'method="post"' in r.text
    assert 'hx-target="#photo-consent"' in r.text
    # The name sits in an element htmx leaves alone (SECURITY.md 16).
    assert '<span hx-disable>Zosia K.</span>' in r.text


def test_one_tap_changes_the_answer_either_way_without_javascript(world, login_as):
    school, klass, other_class, pupil, people = world
    parent = login_as(people["parent"])
    for value, sentence in (("yes", "Saved: photos of Zosia K. may be shared with the class."),
                            ("no", "Saved: photos of Zosia K. stay off the class page."),
                            ("yes", "Saved: photos of Zosia K. may be shared with the class.")):
        r = parent.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": value})
        assert r.status_code == 302 and r.headers["Location"] == f"/family/child/{pupil.id}#photo-consent"
        assert consent_of(pupil) == value
        page = parent.get(r.headers["Location"])
        assert sentence in page.text
        assert re.search(rf'value="{value}" id="photo-consent-{value}"[^>]*class="[^"]* chosen"', page.text, re.S)
    assert rows_from(pupil, "parent") == 3


def test_with_htmx_only_the_section_comes_back(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["parent"]).post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "no"},
                                        headers=htmx_headers())
    assert r.status_code == 200 and "<html" not in r.text and "HX-Request" in r.headers["Vary"]
    assert r.headers["HX-Trigger"] == "photoConsentChanged"
    assert r.text.strip().startswith('<section class="panel consent-panel" id="photo-consent"')
    assert 'id="points"' not in r.text
    assert "Your answer: No" in text_of(r) and "Saved: photos of Zosia K. stay off the class page." in r.text
    assert consent_of(pupil) == "no"


def test_a_boosted_choice_gets_the_redirect(world, login_as):
    school, klass, other_class, pupil, people = world
    r = login_as(people["parent"]).post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "yes"},
                                        headers=htmx_headers(**{"HX-Boosted": "true"}))
    assert r.status_code == 302 and consent_of(pupil) == "yes"


@pytest.mark.parametrize("data", [{}, {"consent": "maybe"}])
def test_a_choice_without_yes_or_no_changes_nothing(world, login_as, data):
    school, klass, other_class, pupil, people = world
    parent = login_as(people["parent"])
    r = parent.post(f"/consents/pupils/{pupil.id}/photo", data=data, headers=htmx_headers())
    assert r.status_code == 200 and "Choose yes or no." in r.text and 'id="photo-consent"' in r.text
    r = parent.post(f"/consents/pupils/{pupil.id}/photo", data=data)
    assert r.status_code == 302 and "Choose yes or no." in parent.get(r.headers["Location"]).text
    assert consent_of(pupil) is None and rows_from(pupil, "parent") == 0


def test_a_second_parent_sees_and_changes_the_same_answer(world, login_as):
    school, klass, other_class, pupil, people = world
    second = make_parent(school, children=[pupil])
    record_photo_consent(pupil, "yes", source="parent", by=people["parent"])
    c = login_as(second)
    assert "Your answer: Yes" in text_of(c.get(f"/family/child/{pupil.id}"))
    c.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "no"})
    row = db.session.scalar(select(PhotoConsent).where(PhotoConsent.pupil_id == pupil.id)
                            .order_by(PhotoConsent.id.desc()).limit(1))
    assert (row.value, row.recorded_by_id) == ("no", second.id)


# ---- asked once, straight after linking a child ---------------------------------------------------

def _join_existing_parent(client, parent_user, pupil):
    [(_, code)] = passcodes.issue_passcodes([pupil], make_head(pupil.school))
    sign_in(client, parent_user)
    client.post("/join", data={"code": code})
    return client.post("/join/confirm")


def test_after_linking_the_parent_is_asked_about_photos(world, client):
    school, klass, other_class, pupil, people = world
    newcomer = make_pupil(klass, name="Maja K.")
    r = _join_existing_parent(client, people["parent"], newcomer)
    assert r.status_code == 302 and r.headers["Location"] == f"/family/child/{newcomer.id}#photo-consent"
    page = text_of(client.get(r.headers["Location"]))
    assert "Maja K. is now linked to your account." in page
    assert "may photos of them be shared on the Class Story?" in page


def test_a_child_whose_photo_question_is_answered_is_not_asked_again(world, client):
    school, klass, other_class, pupil, people = world
    record_photo_consent(pupil, "no", source="parent", by=people["parent"])
    r = _join_existing_parent(client, make_parent(school), pupil)
    assert r.status_code == 302 and r.headers["Location"] == "/family/"
    assert "may photos of them be shared" not in client.get("/family/").text


def test_a_new_parent_is_asked_too(app, client):
    school = make_school()
    pupil = make_pupil(make_class(school), name="Zosia K.")
    [(_, code)] = passcodes.issue_passcodes([pupil], make_head(school))
    client.post("/join", data={"code": code})
    r = client.post("/join/account", data={"name": "Anna Kowalska", "email": "anna@example.org",
                                           "password": "a quiet river morning",
                                           "confirm": "a quiet river morning", "language": "en"})
    assert r.status_code == 302 and r.headers["Location"] == f"/family/child/{pupil.id}#photo-consent"


# ---- CSRF (SECURITY.md 15) ------------------------------------------------------------------------

def test_consent_posts_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        school = make_school()
        pupil = make_pupil(make_class(school), name="Zosia K.")
        parent = sign_in(app.test_client(), make_parent(school, children=[pupil]))
        office = sign_in(app.test_client(), make_head(school))
        assert parent.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "no"}).status_code == 400
        assert parent.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "no"},
                           headers=htmx_headers()).status_code == 400
        assert office.post(f"/consents/pupils/{pupil.id}/paper", data={"consent": "no"}).status_code == 400
        assert consent_of(pupil) is None
        token = re.search(r'name="csrf_token" value="([^"]+)"', parent.get(f"/family/child/{pupil.id}").text).group(1)
        r = parent.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "no"},
                        headers=htmx_headers(**{"X-CSRFToken": token}))
        assert r.status_code == 200 and consent_of(pupil) == "no"
        r = parent.post(f"/consents/pupils/{pupil.id}/photo", data={"consent": "yes", "csrf_token": token})
        assert r.status_code == 302 and consent_of(pupil) == "yes"
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          office.get(f"/consents/classes/{pupil.class_id}").text).group(1)
        r = office.post(f"/consents/pupils/{pupil.id}/paper", data={"consent": "no", "csrf_token": token})
        assert r.status_code == 302 and consent_of(pupil) == "no"
