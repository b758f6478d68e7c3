"""Translating what people write, without HTTP to Hearth: the real deep-translator clients against
local stand-ins of the providers (tests/translation_servers.py), never the internet.

Names never leave the school, a text is translated once per language, and whatever the provider
does (hang, 500, 429, garbage, lost placeholders) the caller gets Unavailable within the deadline;
repeated failures pause calls for a while."""
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import GlossaryTerm, Translation
from app.services import translation
from app.services.translation import (
    CircuitBreaker,
    Masker,
    MemoryBreakerStore,
    Unavailable,
    name_phrases,
    normalise_language,
    unmask,
)
from tests.conftest import run_worker_burst, use_provider
from tests.factories import make_class, make_parent, make_pupil, make_school, make_teacher


@pytest.fixture
def school(app):
    school = make_school(name="Broughton Primary")
    klass = make_class(school, name="3K")
    zosia = make_pupil(klass, name="Zosia K.")
    make_teacher(school, classes=[klass], name="Mrs Katarzyna King")
    make_parent(school, children=[zosia], name="Anna Kowalska", locale="pl")
    return school


def _stored(school, target=None):
    stmt = select(func.count(Translation.id)).where(Translation.school_id == school.id)
    if target:
        stmt = stmt.where(Translation.target_language == target)
    return db.session.scalar(stmt)


# ---- languages ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, ours", [
    ("en_GB", "en"), ("en", "en"), ("pl", "pl"), ("zh-TW", "zh-Hant"), ("zh_Hant_HK", "zh-Hant"),
    ("zh-CN", "zh"), ("iw", "he"), ("tl", "fil"), ("pt-PT", "pt"), ("pb", "pt"), ("pa", "pa"), ("", None),
])
def test_language_tags_are_read_as_hearth_codes(code, ours):
    assert normalise_language(code) == ours


@pytest.mark.parametrize("provider, expected", [
    ("google", {"pa": "pa", "zh": "zh-CN", "zh-Hant": "zh-TW", "he": "iw", "pt": "pt", "ur": "ur"}),
    ("libre", {"zh": "zh-Hans", "zh-Hant": "zt", "pt": "pt", "ur": "ur", "he": "he"}),
    ("microsoft", {"pa": "pa", "pt": "pt-pt", "zh": "zh-Hans", "zh-Hant": "zh-Hant", "fil": "fil"}),
    ("deepl", {"pt": "pt", "pl": "pl", "uk": "uk"}),
])
def test_readers_languages_map_to_each_providers_codes(app, google_server, provider, expected):
    use_provider(app, google_server, provider)
    table = translation.languages(wait=True)
    assert {code: table.get(code) for code in expected} == expected


@pytest.mark.parametrize("provider", ["google", "libre", "microsoft"])
def test_at_least_35_target_languages_and_the_list_is_the_providers(app, google_server, provider):
    from tests.translation_servers import LIBRE_LANGUAGES, MICROSOFT_LANGUAGES
    use_provider(app, google_server, provider)
    targets = dict(translation.target_languages("en"))
    assert len(targets) >= 35
    assert targets["pl"] == "Polish" and targets["ur"] == "Urdu"
    if provider == "libre":
        assert set(targets) == {normalise_language(code) for code, _name in LIBRE_LANGUAGES}
    if provider == "microsoft":
        assert set(targets) == {normalise_language(code) for code in MICROSOFT_LANGUAGES}
        assert targets["pa"] == "Punjabi"  # Gurmukhi, as Microsoft and Google mean "pa"


def test_deepl_offers_what_deepl_supports(app, google_server):
    from deep_translator.constants import DEEPL_LANGUAGE_TO_CODE
    use_provider(app, google_server, "deepl")
    assert {code for code, _name in translation.target_languages()} == set(DEEPL_LANGUAGE_TO_CODE.values())
    assert not translation.can_translate_into("ur")  # no Urdu at DeepL: no Translate button for Urdu readers
    assert translation.can_translate_into("pl")


