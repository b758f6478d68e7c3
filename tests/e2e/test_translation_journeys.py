"""Translation as families use it: a parent who reads Urdu opens the Class Story on a phone, sees a
teacher's English post, taps Translate and reads it in Urdu with "Show original" one tap away, on a
right-to-left page; chooses "Always translate" and the next post arrives translated by itself; and
the same with JavaScript off. Zero axe violations.

The provider is a LibreTranslate stand-in on 127.0.0.1 (tests/translation_servers.py); the browser
only ever talks to Hearth. Interface wording may be Urdu or English (whichever the Urdu catalog
has): the journeys look at structure, direction and the translated text."""
import os
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_parent, make_post, make_pupil, make_school, make_teacher

MUSEUM = "Our trip to the museum was wonderful. The children loved the dinosaurs!"
MUSEUM_UR = "عجائب گھر کا ہمارا دورہ شاندار رہا۔ بچوں کو ڈائنوسار بہت پسند آئے!"
HARVEST = "Harvest festival on Friday: please send a tin or a packet for the food bank."
HARVEST_UR = "جمعہ کو فصل کا تہوار ہے: براہ کرم فوڈ بینک کے لیے کوئی ڈبہ یا پیکٹ بھیجیں۔"


@pytest.fixture
def urdu_catalog(live_server):
    """The Urdu interface is offered when its catalog is compiled (`make translations` does it)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    folder = os.path.join(live_server.app.root_path, "i18n", "ur", "LC_MESSAGES")
    if not os.path.exists(os.path.join(folder, "messages.mo")):
        with open(os.path.join(folder, "messages.po"), "rb") as source:
            catalog = read_po(source, locale="ur")
        with open(os.path.join(folder, "messages.mo"), "wb") as target:
            write_mo(target, catalog)
    live_server.app.extensions.pop("hearth_languages", None)


@pytest.fixture
def world(live_server, libre_server, urdu_catalog):
    # A generous deadline: a CI machine running many browsers at once is slow (the deadline has unit tests).
    live_server.app.config.update(libre_server.provider_config("libre"), TRANSLATION_PREFETCH="off",
                                  TRANSLATION_TIMEOUT=15)
    libre_server.phrases[("ur", MUSEUM)] = MUSEUM_UR
    libre_server.phrases[("ur", HARVEST)] = HARVEST_UR
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K")
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        maja = make_pupil(klass, name="Maja H.")
        make_parent(school, children=[maja], name="Farah Hussain", email="farah@example.org", locale="ur")
        post = make_post(teacher, klass, body=MUSEUM, language="en")
        return {"class_id": klass.id, "teacher_id": teacher.id, "post_id": post.id, "parent": "farah@example.org"}


def _new_post(live_server, world, body):
    with live_server.app.app_context():
        from app.extensions import db
        from app.models import SchoolClass, User
        post = make_post(db.session.get(User, world["teacher_id"]), db.session.get(SchoolClass, world["class_id"]),
                         body=body, language="en")
        return post.id


def _right_to_left_in_urdu(page):
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ur")


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_an_urdu_reading_parent_reads_a_teachers_english_post_in_urdu(live_server, world, page, check_axe,
                                                                      libre_server):
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto("/stories/")
    _right_to_left_in_urdu(page)
    text = page.locator(f"#tr-post-{world['post_id']}")
    expect(text.locator(".post-body")).to_have_text(MUSEUM)
    expect(text.locator(".post-body")).to_have_attribute("lang", "en")
    check_axe(page)

    text.locator("form.translate-form button").click()
    translated = page.locator(f"#tr-post-{world['post_id']} .post-body[lang=ur]")
    expect(translated).to_have_text(MUSEUM_UR)
    original = page.locator(f"#tr-post-{world['post_id']} details.original")
    expect(original.locator("summary")).to_be_visible()
    expect(original.locator(".post-body[lang=en]")).to_be_hidden()
    check_axe(page)
    original.locator("summary").click()
    expect(original.locator(".post-body[lang=en]")).to_have_text(MUSEUM)
    check_axe(page)
    assert libre_server.texts == [MUSEUM]

    # "Always translate": the stored translation shows at once, a new post translates itself on load.
    page.goto("/auth/account")
    page.locator("#always_translate").check()
    with page.expect_response(lambda response: response.url.endswith("/translate/preference")):
        page.locator("form[action='/translate/preference'] button").click()
    page.wait_for_load_state()
    expect(page.locator("#always_translate")).to_be_checked()
    harvest_id = _new_post(live_server, world, HARVEST)
    page.goto("/stories/")
    expect(page.locator(f"#tr-post-{world['post_id']} .post-body[lang=ur]")).to_have_text(MUSEUM_UR)
    expect(page.locator(f"#tr-post-{harvest_id} .post-body[lang=ur]")).to_have_text(HARVEST_UR)
    _right_to_left_in_urdu(page)
    check_axe(page)
    assert libre_server.texts == [MUSEUM, HARVEST]


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_with_javascript_off_translate_is_a_plain_form_and_show_original_still_works(live_server, world,
                                                                                     make_context, check_axe):
    page = make_context(java_script_enabled=False).new_page()
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto("/stories/")
    _right_to_left_in_urdu(page)
    page.locator(f"#tr-post-{world['post_id']} form.translate-form button").click()
    page.wait_for_url(re.compile(rf"/stories/#tr-post-{world['post_id']}$"))
    expect(page.locator(f"#tr-post-{world['post_id']} .post-body[lang=ur]")).to_have_text(MUSEUM_UR)
    original = page.locator(f"#tr-post-{world['post_id']} details.original")
    original.locator("summary").click()
    expect(original.locator(".post-body[lang=en]")).to_have_text(MUSEUM)

    # axe needs scripts: the same page with JavaScript on, the translation now from the school's cache.
    seen = make_context().new_page()
    sign_in(seen, world["parent"], PASSWORD)
    seen.wait_for_url(re.compile(r"/family/"))
    seen.goto("/stories/")
    seen.locator(f"#tr-post-{world['post_id']} form.translate-form button").click()
    expect(seen.locator(f"#tr-post-{world['post_id']} .post-body[lang=ur]")).to_have_text(MUSEUM_UR)
    seen.locator(f"#tr-post-{world['post_id']} details.original summary").click()
    check_axe(seen)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_the_head_keeps_a_term_out_of_translation(live_server, world, page, check_axe):
    with live_server.app.app_context():
        from app.extensions import db
        from app.models import School
        from tests.factories import make_head
        head = make_head(db.session.scalar(db.select(School)), email="head@example.org")
        email = head.email
    sign_in(page, email, PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto("/admin/")
    page.locator("a[href='/translate/school']").click()
    page.wait_for_url(re.compile(r"/translate/school$"))
    expect(page.get_by_text("LibreTranslate").first).to_be_visible()
    check_axe(page)
    page.get_by_label("Word or phrase").fill("Golden Time")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#glossary table")).to_contain_text("Golden Time")
    check_axe(page)
