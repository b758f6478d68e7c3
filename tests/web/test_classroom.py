"""Pupil sign-in on the class iPad, the class board and the home sign-in sheets."""
import re
import time

import pytest
import time_machine

from app.extensions import db
from app.models import AuditEntry, Pupil
from app.models.base import utcnow
from app.models.people import PICTURES
from tests.conftest import htmx_headers, sign_in
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)

CODE = "QWERTY"
RIGHT = ["sun", "cat", "tree"]
WRONG = ["moon", "star", "fish"]


def pictures_url(pupil, code=CODE):
    return f"/classroom/c/{code}/p/{pupil.id}"


def tap(client, pupil, picks, code=CODE, **kw):
    response = None
    for pick in picks:
        response = client.post(pictures_url(pupil, code), data={"pick": pick}, **kw)
    return response


def signed_in_as(client):
    with client.session_transaction() as sess:
        return sess.get("_user_id")


@pytest.fixture
def room(app):
    """A Year 1 class (3 pictures) with two pupils, its teacher and a pupil of another class."""
    school = make_school(name="Hearth Demo Primary")
    klass = make_class(school, name="Robins", year_group=2, class_code=CODE)
    other = make_class(school, name="Wrens", year_group=2, class_code="ASDFGH")
    zosia = make_pupil(klass, name="Zosia K.", avatar="owl", picture_password="sun-cat-tree")
    amir = make_pupil(klass, name="Amir H.", avatar="frog", picture_password="ball-car-moon")
    wren = make_pupil(other, name="Wren P.", picture_password="sun-cat-tree")
    teacher = make_teacher(school, classes=[klass])
    return {"school": school, "klass": klass, "other": other, "zosia": zosia, "amir": amir,
            "wren": wren, "teacher": teacher}


# ---- the whole journey -----------------------------------------------------------------------

def test_code_names_pictures_home_and_sign_out_back_to_the_class(client, room):
    zosia = room["zosia"]
    r = client.get("/classroom/")
    assert r.status_code == 200 and "Enter your class code" in r.text

    r = client.post("/classroom/", data={"code": " qwe rty "})
    assert r.status_code == 302 and r.location == f"/classroom/c/{CODE}"

    r = client.get(r.location)
    assert r.status_code == 200 and "Tap your name" in r.text
    assert "Zosia K." in r.text and "Amir H." in r.text and "Wren P." not in r.text
    assert "sprite.svg#avatar-owl" in r.text and "sprite.svg#avatar-frog" in r.text
    assert f'href="{pictures_url(zosia)}"' in r.text

    r = client.get(pictures_url(zosia))
    assert r.status_code == 200 and "Tap your pictures" in r.text
    for name, label in PICTURES.items():
        assert f'name="pick" value="{name}"' in r.text and f"#pic-{name}" in r.text
        assert f'<span class="vh">{label}</span>' in r.text
    assert "0 of 3 chosen" in r.text and r.text.count('class="dot"') == 3
    assert 'method="post"' in r.text and f'hx-post="{pictures_url(zosia)}"' in r.text

    r = tap(client, zosia, ["sun"])
    assert r.status_code == 302 and r.location == pictures_url(zosia)  # POST, redirect, GET
    r = client.get(pictures_url(zosia))
    assert "1 of 3 chosen" in r.text and r.text.count('class="dot on"') == 1
    assert signed_in_as(client) is None

    r = tap(client, zosia, ["cat", "tree"])
    assert r.status_code == 302 and r.location == "/classroom/me"
    assert signed_in_as(client) == zosia.get_id()

    r = client.get("/classroom/me")
    assert r.status_code == 200
    assert "Hello, Zosia K.!" in r.text and "Robins" in r.text and "#avatar-owl" in r.text
    assert 'action="/classroom/sign-out"' in r.text and "sign-out" in r.text
    assert r.headers["Cache-Control"] == "private, no-store"

    r = client.post("/classroom/sign-out")
    assert r.status_code == 302 and r.location == f"/classroom/c/{CODE}"
    assert signed_in_as(client) is None
    assert client.get("/classroom/me").status_code == 302  # signed out: sent to sign in
    r = client.get(f"/classroom/c/{CODE}")
    assert "You have signed out." in r.text
    # The iPad remembers its class: the start page goes straight to the names.
    r = client.get("/classroom/")
    assert r.status_code == 302 and r.location == f"/classroom/c/{CODE}"