def test_the_providers_list_is_asked_once_and_kept(app, libre_server):
    use_provider(app, libre_server, "libre")
    for _ in range(3):
        translation.languages(wait=True)
    assert sum(1 for call in libre_server.calls if call.path == "/languages") == 1


def test_language_names_are_in_the_readers_language():
    assert translation.language_name("pl", "en") == "Polish"
    assert translation.language_name("pl", "ur") == "پولش"
    assert translation.language_name("pa", "pl") == "pendżabski"


def test_no_provider_configured_means_no_translation(app, school):
    assert translation.provider_in_use() is None
    assert not translation.can_translate_into("pl")
    with pytest.raises(Unavailable):
        translation.translate(school, "Hello", "en", "pl")


# ---- masking -------------------------------------------------------------------------------------

def test_name_phrases_cover_names_and_their_parts_but_not_titles():
    phrases = name_phrases(["Mrs Katarzyna King", "Zosia K.", "Anne-Marie de la Cruz", "  "])
    assert {"Mrs Katarzyna King", "Katarzyna", "King", "Zosia K.", "Zosia", "Anne-Marie", "Anne",
            "Marie", "Cruz"} <= phrases
    assert not {"Mrs", "K", "de", "la", ""} & phrases


def test_masking_hides_names_and_glossary_terms_and_restores_them():
    masker = Masker(name_phrases(["Zosia K.", "Mrs Katarzyna King", "Ayaan Hussain"]),
                    {"Team Points": {"pl": "Punkty drużynowe"}, "Star of the Week": {}})
    text = "Zosia K. and Ayaan won team points! Mrs King says Zosia is our Star of the Week. Kingston: no."
    masked = masker.mask(text, "pl")
    for secret in ("Zosia", "Ayaan", "King ", "team points", "Star of the Week"):
        assert secret not in masked.text
    assert "Kingston" in masked.text  # a name inside another word is no name
    assert masked.text.startswith("[#1] and [#2] won [#3]! Mrs [#4] says [#5] is our [#6].")
    translated = masked.text.replace("won", "zdobyli")
    assert unmask(translated, masked) == ("Zosia K. and Ayaan zdobyli Punkty drużynowe! Mrs King says Zosia is "
                                          "our Star of the Week. Kingston: no.")


@pytest.mark.parametrize("answer", [
    "[#2] ma [#1].",  # moved
    "[ # 2 ] ma [# 1].",  # re-spaced
    "[#٢] ma [#١].",  # digits of another script
    "［＃2］ ma 【#1】.",  # full-width brackets
])
def test_placeholders_may_move_and_be_respaced(answer):
    masked = Masker({"Zosia", "Ayaan"}).mask("Zosia has Ayaan.", "pl")
    assert unmask(answer, masked) == "Ayaan ma Zosia."


@pytest.mark.parametrize("answer", [
    "[#2] ma.",  # one lost
    "[#1] ma [#1] i [#2].",  # one doubled
    "[#1] ma [#3].",  # one that never was
    "[#1] ma [# 2",  # mangled
    "",  # nothing
    "<html><body>Bad gateway</body></html>",  # an error page
])
def test_a_lost_doubled_or_mangled_placeholder_makes_the_answer_garbage(answer):
    masked = Masker({"Zosia", "Ayaan"}).mask("Zosia has Ayaan.", "pl")
    with pytest.raises(translation._Garbage):
        unmask(answer, masked)


def test_text_that_looks_like_a_placeholder_is_kept_as_it_is():
    masked = Masker({"Zosia"}).mask("Zosia wrote [#1] on the board.", "pl")
    assert masked.text == "[#1] wrote [#2] on the board."
    assert unmask("[#1] napisała [#2] na tablicy.", masked) == "Zosia napisała [#1] na tablicy."


