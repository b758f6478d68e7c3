"""Translation through the app: the Translate control only where the reader's language differs and
the school translates; the answer swapped in with htmx or shown after a plain form post; who may ask
for which text (404 otherwise); "Always translate"; a GET never calls the provider; a page costs
the same queries in Urdu as in English; the school's switch and glossary; the privacy notice; the
language a text is written in.

The provider is a local LibreTranslate stand-in (tests/translation_servers.py). Readers read in
Polish or Urdu as if those catalogs were compiled (the `every_language` fixture); assertions about
non-English readers look at the page's structure, not at interface wording."""
import re

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.i18n import LANGUAGE_NAMES
from app.models import AuditEntry, Comment, GlossaryTerm, PortfolioItem, Post, Translation, User
from app.models.base import utcnow
from tests.conftest import client_as, htmx_headers, outcome, use_provider
from tests.factories import (
    make_class,
    make_comment,
    make_head,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_teacher,
    make_translation,
)

FORM = 'class="translate-form"'
TRANSLATED = '<details class="original">'


@pytest.fixture
def every_language(app):
    """Readers may choose any of Hearth's languages, as when every catalog is compiled."""
    app.extensions["hearth_languages"] = sorted(LANGUAGE_NAMES)


@pytest.fixture
def world(app, every_language):
    school = make_school()
    klass = make_class(school, name="Oak")
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    noor = make_pupil(klass, name="Noor A.")
    sam = make_pupil(other, name="Sam T.")
    teacher = make_teacher(school, classes=[klass], name="Ms Oak")
    people = {
        "teacher": teacher,
        "head": make_head(school),
        "polish parent": make_parent(school, children=[zosia], name="Anna Kowalska", locale="pl"),
        "urdu parent": make_parent(school, children=[maja], name="Farah Hussain", locale="ur"),
        "english parent": make_parent(school, children=[noor], name="Jo Smith"),
        "ash parent": make_parent(school, children=[sam], locale="pl"),
        "zosia": zosia,
        "other school's head": make_head(make_school()),
    }
    post = make_post(teacher, klass, body="Our trip to the museum is on Friday.", language="en")
    return dict(school=school, klass=klass, other=other, teacher=teacher, zosia=zosia, post=post, people=people)


def _translate(client, kind, ident, next_url="/stories/", htmx=True):
    return client.post(f"/translate/{kind}/{ident}", data={"next": next_url, "style": "post"},
                       headers=htmx_headers() if htmx else {})


# ---- where the control appears -----------------------------------------------------------------------

@pytest.mark.parametrize("reader, written_in, switched_on, provider, shown", [
    ("polish parent", "en", True, True, True),
    ("polish parent", None, True, True, True),  # no language recorded: the school's (English)
    ("english parent", "pl", True, True, True),
    ("english parent", "en", True, True, False),  # the same language: nothing to translate
    ("polish parent", "pl", True, True, False),
    ("polish parent", "en", False, True, False),  # the school switched translation off
    ("polish parent", "en", True, False, False),  # no provider, nothing stored
])
def test_translate_control_only_when_languages_differ_and_translation_is_on(
        app, world, login_as, libre_server, reader, written_in, switched_on, provider, shown):
    if provider:
        use_provider(app, libre_server, "libre")
    world["school"].content_translation_enabled = switched_on
    world["post"].language = written_in
    db.session.commit()
    page = login_as(world["people"][reader]).get("/stories/").get_data(as_text=True)
    assert (FORM in page) is shown
    assert TRANSLATED not in page
    assert libre_server.texts == []  # a GET never asks the provider


def test_text_in_another_language_carries_its_language(world, login_as, libre_server, app):
    use_provider(app, libre_server, "libre")
    page = login_as(world["people"]["polish parent"]).get("/stories/").get_data(as_text=True)
    assert re.search(r'<div class="post-body" lang="en" dir="auto" hx-disable>Our trip to the museum', page)
    english = login_as(world["people"]["english parent"]).get("/stories/").get_data(as_text=True)
    assert '<div class="post-body" hx-disable>Our trip to the museum' in english


