"""Photo consent, the service: history, an unchanged answer, the audit entry, the notice version,
and the Class Story being told of a change."""
import json
import sys
import threading
import types

import pytest
from sqlalchemy import func, inspect, select

import app.services as services_package
from app.extensions import db
from app.models import AuditEntry, PhotoConsent, Pupil
from app.services.consent import publish_new_version
from app.services.photo_consent import consent_history, consent_label, record_photo_consent, source_label
from tests.factories import make_class, make_head, make_parent, make_pupil, make_school


@pytest.fixture
def family(app):
    school = make_school()
    klass = make_class(school)
    pupil = make_pupil(klass, name="Zosia K.")
    return school, pupil, make_parent(school, children=[pupil]), make_head(school)


@pytest.fixture
def hook_calls(monkeypatch):
    """A stand-in Class Story module whose hook records its calls."""
    calls = []
    fake = types.ModuleType("app.services.stories")
    fake.on_photo_consent_changed = lambda pupil, old, new: calls.append((pupil.id, old, new))
    monkeypatch.setitem(sys.modules, "app.services.stories", fake)
    monkeypatch.setattr(services_package, "stories", fake, raising=False)
    return calls


def rows(pupil):
    return db.session.scalar(select(func.count(PhotoConsent.id)).where(PhotoConsent.pupil_id == pupil.id))


def consent_audits():
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "consent.photo")
                                   .order_by(AuditEntry.id)))


def test_an_answer_is_kept_on_the_pupil_with_a_history_row(family, hook_calls):
    school, pupil, parent, head = family
    row = record_photo_consent(pupil, "yes", source="parent", by=parent)
    assert db.session.get(Pupil, pupil.id).photo_consent == "yes"
    assert (row.pupil_id, row.school_id, row.value, row.source, row.recorded_by_id) == (
        pupil.id, school.id, "yes", "parent", parent.id)
    assert row.recorded_at is not None


def test_history_is_newest_first_with_who_recorded_each_answer(family, hook_calls):
    school, pupil, parent, head = family
    record_photo_consent(pupil, "no", source="paper", by=head)
    record_photo_consent(pupil, "yes", source="parent", by=parent)
    record_photo_consent(pupil, "no", source="parent", by=parent)
    other = make_pupil(make_class(school))
    record_photo_consent(other, "yes", source="paper", by=head)
    db.session.expire_all()
    history = consent_history(pupil)
    assert [(r.value, r.source) for r in history] == [("no", "parent"), ("yes", "parent"), ("no", "paper")]
    assert all("recorded_by" not in inspect(r).unloaded for r in history)  # loaded with the rows
    assert [r.recorded_by.name for r in history] == [parent.name, parent.name, head.name]
    assert consent_history(make_pupil(make_class(school))) == []


def test_the_same_answer_again_writes_nothing(family, hook_calls):
    school, pupil, parent, head = family
    first = record_photo_consent(pupil, "no", source="parent", by=parent)
    again = record_photo_consent(pupil, "no", source="paper", by=head)
    assert again.id == first.id and again.source == "parent"
    assert rows(pupil) == 1 and len(consent_audits()) == 1
    assert hook_calls == [(pupil.id, None, "no")]


def test_each_change_is_audited_with_value_source_and_previous_answer(family, hook_calls):
    school, pupil, parent, head = family
    record_photo_consent(pupil, "yes", source="paper", by=head)
    record_photo_consent(pupil, "no", source="parent", by=parent)
    first, second = consent_audits()
    assert (first.target_type, first.target_id, first.school_id, first.actor_user_id) == (
        "pupil", pupil.id, school.id, head.id)
    assert json.loads(first.detail_json) == {"value": "yes", "source": "paper", "previous": None}
    assert second.actor_user_id == parent.id
    assert json.loads(second.detail_json) == {"value": "no", "source": "parent", "previous": "yes"}


def test_the_privacy_notice_version_in_force_is_recorded(family, hook_calls):
    school, pupil, parent, head = family
    assert record_photo_consent(pupil, "yes", source="parent", by=parent).privacy_version == 1
    publish_new_version(school, "privacy", "Privacy notice", "Version two.", by=head)
    publish_new_version(make_school(), "privacy", "Another school's notice", "Not ours.")
    assert record_photo_consent(pupil, "no", source="parent", by=parent).privacy_version == 2


def test_the_class_story_is_told_of_each_change_after_it_is_saved(family, monkeypatch):
    school, pupil, parent, head = family
    seen = []

    pupil_id = pupil.id

    def hook(child, old, new):
        with db.engine.connect() as other:  # another connection sees only what is committed
            saved = other.scalar(select(Pupil.photo_consent).where(Pupil.id == pupil_id))
            count = other.scalar(select(func.count(PhotoConsent.id)).where(PhotoConsent.pupil_id == pupil_id))
        seen.append((child.id, old, new, saved, count))

    fake = types.ModuleType("app.services.stories")
    fake.on_photo_consent_changed = hook
    monkeypatch.setitem(sys.modules, "app.services.stories", fake)
    monkeypatch.setattr(services_package, "stories", fake, raising=False)
    record_photo_consent(pupil, "yes", source="parent", by=parent)
    record_photo_consent(pupil, "no", source="parent", by=parent)
    assert seen == [(pupil.id, None, "yes", "yes", 1), (pupil.id, "yes", "no", "no", 2)]


@pytest.mark.parametrize("module", ["without the hook", "not importable"])
def test_without_a_class_story_hook_the_answer_is_still_recorded(family, monkeypatch, module):
    school, pupil, parent, head = family
    monkeypatch.delattr(services_package, "stories", raising=False)
    monkeypatch.setitem(sys.modules, "app.services.stories",
                        types.ModuleType("app.services.stories") if module == "without the hook" else None)
    record_photo_consent(pupil, "no", source="parent", by=parent)
    assert db.session.get(Pupil, pupil.id).photo_consent == "no" and rows(pupil) == 1


def test_two_taps_at_once_make_one_change(app, family, hook_calls):
    """Two requests for the same answer, racing: the second sees the first's answer and writes nothing."""
    school, pupil, parent, head = family
    pupil_id, parent_id = pupil.id, parent.id
    db.session.commit()
    barrier, errors = threading.Barrier(2), []

    def tap():
        try:
            with app.app_context():
                child, by = db.session.get(Pupil, pupil_id), db.session.get(type(parent), parent_id)
                assert child.photo_consent is None
                db.session.commit()  # SQLite: let the other thread read too
                barrier.wait(timeout=10)
                record_photo_consent(child, "no", source="parent", by=by)
        except Exception as error:  # reported below: an exception in a thread fails nothing by itself
            errors.append(error)

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert rows(pupil) == 1 and len(consent_audits()) == 1


@pytest.mark.parametrize("value, source", [("maybe", "parent"), ("", "parent"), (None, "paper"),
                                           ("yes", "robot"), ("no", "")])
def test_unknown_answers_and_sources_are_refused(family, hook_calls, value, source):
    school, pupil, parent, head = family
    with pytest.raises(ValueError):
        record_photo_consent(pupil, value, source=source, by=parent)
    assert rows(pupil) == 0 and db.session.get(Pupil, pupil.id).photo_consent is None


def test_labels(app):
    assert [consent_label(v) for v in ("yes", "no", None, "")] == ["Yes", "No", "Not recorded", "Not recorded"]
    assert source_label("paper") == "On a paper form, recorded by the office"
    assert source_label("parent") == "By a parent or carer, in Hearth"