# ---- through the real clients ----------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["libre", "google", "deepl", "microsoft"])
def test_names_never_reach_the_provider(app, school, google_server, provider):
    use_provider(app, google_server, provider)
    translation.add_glossary_term(school, None, "Team Points", "pl", "Punkty drużynowe")
    text = ("Well done Zosia K.! Mrs King gave Zosia five Team Points. Anna Kowalska, "
            "Zosia will tell you all about it.")
    result = translation.translate(school, text, "en", "pl")
    sent = " ".join(google_server.texts)
    for name in ("Zosia", "King", "Katarzyna", "Anna", "Kowalska", "Team Points"):
        assert name not in sent
    assert result == ("(pl) Well done Zosia K.! Mrs King gave Zosia five Punkty drużynowe. Anna Kowalska, "
                      "Zosia will tell you all about it.")


def test_a_text_is_sent_once_per_language_and_reused(app, school, libre_server):
    use_provider(app, libre_server, "libre")
    text = "Our class trip is on Friday."
    first = translation.translate(school, text, "en", "pl")
    assert translation.translate(school, text, "en", "pl") == first
    assert len(libre_server.texts) == 1
    translation.translate(school, text, "en", "ur")
    assert len(libre_server.texts) == 2
    translation.translate(school, text + " Bring a coat.", "en", "pl")  # an edit: a new text
    assert len(libre_server.texts) == 3
    assert translation.translate(school, text, "en", "en") == text  # nothing to do
    other = make_school()
    translation.translate(other, text, "en", "pl")  # nothing crosses between schools
    assert len(libre_server.texts) == 4
    assert _stored(school) == 3 and _stored(other) == 1


def test_the_source_language_is_part_of_the_key(app, school, libre_server):
    use_provider(app, libre_server, "libre")
    translation.translate(school, "Pan", "en", "pl")
    translation.translate(school, "Pan", "pl", "en")
    translation.translate(school, "Pan", "pl", "uk")
    assert [(c.params["source"], c.params["target"]) for c in libre_server.translations()] == [
        ("en", "pl"), ("pl", "en"), ("pl", "uk")]


def test_long_texts_go_in_pieces_and_come_back_whole(app, school, google_server):
    use_provider(app, google_server, "google")
    paragraph = "Zosia read a chapter of her book. " * 20
    text = "\n".join([paragraph.strip()] * 8)
    result = translation.translate(school, text, "en", "pl")
    assert len(google_server.texts) > 1
    assert all(len(sent) <= translation.MAX_CHUNK_IN_ADDRESS for sent in google_server.texts)
    assert result.count("Zosia") == 8 * 20 and result.count("\n") == 7


def test_two_readers_at_once_store_one_translation(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_MAX_CALLS=4)  # all four call the provider
    results, school_id = [], school.id
    db.session.commit()  # the test's own transaction must not hold SQLite's write lock

    def reader():
        with app.app_context():
            from app.models import School
            results.append(translation.translate(db.session.get(School, school_id), "See you soon!", "en", "pl"))
    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["(pl) See you soon!"] * 4
    assert _stored(school, "pl") == 1


# ---- failure never hurts --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["error", "busy", "garbage", "lose", "mangle"])
@pytest.mark.parametrize("provider", ["libre", "google"])
def test_a_failing_provider_gives_unavailable_and_stores_nothing(app, school, google_server, provider, mode):
    use_provider(app, google_server, provider)
    google_server.mode = mode
    with pytest.raises(Unavailable):
        translation.translate(school, "Zosia painted a tiger.", "en", "pl")
    assert _stored(school) == 0


def test_moved_and_respaced_placeholders_are_a_good_answer(app, school, libre_server):
    use_provider(app, libre_server, "libre")
    libre_server.mode = "move"
    result = translation.translate(school, "Zosia painted a tiger.", "en", "pl")
    assert result == "(pl)  painted a tiger. Zosia"
    assert _stored(school) == 1


