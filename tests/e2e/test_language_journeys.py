"""Languages as families and teachers meet them: a parent picks Urdu on the sign-in page, signs in
and finds Hearth in Urdu, right to left, with the teacher's English post translated and its
original one tap away; a Polish parent writes to the teacher in Polish and the teacher reads it in
English. The provider is a LibreTranslate stand-in on 127.0.0.1; zero axe violations each way."""
import os
import re

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_parent, make_post, make_pupil, make_school, make_teacher

IPAD = {"width": 1024, "height": 768}
POST = "Our trip to the museum was wonderful. The children loved the dinosaurs!"
POST_UR = "عجائب گھر کا ہمارا دورہ شاندار رہا۔ بچوں کو ڈائنوسار بہت پسند آئے!"
POLISH = "Dzień dobry, czy w czwartek dzieci potrzebują stroju na WF? Dziękuję bardzo."
POLISH_EN = "Good morning, do the children need their PE kit on Thursday? Thank you very much."


def _catalog(live_server, code):
    """The shipped catalog (compiled for the server if `make translations` has not run yet)."""
    from babel.messages.mofile import write_mo
    folder = os.path.join(live_server.app.root_path, "i18n", code, "LC_MESSAGES")
    with open(os.path.join(folder, "messages.po"), "rb") as source:
        catalog = read_po(source, locale=code)
    if not os.path.exists(os.path.join(folder, "messages.mo")):
        with open(os.path.join(folder, "messages.mo"), "wb") as target:
            write_mo(target, catalog)
    live_server.app.extensions.pop("hearth_languages", None)
    return catalog


@pytest.fixture
def world(live_server, libre_server):
    live_server.app.config.update(libre_server.provider_config("libre"), TRANSLATION_PREFETCH="off",
                                  TRANSLATION_TIMEOUT=15)
    libre_server.phrases[("ur", POST)] = POST_UR
    libre_server.phrases[("en", POLISH)] = POLISH_EN
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K")
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        maja, zosia = make_pupil(klass, name="Maja H."), make_pupil(klass, name="Zosia K.")
        make_parent(school, children=[maja], name="Farah Hussain", email="farah@example.org")
        make_parent(school, children=[zosia], name="Anna Kowalska", email="anna@example.org", locale="pl")
        post = make_post(teacher, klass, body=POST, language="en")
        return {"post_id": post.id, "teacher": teacher.email}


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_a_parent_chooses_urdu_on_the_sign_in_page(live_server, world, page, check_axe):
    urdu = _catalog(live_server, "ur")
    page.goto("/auth/login")
    page.locator("#lang-select").select_option("ur")
    page.locator("form.lang-picker button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ur")
    sign_in_ur = urdu.get("Sign in").string
    expect(page.get_by_role("heading", level=1)).to_have_text(sign_in_ur)
    check_axe(page)
    page.locator("input[name=email]").fill("farah@example.org")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    page.wait_for_url(re.compile(r"/family/"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("navigation").first).to_contain_text(urdu.get("Class Story").string)
    page.goto("/stories/")
    text = page.locator(f"#tr-post-{world['post_id']}")
    text.locator("form.translate-form button").click()
    expect(page.locator(f"#tr-post-{world['post_id']} .post-body[lang=ur]")).to_have_text(POST_UR)
    original = page.locator(f"#tr-post-{world['post_id']} details.original")
    expect(original.locator("summary")).to_contain_text(urdu.get("Show original").string)
    original.locator("summary").click()
    expect(original.locator(".post-body[lang=en]")).to_have_text(POST)
    check_axe(page)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_a_polish_parent_writes_and_the_teacher_reads_it_in_english(live_server, world, page, make_context,
                                                                   check_axe, libre_server):
    polish = _catalog(live_server, "pl")
    sign_in(page, "anna@example.org", PASSWORD)  # the labels are English until she is signed in
    page.wait_for_url(re.compile(r"/family/"))
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    page.goto("/messages/new")
    page.get_by_role("link", name="Mrs King").click()
    page.locator("textarea[name=body]").fill(POLISH)
    check_axe(page)
    page.locator("#composer button[value=send]").click()
    expect(page.locator(".msg.mine .msg-body")).to_have_text(POLISH)
    expect(page.locator("#seen")).to_contain_text(polish.get("Sent, not seen yet").string)

    teacher = make_context(viewport=IPAD).new_page()
    sign_in(teacher, world["teacher"], PASSWORD)
    teacher.wait_for_url(re.compile(r"/classes/"))
    teacher.goto("/messages/")
    teacher.get_by_role("link", name=re.compile("Anna Kowalska")).click()
    message = teacher.locator(".msg.theirs .translatable")
    expect(message.locator(".msg-body[lang=pl]")).to_have_text(POLISH)
    message.get_by_role("button", name=re.compile("Translate")).click()
    translated = teacher.locator(".msg.theirs .msg-body[lang=en]")
    expect(translated).to_have_text(POLISH_EN)
    expect(teacher.locator(".msg.theirs details.original summary")).to_contain_text("Translated by machine from Polish")
    check_axe(teacher)
    assert libre_server.texts == [POLISH]