def test_a_stored_translation_is_offered_and_used_with_no_provider(world, login_as, libre_server):
    make_translation(world["school"], world["post"].body, "en", "pl", "Nasza wycieczka do muzeum jest w piątek.")
    parent = login_as(world["people"]["polish parent"])
    assert FORM in parent.get("/stories/").get_data(as_text=True)
    fragment = _translate(parent, "post", world["post"].id).get_data(as_text=True)
    assert "Nasza wycieczka do muzeum jest w piątek." in fragment
    assert libre_server.calls == []


# ---- asking for a translation ----------------------------------------------------------------------

def test_with_htmx_the_translation_is_swapped_in_labelled_with_the_original_at_hand(app, world, login_as,
                                                                                      libre_server):
    use_provider(app, libre_server, "libre")
    parent = login_as(world["people"]["polish parent"])
    response = _translate(parent, "post", world["post"].id)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.startswith(f'<div class="translatable" id="tr-post-{world["post"].id}">')
    assert ('<div class="post-body" lang="pl" dir="auto" hx-disable>(pl) Our trip to the museum is on Friday.'
            in fragment)
    assert TRANSLATED in fragment
    assert '<div class="post-body" lang="en" dir="auto" hx-disable>Our trip to the museum is on Friday.' in fragment
    assert FORM not in fragment
    assert db.session.scalar(select(func.count(Translation.id))) == 1
    _translate(login_as(world["people"]["ash parent"]), "post", make_post(world["teacher"], world["other"],
                                                                          body=world["post"].body).id)
    assert len(libre_server.texts) == 1  # the same text for another reader: from the cache