def test_picture_sign_in_works_with_the_pictures_of_an_older_class(client, room):
    older = make_class(room["school"], year_group=6, class_code="ZXCVBN")
    kai = make_pupil(older, picture_password="heart-apple-house-ball")
    assert tap(client, kai, ["heart", "apple", "house"], code="ZXCVBN").location == pictures_url(kai, "ZXCVBN")
    assert "3 of 4 chosen" in client.get(pictures_url(kai, "ZXCVBN")).text
    assert tap(client, kai, ["ball"], code="ZXCVBN").location == "/classroom/me"


def test_sign_out_without_a_remembered_class_goes_to_the_pupils_class(app, login_as, room):
    client = login_as(room["zosia"])
    r = client.post("/classroom/sign-out")
    assert r.status_code == 302 and r.location == f"/classroom/c/{CODE}"
    assert app.test_client().post("/classroom/sign-out").location == "/classroom/"


def test_sign_out_ends_the_pupils_other_sessions(app, login_as, room):
    ipad, home = login_as(room["zosia"]), login_as(room["zosia"])
    ipad.post("/classroom/sign-out")
    assert home.get("/classroom/me").status_code == 302


# ---- wrong input -----------------------------------------------------------------------------

def test_wrong_pictures_get_a_gentle_message_and_start_again(client, room):
    zosia = room["zosia"]
    r = tap(client, zosia, WRONG)
    assert r.status_code == 302 and r.location == pictures_url(zosia)
    assert signed_in_as(client) is None
    r = client.get(pictures_url(zosia))
    assert "Those pictures were not right. Try again, or ask your teacher." in r.text
    assert "0 of 3 chosen" in r.text
    # Shown once; the next try starts from nothing and can succeed.
    assert "not right" not in client.get(pictures_url(zosia)).text
    assert tap(client, zosia, RIGHT).location == "/classroom/me"


def test_the_right_pictures_in_the_wrong_order_are_wrong(client, room):
    zosia = room["zosia"]
    tap(client, zosia, ["tree", "cat", "sun"])
    assert signed_in_as(client) is None
    assert "not right" in client.get(pictures_url(zosia)).text


def test_start_again_and_not_me(client, room):
    zosia = room["zosia"]
    tap(client, zosia, ["moon", "star"])
    r = client.post(pictures_url(zosia), data={"again": "1"})
    assert r.location == pictures_url(zosia)
    assert "0 of 3 chosen" in client.get(pictures_url(zosia)).text
    assert tap(client, zosia, RIGHT).location == "/classroom/me"

    other = room["amir"]
    fresh = client.application.test_client()
    tap(fresh, other, ["ball", "car"])
    r = fresh.get(pictures_url(other))
    assert f'href="/classroom/c/{CODE}"' in r.text and "Not me" in r.text
    fresh.get(f"/classroom/c/{CODE}")  # "Not me": back to the names forgets the taps
    assert "0 of 3 chosen" in fresh.get(pictures_url(other)).text


def test_taps_of_one_pupil_do_not_count_for_another(client, room):
    zosia, amir = room["zosia"], room["amir"]
    tap(client, zosia, ["ball", "car"])
    r = client.get(pictures_url(amir))
    assert "0 of 3 chosen" in r.text
    tap(client, amir, ["moon"])
    assert signed_in_as(client) is None
    assert "1 of 3 chosen" in client.get(pictures_url(amir)).text


def test_a_picture_that_does_not_exist_is_ignored(client, room):
    zosia = room["zosia"]
    r = client.post(pictures_url(zosia), data={"pick": "dragon"})
    assert r.status_code == 302
    assert "0 of 3 chosen" in client.get(pictures_url(zosia)).text