def test_a_hanging_provider_falls_back_within_the_deadline(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_TIMEOUT=0.5)
    translation.languages(wait=True)
    libre_server.mode = "hang"
    started = time.monotonic()
    with pytest.raises(Unavailable):
        translation.translate(school, "A text for a slow server.", "en", "pl")
    assert time.monotonic() - started < 2.5  # the deadline (0.5 s), not the server's hang


def test_one_deadline_when_the_list_of_languages_hangs_too(app, school):
    """LibreTranslate is asked for its languages before the first translation: a provider that
    never answers either costs the reader one deadline, not two."""
    import socket
    listener = socket.socket()  # accepts connections (the kernel does) and never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        app.config.update(TRANSLATION_PROVIDER="libre", TRANSLATION_TIMEOUT=2.0,
                          TRANSLATION_URL=f"http://127.0.0.1:{listener.getsockname()[1]}/")
        started = time.monotonic()
        with pytest.raises(Unavailable):
            translation.translate(school, "A text for a server that never answers.", "en", "pl")
        assert time.monotonic() - started < 3.5  # one deadline (2 s), not two (4 s)
    finally:
        listener.close()


def test_the_provider_client_is_loaded_at_start_up_when_a_provider_is_configured(make_app):
    """A reader's first translation in a process does not wait for deep-translator's import."""
    from deep_translator import libre
    libre.requests = __import__("requests")  # as a fresh process has it
    make_app(TRANSLATION_PROVIDER="")
    assert libre.requests is not translation._DEADLINES
    make_app(TRANSLATION_PROVIDER="libre", TRANSLATION_URL="http://127.0.0.1:9/")
    assert libre.requests is translation._DEADLINES


def test_hung_calls_cannot_pile_up(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_TIMEOUT=1.0, TRANSLATION_MAX_CALLS=2,
                 TRANSLATION_BREAKER_FAILURES=100)
    translation.languages(wait=True)
    libre_server.mode = "hang"
    outcomes, school_id = [], school.id
    db.session.commit()

    def reader(n):
        with app.app_context():
            from app.models import School
            started = time.monotonic()
            try:
                translation.translate(db.session.get(School, school_id), f"Text number {n}", "en", "pl")
                outcomes.append(("translated", time.monotonic() - started))
            except Unavailable:
                outcomes.append(("unavailable", time.monotonic() - started))
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [kind for kind, _t in outcomes] == ["unavailable"] * 6
    assert max(seconds for _k, seconds in outcomes) < 2.5
    assert libre_server.most_in_flight <= 2  # the others were refused at once, never queued
    assert len(libre_server.texts) <= 2


def test_repeated_failures_pause_calls_then_a_success_closes_the_breaker(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_BREAKER_FAILURES=3, TRANSLATION_BREAKER_SECONDS=0.4)
    libre_server.mode = "error"
    for n in range(3):
        with pytest.raises(Unavailable):
            translation.translate(school, f"Text {n}", "en", "pl")
    assert len(libre_server.texts) == 3
    assert translation.paused()
    with pytest.raises(Unavailable, match="paused"):
        translation.translate(school, "Text 3", "en", "pl")
    assert len(libre_server.texts) == 3  # not sent: the breaker is open
    time.sleep(0.45)
    libre_server.mode = "ok"
    assert translation.translate(school, "Text 4", "en", "pl") == "(pl) Text 4"
    assert not translation.paused()
    libre_server.mode = "error"  # closed again: it takes three failures to open it
    for n in range(2):
        with pytest.raises(Unavailable):
            translation.translate(school, f"Text {5 + n}", "en", "pl")
    assert not translation.paused()


def test_a_429_opens_the_breaker_at_once(app, school, google_server):
    use_provider(app, google_server, "google")
    google_server.mode = "busy"
    with pytest.raises(Unavailable):
        translation.translate(school, "One text", "en", "pl")
    assert translation.paused()