def test_the_label_names_the_language_in_the_readers_language(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    comment = make_comment(world["people"]["polish parent"], world["post"], "Dziękujemy, wspaniale!", language="pl")
    fragment = _translate(login_as(world["teacher"]), "comment", comment.id).get_data(as_text=True)
    assert "Translated by machine from Polish · <span class=\"show-original\">Show original</span>" in fragment
    assert '<div class="post-body" lang="en" dir="auto" hx-disable>(en) Dziękujemy, wspaniale!</div>' in fragment


def test_without_javascript_the_form_returns_to_the_page_which_shows_the_translation(app, world, login_as,
                                                                                       libre_server):
    use_provider(app, libre_server, "libre")
    other = make_post(world["teacher"], world["klass"], body="Spellings are on the class page.", language="en")
    parent = login_as(world["people"]["polish parent"])
    response = _translate(parent, "post", world["post"].id, next_url="/stories/", htmx=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/stories/#tr-post-{world['post'].id}"
    page = parent.get("/stories/").get_data(as_text=True)
    assert "(pl) Our trip to the museum is on Friday." in page and TRANSLATED in page
    assert page.count(FORM) == 1  # the other post still offers its button
    assert "(pl) Spellings" not in page and other.body in page
    assert "(pl) Our trip" in parent.get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)


def test_next_must_be_a_path_on_this_site(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    response = _translate(login_as(world["people"]["polish parent"]), "post", world["post"].id,
                          next_url="https://evil.example/", htmx=False)
    assert response.headers["Location"].startswith("/#tr-post-")


@pytest.mark.parametrize("mode", ["error", "busy", "garbage", "hang"])
def test_a_failing_provider_leaves_the_original_and_a_quiet_note(app, world, login_as, libre_server, mode):
    use_provider(app, libre_server, "libre", TRANSLATION_TIMEOUT=0.5)
    libre_server.mode = mode
    comment = make_comment(world["people"]["polish parent"], world["post"], "Dziękujemy!", language="pl")
    teacher = login_as(world["teacher"])
    fragment = _translate(teacher, "comment", comment.id).get_data(as_text=True)
    assert '<div class="post-body" lang="pl" dir="auto" hx-disable>Dziękujemy!</div>' in fragment
    assert "Translation unavailable, try later." in fragment
    assert FORM in fragment and "hx-trigger" not in fragment  # a button to try again, never pressed by itself
    response = _translate(teacher, "comment", comment.id, next_url=f"/stories/posts/{world['post'].id}", htmx=False)
    assert response.status_code == 302
    page = teacher.get(response.headers["Location"]).get_data(as_text=True)
    assert "Translation unavailable, try later." in page and "Dziękujemy!" in page
    assert db.session.scalar(select(func.count(Translation.id))) == 0


# ---- who may ask for which text ------------------------------------------------------------------------

def _objects(world):
    people, teacher = world["people"], world["teacher"]
    later = utcnow().replace(year=utcnow().year + 1)
    item = PortfolioItem(school_id=world["school"].id, pupil_id=world["zosia"].id, class_id=world["klass"].id,
                         added_by_id=teacher.id, body="Zosia read beautifully today.", status="approved",
                         language="en")
    pending = PortfolioItem(school_id=world["school"].id, pupil_id=world["zosia"].id, class_id=world["klass"].id,
                            by_pupil=True, body="Mój zamek z klocków", status="pending", language="pl")
    db.session.add_all([item, pending])
    db.session.commit()
    other_school = people["other school's head"]
    return {
        "class post": world["post"],
        "draft": make_post(teacher, world["klass"], body="Draft", published=False),
        "scheduled": make_post(teacher, world["klass"], body="Later", published_at=later),
        "other class's post": make_post(teacher, world["other"], body="Ash news"),
        "polish family's comment": make_comment(people["polish parent"], world["post"], "Dziękujemy!", "pl"),
        "hidden comment": make_comment(people["urdu parent"], world["post"], "شکریہ", "ur", hidden=True),
        "teacher's note": item,
        "pending work": pending,
        "comment on the note": make_comment(people["polish parent"], item, "Brawo!", "pl"),
        "other school's post": make_post(other_school, None, body="Hello"),
    }


KIND = {"class post": "post", "draft": "post", "scheduled": "post", "other class's post": "post",
        "other school's post": "post", "polish family's comment": "comment", "hidden comment": "comment",
        "comment on the note": "comment", "teacher's note": "portfolio", "pending work": "portfolio"}

# Every reader x object, the "no" cells written out: 200 answers, 404 does not exist for this reader.
ACCESS = {
    "class post":              {"teacher": 200, "polish parent": 200, "urdu parent": 200, "ash parent": 404, "zosia": 200, "other school's head": 404},  # noqa: E501
    "draft":                   {"teacher": 200, "polish parent": 404, "urdu parent": 404, "ash parent": 404, "zosia": 404, "other school's head": 404},  # noqa: E501
    "scheduled":               {"teacher": 200, "polish parent": 404, "urdu parent": 404, "ash parent": 404, "zosia": 404, "other school's head": 404},  # noqa: E501
    "other class's post":      {"teacher": 404, "polish parent": 404, "urdu parent": 404, "ash parent": 200, "zosia": 404, "other school's head": 404},  # noqa: E501
    "other school's post":     {"teacher": 404, "polish parent": 404, "urdu parent": 404, "ash parent": 404, "zosia": 404, "other school's head": 200},  # noqa: E501
    "polish family's comment": {"teacher": 200, "polish parent": 200, "urdu parent": 404, "ash parent": 404, "zosia": 200, "other school's head": 404},  # noqa: E501
    "hidden comment":          {"teacher": 200, "polish parent": 404, "urdu parent": 404, "ash parent": 404, "zosia": 404, "other school's head": 404},  # noqa: E501
    "teacher's note":          {"teacher": 200, "polish parent": 200, "urdu parent": 404, "ash parent": 404, "zosia": 200, "other school's head": 404},  # noqa: E501
    "pending work":            {"teacher": 200, "polish parent": 404, "urdu parent": 404, "ash parent": 404, "zosia": 200, "other school's head": 404},  # noqa: E501
    "comment on the note":     {"teacher": 200, "polish parent": 200, "urdu parent": 404, "ash parent": 404, "zosia": 200, "other school's head": 404},  # noqa: E501
}


def test_the_translate_endpoint_answers_only_for_what_the_reader_may_see(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    objects = _objects(world)
    found = {}
    for name, obj in objects.items():
        for reader, _expected in ACCESS[name].items():
            found.setdefault(name, {})[reader] = _translate(login_as(world["people"][reader]), KIND[name],
                                                            obj.id).status_code
    assert found == ACCESS
    refusals = db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "access.refused"))
    assert refusals >= sum(1 for row in ACCESS.values() for code in row.values() if code == 404)


def test_unknown_kinds_and_anonymous_readers(client, world, login_as):
    assert _translate(login_as(world["teacher"]), "message", world["post"].id).status_code == 404
    assert _translate(login_as(world["teacher"]), "post", 999999).status_code == 404
    assert outcome(_translate(client, "post", world["post"].id, htmx=False)) == 302
    assert login_as(world["teacher"]).get(f"/translate/post/{world['post'].id}").status_code == 405


# ---- "Always translate", and a GET never calls the provider -----------------------------------------------

def test_always_translate_shows_stored_translations_at_once_and_asks_for_the_others_on_load(app, world, login_as,
                                                                                          libre_server):
    use_provider(app, libre_server, "libre")
    parent = world["people"]["urdu parent"]
    parent.always_translate = True
    untranslated = make_post(world["teacher"], world["klass"], body="Harvest festival next week.", language="en")
    make_translation(world["school"], world["post"].body, "en", "ur", "عجائب گھر کا ہمارا دورہ جمعہ کو ہے۔")
    page = login_as(parent).get("/stories/").get_data(as_text=True)
    assert '<div class="post-body" lang="ur" dir="auto" hx-disable>عجائب گھر کا ہمارا دورہ جمعہ کو ہے۔' in page
    assert page.count(TRANSLATED) == 1
    auto = re.findall(r'<form class="translate-form" action="/translate/post/(\d+)"[^>]*hx-trigger="load, submit"',
                      page)
    assert auto == [str(untranslated.id)]
    assert libre_server.texts == []  # the page sent no text: the browser's POST will


def test_the_reader_sets_always_translate_on_the_account_page(world, login_as, client):
    parent = world["people"]["english parent"]
    browser = login_as(parent)
    assert 'name="always_translate"' in browser.get("/auth/account").get_data(as_text=True)
    assert browser.post("/translate/preference", data={"always_translate": "y"}).status_code == 302
    assert db.session.get(User, parent.id).always_translate is True
    browser.post("/translate/preference", data={})
    assert db.session.get(User, parent.id).always_translate is False
    assert login_as(world["zosia"]).post("/translate/preference", data={"always_translate": "y"}).status_code == 404
    assert outcome(client.post("/translate/preference", data={"always_translate": "y"})) == 302
    world["school"].content_translation_enabled = False
    db.session.commit()
    assert 'name="always_translate"' not in browser.get("/auth/account").get_data(as_text=True)


# ---- speed --------------------------------------------------------------------------------------------------

def _queries(app, client, url):
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def _feed_posts(world, count, start=0):
    for n in range(start, start + count):
        body = f"Class news number {n}: the children planted beans."
        make_post(world["teacher"], world["klass"], body=body, language="en")
        make_translation(world["school"], body, "en", "ur", f"کلاس کی خبر نمبر {n}")


def test_a_feed_read_in_urdu_costs_the_same_queries_as_in_english(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    urdu, english = world["people"]["urdu parent"], world["people"]["english parent"]
    urdu.always_translate = True
    db.session.commit()
    _feed_posts(world, 2)
    readers = {"ur": login_as(urdu), "en": login_as(english)}
    for reader in readers.values():
        reader.get("/stories/")  # the first page of a session records what it has seen
    small = {code: _queries(app, reader, "/stories/") for code, reader in readers.items()}
    _feed_posts(world, 10, start=2)
    page = readers["ur"].get("/stories/").get_data(as_text=True)
    assert page.count(TRANSLATED) == 10 and "کلاس کی خبر نمبر 11" in page
    large = {code: _queries(app, reader, "/stories/") for code, reader in readers.items()}
    assert small["ur"] == small["en"] == large["ur"] == large["en"]
    assert libre_server.texts == []


def test_a_post_and_its_comments_in_another_language_cost_one_query_more_at_most(app, world, login_as):
    post = world["post"]
    teacher = login_as(world["teacher"])
    url = f"/stories/posts/{post.id}"
    teacher.get(url)
    before = _queries(app, teacher, url)
    for n in range(5):
        comment = make_comment(world["people"]["polish parent"], post, f"Komentarz {n}", language="pl")
        make_translation(world["school"], comment.body, "pl", "en", f"Comment {n}")
    page = teacher.get(url).get_data(as_text=True)
    assert page.count(FORM) == 5  # stored, offered: the teacher has not asked to always translate
    assert _queries(app, teacher, url) <= before + 1


# ---- the school's switch and glossary ------------------------------------------------------------------------

SCHOOL_PAGE_ACCESS = {"head": 200, "teacher who runs the school": 200, "teacher": 404, "polish parent": 404,
                      "zosia": 404, "other school's head": 200, "anonymous": 302}


@pytest.mark.parametrize("who, expected", SCHOOL_PAGE_ACCESS.items())
def test_who_may_open_the_schools_translation_settings(app, world, client, login_as, who, expected):
    people = dict(world["people"], **{"teacher who runs the school": make_teacher(world["school"],
                                                                                  can_manage_school=True)})
    browser = client_as(client, login_as, people, who)
    assert outcome(browser.get("/translate/school")) == expected
    entry = GlossaryTerm(school_id=world["school"].id, term="Team Points")
    db.session.add(entry)
    db.session.commit()
    removal = outcome(browser.post(f"/translate/school/glossary/{entry.id}/delete"))
    own_school = who in ("head", "teacher who runs the school")
    assert removal == (302 if own_school else 404 if who != "anonymous" else 302)
    switched = outcome(browser.post("/translate/school", data={}))
    assert switched == (302 if expected == 200 else expected)
    db.session.refresh(world["school"])
    assert world["school"].content_translation_enabled is not own_school
    added = outcome(browser.post("/translate/school/glossary", data={"term": "Golden Time"}))
    assert added == (302 if expected == 200 else expected)
    assert (db.session.scalar(select(func.count(GlossaryTerm.id)).where(
        GlossaryTerm.school_id == world["school"].id, GlossaryTerm.term == "Golden Time")) == 1) is own_school


def test_switching_translation_off_hides_every_control_and_sends_nothing(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    head = login_as(world["people"]["head"])
    page = head.get("/translate/school").get_data(as_text=True)
    assert "LibreTranslate" in page and "44 languages" in page
    head.post("/translate/school", data={})
    parent = login_as(world["people"]["polish parent"])
    assert FORM not in parent.get("/stories/").get_data(as_text=True)
    fragment = _translate(parent, "post", world["post"].id).get_data(as_text=True)
    assert TRANSLATED not in fragment and libre_server.texts == []
    head.post("/translate/school", data={"enabled": "y"})
    assert FORM in parent.get("/stories/").get_data(as_text=True)
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("translation.%"))))
    assert actions == {"translation.switched_off", "translation.switched_on"}