def test_wrong_class_code_is_kept_with_a_plain_message(client, room):
    r = client.post("/classroom/", data={"code": "zzzzzz"})
    assert r.status_code == 200
    assert "We could not find a class with that code." in r.text
    assert 'value="zzzzzz"' in r.text and 'aria-invalid="true"' in r.text
    r = client.post("/classroom/", data={"code": "qw0"})
    assert "A class code has 6 letters and numbers." in r.text and 'value="qw0"' in r.text
    r = client.post("/classroom/", data={"code": ""})
    assert "Type your class code." in r.text


def test_unknown_or_archived_class_in_the_address_shows_the_start_page(client, room):
    r = client.get("/classroom/c/ZZZZZZ")
    assert r.status_code == 404 and "We could not find that class." in r.text
    assert "Enter your class code" in r.text
    archived = make_class(room["school"], class_code="HJKMNP", archived_at=utcnow())
    make_pupil(archived)
    assert client.get("/classroom/c/HJKMNP").status_code == 404


def test_class_code_in_lower_case_goes_to_the_proper_address(client, room):
    r = client.get("/classroom/c/qwerty")
    assert r.status_code == 302 and r.location == f"/classroom/c/{CODE}"


@pytest.mark.parametrize("who", ["wren", "left", "unknown"])
def test_a_pupil_who_is_not_in_the_class_gives_404(client, room, who):
    if who == "wren":
        pupil_id = room["wren"].id
    elif who == "left":
        pupil_id = make_pupil(room["klass"], status="left").id
    else:
        pupil_id = 99999
    assert client.get(f"/classroom/c/{CODE}/p/{pupil_id}").status_code == 404
    assert client.post(f"/classroom/c/{CODE}/p/{pupil_id}", data={"pick": "sun"}).status_code == 404
    assert signed_in_as(client) is None


def test_another_schools_pupil_gives_404(client, room):
    far = make_pupil(make_class(make_school(), class_code="ZXCVBN"), picture_password="sun-cat-tree")
    assert client.get(pictures_url(far)).status_code == 404
    tap(client, far, RIGHT)
    assert signed_in_as(client) is None


# ---- htmx -------------------------------------------------------------------------------------

def test_htmx_tap_swaps_only_the_picture_area(client, room):
    zosia = room["zosia"]
    r = client.post(pictures_url(zosia), data={"pick": "sun"}, headers=htmx_headers())
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="picture-status">')  # the pictures stay put
    assert "<html" not in r.text and "Zosia K." not in r.text
    assert "1 of 3 chosen" in r.text
    assert "HX-Request" in r.headers["Vary"]

    r = client.post(pictures_url(zosia), data={"pick": "moon"}, headers=htmx_headers())
    r = client.post(pictures_url(zosia), data={"pick": "fish"}, headers=htmx_headers())
    assert "Those pictures were not right" in r.text and "0 of 3 chosen" in r.text
    assert "<html" not in r.text

    for pick in ["sun", "cat"]:
        client.post(pictures_url(zosia), data={"pick": pick}, headers=htmx_headers())
    r = client.post(pictures_url(zosia), data={"pick": "tree"}, headers=htmx_headers())
    assert r.headers["HX-Redirect"] == "/classroom/me" and not r.text
    assert signed_in_as(client) == zosia.get_id()


def test_full_page_for_a_boosted_or_plain_get(client, room):
    r = client.get(pictures_url(room["zosia"]), headers=htmx_headers(**{"HX-Boosted": "true"}))
    assert "<html" in r.text and "Zosia K." in r.text


# ---- the cookie that remembers the iPad's class ---------------------------------------------

def test_class_cookie_is_http_only_lax_for_a_year(client, room):
    r = client.get(f"/classroom/c/{CODE}")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"hearth_classroom={CODE};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/classroom" in cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))
    assert max_age >= 365 * 24 * 3600


