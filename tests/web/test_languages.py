"""The interface in the family's language: how the language is chosen, the picker on every page,
right-to-left for Arabic and Urdu, numbers, plurals and dates in the reader's locale."""
import re
from datetime import datetime

import pytest

from app.extensions import db
from app.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES
from tests.conftest import htmx_headers
from tests.factories import make_class, make_parent, make_pupil, make_school, make_teacher


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    pupil = make_pupil(klass, name="Zosia K.")
    return dict(school=school, klass=klass, pupil=pupil, parent=make_parent(school, children=[pupil]),
                teacher=make_teacher(school, classes=[klass]))


def _lang(response):
    match = re.search(r'<html lang="([^"]+)" dir="(\w+)"', response.get_data(as_text=True))
    return match.groups()


def test_the_browser_language_is_used_when_nothing_else_is_known(world, client):
    assert _lang(client.get("/auth/login", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"})) == ("pl", "ltr")
    assert _lang(client.get("/auth/login", headers={"Accept-Language": "xx, en;q=0.1"})) == ("en-GB", "ltr")


def test_the_schools_default_comes_before_the_browser(world, client):
    world["school"].default_locale = "ro"
    db.session.commit()
    assert _lang(client.get("/auth/login", headers={"Accept-Language": "pl"}))[0] == "ro"


def test_a_cookie_comes_before_the_school_and_the_picker_sets_it(world, client):
    world["school"].default_locale = "ro"
    db.session.commit()
    response = client.post("/language", data={"language": "ur", "next": "/auth/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    assert LANGUAGE_COOKIE in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert _lang(client.get("/auth/login", headers={"Accept-Language": "pl"})) == ("ur", "rtl")


def test_the_saved_preference_comes_first(world, login_as):
    client = login_as(world["parent"])
    client.set_cookie(LANGUAGE_COOKIE, "es")
    world["parent"].locale = "ar"
    db.session.commit()
    assert _lang(client.get("/family/", headers={"Accept-Language": "pl"})) == ("ar", "rtl")


def test_choosing_a_language_signed_in_saves_it(world, login_as):
    client = login_as(world["parent"])
    client.post("/language", data={"language": "lt", "next": "/family/"})
    db.session.refresh(world["parent"])
    assert world["parent"].locale == "lt"


def test_an_unknown_language_or_an_outside_address_changes_nothing(world, client):
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]
    assert LANGUAGE_COOKIE not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("path", ["/auth/login", "/join", "/classroom/", "/auth/forgot"])
def test_the_picker_is_on_the_sign_in_and_passcode_pages_in_each_languages_own_name(world, client, path):
    page = client.get(path).get_data(as_text=True)
    assert 'action="/language"' in page
    for code in ("pl", "ur", "ar", "ro", "pa", "bn", "pt", "es", "lt", "so", "uk", "gu"):
        assert f'<option value="{code}" lang="{code}"' in page
        assert LANGUAGE_NAMES[code] in page
    assert "ਪੰਜਾਬੀ" in page and "اردو" in page and "Українська" in page


def test_the_picker_is_on_signed_in_pages_too(world, login_as):
    for who, path in (("parent", "/family/"), ("teacher", "/classes/")):
        assert 'action="/language"' in login_as(world[who]).get(path).get_data(as_text=True)


@pytest.mark.parametrize("code,word", [("pl", "Zaloguj"), ("uk", "Увійти"), ("es", "Iniciar sesión")])
def test_the_interface_is_translated(world, client, code, word):
    client.set_cookie(LANGUAGE_COOKIE, code)
    assert word in client.get("/auth/login").get_data(as_text=True)


@pytest.mark.parametrize("code", ["ar", "ur"])
def test_arabic_and_urdu_are_right_to_left(world, login_as, code):
    world["parent"].locale = code
    db.session.commit()
    assert _lang(login_as(world["parent"]).get("/family/")) == (code, "rtl")


def test_an_htmx_fragment_is_in_the_readers_language_too(world, login_as):
    world["parent"].locale = "pl"
    db.session.commit()
    client = login_as(world["parent"])
    page = client.get("/stories/", headers=htmx_headers()).get_data(as_text=True)
    assert "Class Story" not in page or "Historia klasy" in page


def test_dates_and_numbers_follow_the_readers_locale(app, world):
    from flask_babel import force_locale, format_date, format_decimal
    with app.test_request_context():
        day = datetime(2027, 3, 3, 12, 0)
        with force_locale("pl"):
            assert "marca" in format_date(day, "long")
        with force_locale("ar"):
            assert "مارس" in format_date(day, "long")
        with force_locale("en_GB"):
            assert format_date(day, "long") == "3 March 2027"
            assert format_decimal(12345) == "12,345"
        with force_locale("pt"):
            assert format_decimal(12345.5).endswith(",5")  # a decimal comma, not the English point


def test_the_style_sheet_uses_logical_properties_only():
    from pathlib import Path
    css = (Path(__file__).resolve().parents[2] / "app" / "static" / "css" / "app.css").read_text()
    physical = re.findall(r"(?:margin|padding|border)-(?:left|right)|[;{\s](?:left|right)\s*:|"
                          r"text-align\s*:\s*(?:left|right)|float\s*:\s*(?:left|right)", css)
    assert physical == []