def test_after_the_pause_one_more_failure_opens_the_breaker_again():
    now = [100.0]
    breaker = CircuitBreaker(MemoryBreakerStore(), clock=lambda: now[0])
    for _ in range(5):
        breaker.failed("libre", threshold=5, pause=60)
    assert not breaker.allows("libre")
    now[0] += 61
    assert breaker.allows("libre")  # half open: one call may try
    breaker.failed("libre", threshold=5, pause=60)
    assert not breaker.allows("libre")
    now[0] += 61
    breaker.succeeded("libre")
    breaker.failed("libre", threshold=5, pause=60)
    assert breaker.allows("libre")


# ---- preparing translations when a teacher publishes ----------------------------------------------

def _class_with_families(school, locales):
    klass = make_class(school, name="Oak")
    teacher = make_teacher(school, classes=[klass], name="Mr Oak")
    for locale in locales:
        make_parent(school, children=[make_pupil(klass)], locale=locale)
    other = make_class(school, name="Ash")
    make_parent(school, children=[make_pupil(other)], locale="ro")  # another class's family
    return klass, teacher


def _publish(school, klass, teacher, body):
    from app.models.base import utcnow
    from app.services.stories import PostDraft, save_post
    return save_post(None, author=teacher, school=school, school_class=klass,
                     draft=PostDraft(kind="news", body=body, language="en"), media_list=[], pupils_by_id={},
                     publish_at=utcnow())


def test_publishing_prepares_the_classs_families_languages(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_PREFETCH="inline")
    klass, teacher = _class_with_families(school, ["pl", "ur", "ur", None, "en"])
    post = _publish(school, klass, teacher, "Sports day is on Monday.")
    assert sorted(c.params["target"] for c in libre_server.translations()) == ["pl", "ur"]
    assert _stored(school) == 2
    assert post.language == "en"


def test_publishing_never_waits_for_the_provider(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_PREFETCH="thread", TRANSLATION_TIMEOUT=1.0)
    translation.languages(wait=True)
    klass, teacher = _class_with_families(school, ["pl"])
    libre_server.mode = "hang"
    _publish(school, klass, teacher, "Trip tomorrow.")
    prefetcher = translation._state().prefetcher
    # Published, while the provider still holds the translation: the post did not wait for it (no
    # clock: a loaded machine must not fail this).
    assert prefetcher._pending == 1 and not libre_server.release.is_set()
    db.session.commit()  # as the end of a request would: the background job may use the database
    libre_server.mode = "ok"
    libre_server.release.set()
    deadline = time.monotonic() + 10
    while prefetcher._pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert prefetcher._pending == 0


@pytest.mark.parametrize("setting, redis_url, mode", [
    ("auto", "redis://127.0.0.1:6379/0", "queue"), ("auto", None, "thread"), ("AUTO ", None, "thread"),
    ("queue", None, "queue"), ("thread", "redis://127.0.0.1:6379/0", "thread"), ("inline", None, "inline"),
    ("off", None, "off"), ("nonsense", None, "off"), ("", None, "off"),
])
def test_prefetch_auto_means_the_queue_with_redis_and_a_thread_without(app, setting, redis_url, mode):
    app.config.update(TRANSLATION_PREFETCH=setting, REDIS_URL=redis_url)
    assert translation.prefetch_mode() == mode


def test_queued_prefetch_without_redis_runs_in_process_at_once_outside_a_request(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_PREFETCH="queue")
    klass, teacher = _class_with_families(school, ["pl", "ur"])
    _publish(school, klass, teacher, "Sports day is on Monday.")
    assert sorted(c.params["target"] for c in libre_server.translations()) == ["pl", "ur"]
    assert _stored(school) == 2


def test_a_queued_prefetch_of_a_school_deleted_since_does_nothing(app):
    assert translation.prefetch_job(987654, [["Hello", "en", "pl"]]) == 0