def test_a_different_class_and_a_stale_cookie(client, room):
    client.get(f"/classroom/c/{CODE}")
    r = client.get("/classroom/?change=1")
    assert r.status_code == 200 and "Enter your class code" in r.text
    assert client.post("/classroom/", data={"code": "asdfgh"}).location == "/classroom/c/ASDFGH"
    client.get("/classroom/c/ASDFGH")
    assert client.get("/classroom/").location == "/classroom/c/ASDFGH"

    room["other"].archived_at = utcnow()
    db.session.commit()
    r = client.get("/classroom/")
    assert r.status_code == 200 and "Enter your class code" in r.text
    assert "hearth_classroom=;" in r.headers["Set-Cookie"]


def test_signed_in_pupil_goes_to_their_home(login_as, room):
    client = login_as(room["zosia"])
    assert client.get("/classroom/").location == "/classroom/me"
    assert client.get(f"/classroom/c/{CODE}").location == "/classroom/me"
    assert client.get(pictures_url(room["amir"])).location == "/classroom/me"


def test_a_grown_up_signed_in_on_the_ipad_is_offered_to_sign_out(login_as, room):
    client = login_as(room["teacher"])
    r = client.get(f"/classroom/c/{CODE}")
    assert "Sign out before pupils use this device." in r.text
    r = client.post("/classroom/sign-out")
    assert r.location == f"/classroom/c/{CODE}" and signed_in_as(client) is None


# ---- throttling ------------------------------------------------------------------------------

def test_too_many_wrong_sequences_ask_for_the_teacher_then_cool_down(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PUPIL_LIMIT_PER_PUPIL="10 per 5 minutes")
    with app.app_context(), time_machine.travel(time.time(), tick=False) as traveller:
        klass = make_class(make_school(), year_group=2, class_code=CODE)
        zosia = make_pupil(klass, picture_password="sun-cat-tree")
        amir = make_pupil(klass, picture_password="ball-car-moon")
        client = app.test_client()
        for _ in range(9):
            tap(client, zosia, WRONG)
        assert "not right" in client.get(pictures_url(zosia)).text
        tap(client, zosia, WRONG)
        r = client.get(pictures_url(zosia))
        assert "Ask your teacher to help you sign in." in r.text
        assert 'name="pick"' not in r.text

        # The right pictures are refused during the cool-down, on any device.
        r = client.post(pictures_url(zosia), data={"pick": "sun"})
        assert "Ask your teacher" in client.get(r.location).text
        another_ipad = app.test_client()
        tap(another_ipad, zosia, RIGHT)
        assert signed_in_as(another_ipad) is None
        r = another_ipad.post(pictures_url(zosia), data={"pick": "sun"}, headers=htmx_headers())
        assert r.status_code == 200 and "Ask your teacher" in r.text
        # A classmate signs in as usual.
        assert tap(app.test_client(), amir, ["ball", "car", "moon"]).location == "/classroom/me"
        assert db.session.query(AuditEntry).filter_by(action="pupil.sign_in_locked").count() == 1

        traveller.shift(5 * 60 + 1)
        assert 'name="pick"' in client.get(pictures_url(zosia)).text
        assert tap(client, zosia, RIGHT).location == "/classroom/me"


def test_wrong_class_codes_are_limited_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PUPIL_LIMIT_PER_IP="3 per 5 minutes")
    with app.app_context():
        make_class(make_school(), class_code=CODE)
        client = app.test_client()
        for _ in range(5):  # right codes do not count: a whole school shares one address
            assert client.post("/classroom/", data={"code": CODE}).status_code == 302
        for _ in range(3):
            assert client.post("/classroom/", data={"code": "ZZZZZZ"}).status_code == 200
        r = client.post("/classroom/", data={"code": "ZZZZZZ"})
        assert r.status_code == 429 and "Too many attempts" in r.text
        assert client.get("/classroom/?change=1").status_code == 200