def test_the_glossary_keeps_terms_out_of_the_provider(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    head = login_as(world["people"]["head"])
    assert head.post("/translate/school/glossary", data={"term": "Golden Time"}).status_code == 302
    assert head.post("/translate/school/glossary", data={"term": "Team Points", "language": "pl",
                                                         "translation": "Punkty drużynowe"}).status_code == 302
    page = head.get("/translate/school").get_data(as_text=True)
    assert "Golden Time" in page and "Punkty drużynowe" in page
    post = make_post(world["teacher"], world["klass"], body="Golden Time and Team Points for everyone!", language="en")
    fragment = _translate(login_as(world["people"]["polish parent"]), "post", post.id).get_data(as_text=True)
    assert "(pl) Golden Time and Punkty drużynowe for everyone!" in fragment
    assert libre_server.texts == ["[#1] and [#2] for everyone!"]


def test_a_bad_glossary_entry_is_refused_next_to_its_field_and_the_typing_is_kept(world, login_as):
    head = login_as(world["people"]["head"])
    response = head.post("/translate/school/glossary", data={"term": "Reading Champions", "language": "pl",
                                                             "translation": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="translation-error">[^<]*translation', page)
    assert 'value="Reading Champions"' in page
    response = head.post("/translate/school/glossary", data={"term": "Reading Champions", "language": "xx-nowhere",
                                                             "translation": "?"})
    assert response.status_code == 422
    assert '<p class="error" id="language-error">' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(GlossaryTerm.id))) == 0


def test_a_glossary_entry_of_another_school_is_not_found(world, login_as):
    other = make_school()
    entry = GlossaryTerm(school_id=other.id, term="Golden Time")
    db.session.add(entry)
    db.session.commit()
    assert login_as(world["people"]["head"]).post(f"/translate/school/glossary/{entry.id}/delete").status_code == 404
    assert db.session.get(GlossaryTerm, entry.id) is not None


# ---- the privacy notice names the provider -------------------------------------------------------------

def test_the_privacy_notice_names_the_provider_in_use(app, world, login_as, libre_server):
    newcomer = make_parent(world["school"], children=[world["zosia"]], acknowledged=False)
    browser = login_as(newcomer)
    assert "sends nothing to a translation service" in browser.get("/consent/acknowledge").get_data(as_text=True)
    use_provider(app, libre_server, "libre")
    page = browser.get("/consent/acknowledge").get_data(as_text=True)
    assert "sent to LibreTranslate" in page and "names replaced" in page
    world["school"].content_translation_enabled = False
    db.session.commit()
    assert "the school has switched it off" in browser.get("/consent/acknowledge").get_data(as_text=True)
    assert "switched it off" in login_as(world["teacher"]).get("/auth/account").get_data(as_text=True)


# ---- the language a text is written in --------------------------------------------------------------------

def test_a_comment_records_the_writers_language_or_their_choice(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    url = f"/stories/posts/{world['post'].id}/comments"
    login_as(world["people"]["urdu parent"]).post(url, data={"body": "بہت اچھا"})
    login_as(world["people"]["english parent"]).post(url, data={"body": "Dziękuję!", "written_in": "pl"})
    login_as(world["people"]["english parent"]).post(url, data={"body": "Thanks", "written_in": "xx"})
    login_as(world["teacher"]).post(url, data={"body": "Merci", "written_in": "fr"})  # the provider has French
    languages = dict(db.session.execute(select(Comment.body, Comment.language)).all())
    assert languages == {"بہت اچھا": "ur", "Dziękuję!": "pl", "Thanks": "en", "Merci": "fr"}


def test_the_written_in_choice_is_on_the_forms_only_when_the_school_translates(app, world, login_as, libre_server):
    from app.services.translation import languages
    use_provider(app, libre_server, "libre")
    languages(wait=True)  # the school's server's list, once known (pages never wait for it)
    teacher = login_as(world["teacher"])
    editor = teacher.get("/stories/new").get_data(as_text=True)
    assert '<select id="post-language" name="written_in"' in editor
    assert re.search(r'<option value="en" selected>English</option>', editor)
    assert len(re.findall(r"<option value=", editor.split('id="post-language"')[1].split("</select>")[0])) >= 35
    parent_page = login_as(world["people"]["urdu parent"]).get(f"/stories/posts/{world['post'].id}")
    assert re.search(r'<option value="ur" selected>', parent_page.get_data(as_text=True))
    world["school"].content_translation_enabled = False
    db.session.commit()
    assert 'name="written_in"' not in teacher.get("/stories/new").get_data(as_text=True)


def test_a_post_records_the_chosen_language_and_keeps_it_when_edited(app, world, login_as):
    teacher = login_as(world["teacher"])
    data = {"audience": str(world["klass"].id), "kind": "news", "body": "Dzień dobry!", "comments_enabled": "y",
            "action": "publish", "written_in": "pl"}
    assert teacher.post("/stories/new", data=data).status_code == 302
    post = db.session.scalar(select(Post).where(Post.body == "Dzień dobry!"))
    assert post.language == "pl"
    editor = teacher.get(f"/stories/posts/{post.id}/edit").get_data(as_text=True)
    assert '<option value="pl" selected>' in editor
    teacher.post(f"/stories/posts/{post.id}/edit", data=dict(data, action="save", body="Dzień dobry wszystkim!",
                                                             written_in=""))
    db.session.refresh(post)
    assert post.body == "Dzień dobry wszystkim!" and post.language == "pl"


def test_a_teachers_note_on_a_pupils_story_is_translated_for_the_family(app, world, login_as, libre_server):
    use_provider(app, libre_server, "libre")
    teacher = login_as(world["teacher"])
    teacher.post(f"/portfolio/pupils/{world['zosia'].id}/items", data={"body": "Zosia read beautifully today."})
    item = db.session.scalar(select(PortfolioItem).where(PortfolioItem.pupil_id == world["zosia"].id))
    assert item is not None and item.language == "en"
    assert len(libre_server.texts) == 1  # prepared for the Polish family when it was added (inline in tests)
    assert libre_server.texts[0] == "[#1] read beautifully today."
    parent = login_as(world["people"]["polish parent"])
    story = parent.get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert FORM in story
    fragment = parent.post(f"/translate/portfolio/{item.id}", data={"style": "card"},
                           headers=htmx_headers()).get_data(as_text=True)
    assert "(pl) Zosia read beautifully today." in fragment
    assert len(libre_server.texts) == 1