def test_with_redis_a_published_posts_translations_are_prepared_by_the_worker(make_app, libre_server):
    """TRANSLATION_PREFETCH=auto with REDIS_URL: publishing queues one job of plain arguments (the
    school's id and [text, source, target] lists); `flask jobs worker --burst` runs it in a forked
    work horse, which asks the (local stand-in) provider and fills the cache."""
    import os
    import uuid

    from app import jobs
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set TEST_REDIS_URL (CI sets it and starts redis-server)")
    name = f"hearth-test-{uuid.uuid4().hex}"
    app = make_app(REDIS_URL=url, JOBS_QUEUE=name, TRANSLATION_PREFETCH="auto")
    use_provider(app, libre_server, "libre")
    queue = jobs._queue(url, name)
    try:
        with app.app_context():
            school = make_school(name="Broughton Primary")
            klass, teacher = _class_with_families(school, ["pl", "ur", None])
            db.session.commit()
            _publish(school, klass, teacher, "Sports day is on Monday.")
            db.session.commit()  # the request would end here: no transaction held while the worker runs
            assert queue.count == 1 and libre_server.translations() == [] and _stored(school) == 0
            [job] = queue.jobs
            assert job.args[0] == "app.services.translation:prefetch_job"
            assert job.args[1] == school.id
            assert sorted(map(tuple, job.args[2])) == [("Sports day is on Monday.", "en", "pl"),
                                                       ("Sports day is on Monday.", "en", "ur")]
            db.session.commit()  # SQLite: the checks above read in a transaction; end it
            run_worker_burst(app)
            assert queue.count == 0 and queue.failed_job_registry.count == 0
            assert sorted(c.params["target"] for c in libre_server.translations()) == ["pl", "ur"]
            db.session.expire_all()
            assert _stored(school, "pl") == 1 and _stored(school, "ur") == 1
            # a reader now gets the translation from the cache: the provider is not asked again
            assert translation.translate(school, "Sports day is on Monday.", "en", "pl") == \
                "(pl) Sports day is on Monday."
            assert len(libre_server.translations()) == 2
    finally:
        queue.delete(delete_jobs=True)


def test_prefetch_off_sends_nothing(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_PREFETCH="off")
    klass, teacher = _class_with_families(school, ["pl"])
    _publish(school, klass, teacher, "Trip tomorrow.")
    assert libre_server.texts == []


def test_a_school_that_switched_translation_off_sends_nothing(app, school, libre_server):
    use_provider(app, libre_server, "libre", TRANSLATION_PREFETCH="inline")
    translation.set_content_translation(school, None, False)
    klass, teacher = _class_with_families(school, ["pl"])
    _publish(school, klass, teacher, "Trip tomorrow.")
    with pytest.raises(Unavailable):
        translation.translate(school, "Trip tomorrow.", "en", "pl")
    assert libre_server.texts == []


# ---- the glossary ------------------------------------------------------------------------------------

def test_glossary_rules_and_a_change_redoes_machine_translations(app, school, libre_server):
    use_provider(app, libre_server, "libre")
    translation.translate(school, "Team Points today", "en", "pl")
    db.session.add(Translation(school_id=school.id, source_hash="x" * 64, target_language="pl", text="kept",
                               provider="demo"))
    db.session.commit()
    translation.add_glossary_term(school, None, "Team Points")
    assert db.session.scalar(select(func.count(Translation.id))) == 1  # the machine one is gone, the stored one kept
    with pytest.raises(translation.GlossaryError):
        translation.add_glossary_term(school, None, "team points")  # the same, whatever the case
    with pytest.raises(translation.GlossaryError):
        translation.add_glossary_term(school, None, "Team Points", "pl", "")  # a language needs a translation
    with pytest.raises(translation.GlossaryError):
        translation.add_glossary_term(school, None, "   ")
    entry = translation.add_glossary_term(school, None, "team points", "pl", "Punkty drużynowe")
    assert entry.term == "Team Points"  # spelled as first written
    assert translation.glossary_for(school.id) == {"Team Points": {"pl": "Punkty drużynowe"}}
    assert translation.translate(school, "Team Points today", "en", "pl") == "(pl) Punkty drużynowe today"
    translation.remove_glossary_term(entry, None)
    assert db.session.scalar(select(func.count(GlossaryTerm.id))) == 1