def test_picture_taps_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        zosia = make_pupil(make_class(make_school(), class_code=CODE))
        client = app.test_client()
        assert client.post(pictures_url(zosia), data={"pick": "sun"}).status_code == 400
        r = client.get(pictures_url(zosia))
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        assert client.post(pictures_url(zosia), data={"pick": "sun", "csrf_token": token}).status_code == 302


# ---- the teacher's pages ---------------------------------------------------------------------

def test_class_board_shows_the_code_and_a_qr_code(login_as, room):
    klass = room["klass"]
    r = login_as(room["teacher"]).get(f"/classroom/show/{klass.id}")
    assert r.status_code == 200
    assert f'<p class="class-code">{CODE}</p>' in r.text
    svg = re.search(r"<svg role=\"img\".*?</svg>", r.text, re.DOTALL).group(0)
    assert "style" not in svg and "<?xml" not in svg
    assert f"http://localhost/classroom/c/{CODE}" in svg  # the QR code's title names its address
    assert f'href="http://localhost/classroom/c/{CODE}"' in r.text
    assert f'action="/classroom/show/{klass.id}/open"' in r.text
    assert "Open pupil sign-in on this device" in r.text
    assert "style=" not in r.text


def test_class_board_uses_the_request_host_without_public_url(make_app):
    app = make_app(PUBLIC_URL=None)
    with app.app_context():
        school = make_school()
        klass = make_class(school, class_code=CODE)
        teacher = make_teacher(school, classes=[klass])
        r = sign_in(app.test_client(), teacher).get(f"/classroom/show/{klass.id}",
                                                    base_url="http://localhost:8123")
        assert f"http://localhost:8123/classroom/c/{CODE}" in r.text


def test_opening_pupil_sign_in_signs_the_teacher_out_on_that_device(login_as, room):
    client = login_as(room["teacher"])
    r = client.post(f"/classroom/show/{room['klass'].id}/open")
    assert r.status_code == 302 and r.location == f"/classroom/c/{CODE}"
    assert signed_in_as(client) is None
    assert "hearth_classroom=QWERTY" in client.get(r.location).headers["Set-Cookie"]


def test_teacher_gives_new_pictures(login_as, room):
    zosia = room["zosia"]
    zosia.picture_password = "ball-ball-ball"
    db.session.commit()
    r = login_as(room["teacher"]).post(f"/classroom/pupils/{zosia.id}/new-pictures")
    assert r.status_code == 302 and r.location == f"/classroom/sheets/pupil/{zosia.id}"
    db.session.expire_all()
    assert db.session.get(Pupil, zosia.id).picture_password != "ball-ball-ball"
    assert db.session.query(AuditEntry).filter_by(action="pupil.picture_password_changed",
                                                  target_id=zosia.id).count() == 1


# ---- who may see what ------------------------------------------------------------------------

ROLES = ["teacher of class", "other teacher", "head", "senior leader", "the pupil's parent",
         "another parent", "the pupil", "another pupil", "anonymous", "another school's head"]


def _people(room):
    school = room["school"]
    far = make_school()
    return {
        "teacher of class": room["teacher"],
        "other teacher": make_teacher(school, classes=[room["other"]]),
        "head": make_head(school),
        "senior leader": make_senior(school),
        "the pupil's parent": make_parent(school, children=[room["zosia"]]),
        "another parent": make_parent(school, children=[room["wren"]]),
        "the pupil": room["zosia"],
        "another pupil": room["amir"],
        "anonymous": None,
        "another school's head": make_head(far),
    }


def _client(app, account):
    client = app.test_client()
    return sign_in(client, account) if account is not None else client