# ---- the demo ----------------------------------------------------------------------------------------

def test_demo_posts_have_stored_translations_in_every_demo_familys_language():
    from app.demo import DEMO_TRANSLATIONS, LANGUAGE_BY_SURNAME, STORY_POSTS, TOPICS
    with open(DEMO_TRANSLATIONS, encoding="utf-8") as fh:
        stored = json.load(fh)["translations"]
    texts = {text.format(topic=topic) for _kind, text in STORY_POSTS for topic in TOPICS}
    texts.add("Welcome to Hearth, our new way to share your child's learning. The school office is still "
              "the place for absence, urgent matters and complaints.")
    assert texts <= set(stored)
    languages = set(LANGUAGE_BY_SURNAME.values())
    for text in texts:
        assert set(stored[text]) == languages, text
        for language, translated in stored[text].items():
            assert translated.strip() and translated != text
            for kept in ("https://www.bbc.co.uk/bitesize", "Hearth", "10"):
                if kept in text and not (kept == "10" and language == "bn"):
                    assert kept in translated, (language, text)


def test_the_demo_stores_its_posts_translations_for_its_families(app):
    from app.demo import STORY_POSTS, _stored_translations
    from app.services.translation import cached_translations, source_hash
    from tests.factories import make_post
    school = make_school()
    klass = make_class(school)
    teacher = make_teacher(school, classes=[klass])
    for locale in ("pl", "ur", None):
        make_parent(school, children=[make_pupil(klass)], locale=locale)
    texts = [STORY_POSTS[1][1], STORY_POSTS[3][1], "A post nobody translated."]
    for text in texts:
        make_post(teacher, klass, body=text)
    _stored_translations(school)
    assert _stored(school) == 4  # two texts, two languages
    for language in ("pl", "ur"):
        found = cached_translations(school.id, language, [source_hash("en", text) for text in texts])
        assert len(found) == 2
    assert _stored(school, "ro") == 0  # no Romanian family at this school
    assert "Hearth" in translation.glossary_for(school.id)


def test_deleting_a_text_deletes_its_translations_unless_the_words_live_on(app, school):
    from app.models import User
    from app.services.stories import delete_comment, delete_post
    from tests.factories import make_comment, make_post, make_translation
    teacher = db.session.scalar(select(User).where(User.school_id == school.id, User.role == "teacher"))
    klass = teacher.classes[0]
    post = make_post(teacher, klass, body="Trip on Friday.", language="en")
    twin = make_post(teacher, klass, body="Welcome back!", language="en")
    make_post(teacher, make_class(school), body="Welcome back!", language="en")  # the same words, another class
    make_comment(teacher, twin, "Dziękuję", language="pl")  # goes with its post
    comment = make_comment(teacher, twin, "Dzień dobry", language="pl")
    for text, source, target in (("Trip on Friday.", "en", "pl"), ("Welcome back!", "en", "pl"),
                                 ("Dziękuję", "pl", "en"), ("Dzień dobry", "pl", "en")):
        make_translation(school, text, source, target, f"({target}) {text}", provider="libre")
    delete_comment(comment, teacher)
    assert "(en) Dzień dobry" not in set(db.session.scalars(select(Translation.text)))
    delete_post(post, teacher)
    delete_post(twin, teacher)
    assert set(db.session.scalars(select(Translation.text))) == {"(pl) Welcome back!"}