PUPIL_SHEET = {
    "teacher of class": 200, "other teacher": 404, "head": 200, "senior leader": 404,
    "the pupil's parent": 200, "another parent": 404, "the pupil": 404, "another pupil": 404,
    "anonymous": 302, "another school's head": 404,
}
CLASS_PAGES = {
    "teacher of class": 200, "other teacher": 404, "head": 200, "senior leader": 404,
    "the pupil's parent": 404, "another parent": 404, "the pupil": 404, "another pupil": 404,
    "anonymous": 302, "another school's head": 404,
}
NEW_PICTURES = {
    "teacher of class": 302, "other teacher": 404, "head": 302, "senior leader": 404,
    "the pupil's parent": 404, "another parent": 404, "the pupil": 404, "another pupil": 404,
    "anonymous": 302, "another school's head": 404,
}


@pytest.mark.parametrize("role", ROLES)
def test_sheet_and_board_access(app, room, role):
    account = _people(room)[role]
    client = _client(app, account)
    zosia, klass = room["zosia"], room["klass"]
    assert client.get(f"/classroom/sheets/pupil/{zosia.id}").status_code == PUPIL_SHEET[role]
    assert client.get(f"/classroom/sheets/class/{klass.id}").status_code == CLASS_PAGES[role]
    assert client.get(f"/classroom/show/{klass.id}").status_code == CLASS_PAGES[role]


def _new_pictures_cells():
    for role in ROLES:
        yield pytest.param(role, id=role)


@pytest.mark.parametrize("role", list(_new_pictures_cells()))
def test_new_pictures_access(app, room, role):
    account = _people(room)[role]
    zosia = room["zosia"]
    before = zosia.picture_password = "ball-ball-ball"
    db.session.commit()
    r = _client(app, account).post(f"/classroom/pupils/{zosia.id}/new-pictures")
    assert r.status_code == NEW_PICTURES[role]
    db.session.expire_all()
    changed = db.session.get(Pupil, zosia.id).picture_password != before
    assert changed is (NEW_PICTURES[role] == 302 and account is not None)


def test_home_sheet_shows_everything_a_grown_up_needs(app, room):
    zosia = room["zosia"]
    parent = make_parent(room["school"], children=[zosia])
    r = _client(app, parent).get(f"/classroom/sheets/pupil/{zosia.id}")
    text = r.text
    assert "Hearth Demo Primary" in text and "Zosia K." in text and "Robins" in text
    assert "http://localhost/classroom/" in text and CODE in text
    assert '<svg role="img"' in text and "data-print" in text and 'class="panel letter sheet"' in text
    order = [text.index(f"#pic-{name}") for name in RIGHT]
    assert order == sorted(order)
    assert "1. Sun" in text and "2. Cat" in text and "3. Tree" in text
    assert text.count("<li>", text.index("For a grown-up at home")) == 3
    assert "Give new pictures" not in text  # only staff can change the pictures
    assert "Give new pictures" in _client(app, room["teacher"]).get(
        f"/classroom/sheets/pupil/{zosia.id}").text


def test_class_sheets_have_one_page_per_active_pupil(app, room):
    make_pupil(room["klass"], name="Gone A.", status="left")
    r = _client(app, room["teacher"]).get(f"/classroom/sheets/class/{room['klass'].id}")
    assert r.status_code == 200
    assert r.text.count('class="panel letter sheet"') == 2
    assert "Zosia K." in r.text and "Amir H." in r.text and "Gone A." not in r.text
    assert "Wren P." not in r.text
    assert "#pic-ball" in r.text and "#pic-car" in r.text


def test_a_signed_in_pupil_cannot_reach_staff_or_parent_pages(login_as, room):
    client = login_as(room["zosia"])
    for path in ["/classes/", "/family/", "/admin/", f"/family/child/{room['zosia'].id}",
                 f"/classroom/show/{room['klass'].id}", f"/classroom/sheets/class/{room['klass'].id}",
                 f"/classroom/sheets/pupil/{room['zosia'].id}"]:
        assert client.get(path).status_code == 404, path


def test_a_signed_in_pupil_cannot_use_staff_actions(login_as, room):
    client = login_as(room["zosia"])
    assert client.post(f"/classroom/pupils/{room['zosia'].id}/new-pictures").status_code == 404
    assert client.post(f"/classroom/show/{room['klass'].id}/open").status_code == 404
