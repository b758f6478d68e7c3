"""A family's own data (UK GDPR article 15; SECURITY.md 28): who may download what, what the archive
holds and leaves out, and the completeness test: every table with a pupil (or the parent's own
account) in it appears in data.json, so a table that is forgotten fails here."""
import io
import json
import re
import secrets
import zipfile
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AccountAction,
    Acknowledgement,
    AuditEntry,
    Comment,
    ContentReport,
    Conversation,
    EmailDelivery,
    Like,
    MediaFile,
    MediaTag,
    Message,
    Notification,
    NotificationPreference,
    ParentLink,
    Passcode,
    PhotoConsent,
    PointAward,
    PointCategory,
    PortfolioItem,
    PostSeen,
    ReadingLogEntry,
)
from app.models.base import utcnow
from app.services.media import file_path
from tests.conftest import client_as, count_queries, outcome
from tests.factories import (
    make_class,
    make_comment,
    make_head,
    make_parent,
    make_photo,
    make_post,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    set_consent,
)


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    teacher = make_teacher(school, classes=[klass], name="Mrs Nowak")
    elsewhere = make_school()
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia], name="Anna K.", locale="pl"),
        "maja's parent": make_parent(school, children=[maja], name="Piotr P."),
        "zosia": zosia,
        "other school's head": make_head(elsewhere),
    }
    return dict(school=school, klass=klass, zosia=zosia, maja=maja, teacher=teacher, people=people,
                other_pupil=make_pupil(make_class(elsewhere)))


def unzip(response):
    assert response.status_code == 200, response.status_code
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    return archive


def data_of(archive):
    return json.loads(archive.read("data.json"))


def ids(data, table):
    return {row["id"] for row in data.get(table, [])}


# ---- who may download what --------------------------------------------------------------------

ROLES = ["anonymous", "zosia's parent", "maja's parent", "teacher", "other teacher", "senior leader", "head",
         "zosia", "other school's head"]
# url -> the outcome for each role, in the order of ROLES. 404: not theirs (never "forbidden").
ACCESS = {
    "/exports/": [302, 200, 200, 404, 404, 404, 404, 404, 404],
    "/exports/family.zip": [302, 200, 200, 404, 404, 404, 404, 404, 404],
    "/exports/children/{zosia}.zip": [302, 200, 404, 404, 404, 404, 404, 404, 404],
    "/exports/pupils/{zosia}": [302, 404, 404, 404, 404, 404, 200, 404, 404],
    "/exports/pupils/{other_pupil}": [302, 404, 404, 404, 404, 404, 404, 404, 200],  # their own school's
    "/exports/children/{other_pupil}.zip": [302, 404, 404, 404, 404, 404, 404, 404, 404],
}


@pytest.mark.parametrize("url", list(ACCESS))
def test_who_may_download(world, client, login_as, url):
    path = url.format(zosia=world["zosia"].id, other_pupil=world["other_pupil"].id)
    got = [outcome(client_as(client, login_as, world["people"], who).get(path)) for who in ROLES]
    assert dict(zip(ROLES, got)) == dict(zip(ROLES, ACCESS[url]))


def test_the_page_explains_the_archive_and_offers_a_download_per_child(world, login_as):
    parent = world["people"]["maja's parent"]
    db.session.add(ParentLink(parent_id=parent.id, pupil_id=world["zosia"].id))
    db.session.commit()
    page = login_as(parent).get("/exports/").get_data(as_text=True)
    assert "What the download holds" in page and 'href="/exports/family.zip"' in page
    assert f'href="/exports/children/{world["zosia"].id}.zip"' in page
    assert f'href="/exports/children/{world["maja"].id}.zip"' in page
    child_page = login_as(parent).get(f"/family/child/{world['zosia'].id}").get_data(as_text=True)
    assert 'href="/exports/"' in child_page


def test_downloads_are_audited(world, login_as):
    parent, head, zosia = world["people"]["zosia's parent"], world["people"]["head"], world["zosia"]
    login_as(parent).get("/exports/family.zip")
    login_as(parent).get(f"/exports/children/{zosia.id}.zip")
    login_as(head).get(f"/exports/pupils/{zosia.id}")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("export.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_user_id, e.target_type, e.target_id) for e in entries] == [
        ("export.family", parent.id, "user", parent.id),
        ("export.family", parent.id, "pupil", zosia.id),
        ("export.pupil", head.id, "pupil", zosia.id),
    ]
    assert entries[0].detail["pupils"] == [zosia.id]


def test_a_few_downloads_an_hour(make_app):
    application = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", EXPORT_LIMIT="2 per hour")
    with application.app_context():
        school = make_school()
        pupil = make_pupil(make_class(school))
        parent = make_parent(school, children=[pupil])
        other = make_parent(school, children=[pupil])
        from tests.conftest import sign_in
        client = sign_in(application.test_client(), parent)
        answers = [client.get(url).status_code for url in
                   ("/exports/family.zip", f"/exports/children/{pupil.id}.zip", "/exports/family.zip")]
        assert answers == [200, 200, 429]
        assert client.get("/exports/").status_code == 200  # the page is not a download
        # Per account: another parent behind the same address still may.
        assert sign_in(application.test_client(), other).get("/exports/family.zip").status_code == 200


# ---- what the archive holds ----------------------------------------------------------------------

def test_the_archive_holds_the_family_data_and_opens_offline(world, login_as):
    people, zosia, maja, teacher, klass = (world["people"], world["zosia"], world["maja"], world["teacher"],
                                           world["klass"])
    anna, piotr = people["zosia's parent"], people["maja's parent"]
    set_consent(zosia, "yes")
    category = db.session.scalars(select(PointCategory).where(PointCategory.school_id == world["school"].id)).first()
    db.session.add(PointAward(school_id=zosia.school_id, pupil_id=zosia.id, class_id=klass.id, category_id=category.id,
                              awarded_by_id=teacher.id, value=1, note="Kind to <everyone>", request_key="k1"))
    alone = make_photo(teacher, tags=[zosia], colour=(10, 200, 10))
    with_maja = make_photo(teacher, tags=[zosia, maja], colour=(200, 10, 10))
    only_maja = make_photo(teacher, tags=[maja], colour=(10, 10, 200))
    post = make_post(teacher, klass, body="Our trip to the <museum>", media=[alone, with_maja, only_maja])
    make_comment(teacher, post, body="What a day!")
    make_comment(anna, post, body="Zosia loved it")
    make_comment(piotr, post, body="Maja's dad says thanks")
    item = PortfolioItem(school_id=zosia.school_id, pupil_id=zosia.id, class_id=klass.id, added_by_id=teacher.id,
                         body="A Roman shield", status="approved")
    pending = PortfolioItem(school_id=zosia.school_id, pupil_id=zosia.id, class_id=klass.id, by_pupil=True,
                            body="Waiting for the teacher", status="pending")
    db.session.add_all([item, pending])
    db.session.commit()
    shield = make_photo(teacher, tags=[zosia], colour=(90, 90, 90))
    shield.portfolio_item_id = item.id
    db.session.commit()

    archive = unzip(login_as(anna).get("/exports/family.zip"))
    names = archive.namelist()
    assert names[:2] == ["index.html", "data.json"]
    data = data_of(archive)
    # Maja has no photo consent: the photo of both girls stays out, and so does Maja's own photo.
    assert ids(data, "media_file") == {alone.id, shield.id}
    assert sorted(n for n in names if n.startswith("media/")) == sorted(
        [f"media/photo-{alone.id}.webp", f"media/photo-{shield.id}.webp"])
    assert archive.read(f"media/photo-{alone.id}.webp") == file_path(alone, "large").read_bytes()
    assert {row["pupil_id"] for row in data["media_tag"]} == {zosia.id}
    assert ids(data, "portfolio_item") == {item.id}  # pending work is not shown to families
    assert [row["body"] for row in data["comment"]] == ["What a day!", "Zosia loved it"]
    assert ids(data, "pupil") == {zosia.id}
    me = next(row for row in data["user"] if row["id"] == anna.id)
    assert me["email"] == anna.email and me["locale"] == "pl" and "password_hash" not in me
    staff = next(row for row in data["user"] if row["id"] == teacher.id)
    assert staff == {"id": teacher.id, "name": "Mrs Nowak", "role": "teacher"}
    assert piotr.id not in {row["id"] for row in data["user"]}
    assert data["point_award"][0]["awarded_at"].endswith("Z")
    assert "picture_password" not in data["pupil"][0]

    # Maja gets consent: now the photo of both girls is Zosia's family's too, but never Maja's alone.
    set_consent(maja, "yes")
    again = data_of(unzip(login_as(anna).get("/exports/family.zip")))
    assert ids(again, "media_file") == {alone.id, with_maja.id, shield.id}

    index = archive.read("index.html").decode()
    assert '<html lang="pl"' in index
    for text in ("Our trip to the &lt;museum&gt;", "Kind to &lt;everyone&gt;", "A Roman shield", "Zosia loved it",
                 anna.email):
        assert text in index
    for text in ("Maja&#39;s dad", "Maja's dad", "Waiting for the teacher"):
        assert text not in index
    assert f'src="media/photo-{alone.id}.webp"' in index
    assert "<script" not in index
    assert not re.search(r'(?:src|href)="(?:https?:|//|/)', index)
    assert "<link" not in index and "url(" not in index


def test_a_parent_with_no_child_linked_gets_their_account(world, login_as):
    parent = make_parent(world["school"], name="Ewa N.")
    archive = unzip(login_as(parent).get("/exports/family.zip"))
    data = data_of(archive)
    assert [row["id"] for row in data["user"]] == [parent.id] and "pupil" not in data
    assert "Ewa N." in archive.read("index.html").decode()


def test_times_in_the_index_are_in_the_schools_time_zone(world, login_as):
    zosia, teacher = world["zosia"], world["teacher"]
    category = db.session.scalars(select(PointCategory).where(PointCategory.school_id == world["school"].id)).first()
    db.session.add(PointAward(school_id=zosia.school_id, pupil_id=zosia.id, category_id=category.id,
                              awarded_by_id=teacher.id, value=1, request_key="k",
                              awarded_at=datetime(2026, 7, 1, 23, 30)))
    db.session.commit()
    archive = unzip(login_as(world["people"]["head"]).get(f"/exports/pupils/{zosia.id}"))
    index = archive.read("index.html").decode()
    assert "2 Jul 2026, 00:30:00" in index  # British Summer Time
    assert data_of(archive)["point_award"][0]["awarded_at"] == "2026-07-01T23:30:00Z"


def test_messages_hold_the_familys_conversations_not_other_families(world, login_as):
    people, zosia, maja, teacher = world["people"], world["zosia"], world["maja"], world["teacher"]
    anna, piotr = people["zosia's parent"], people["maja's parent"]
    mine = _conversation(teacher, zosia, anna)
    theirs = _conversation(teacher, maja, piotr)
    childs = _conversation(teacher, zosia, None)
    _message(mine, anna, "Zosia has a cold")
    letter = make_photo(teacher, colour=(250, 250, 0))
    letter.message_id = _message(mine, teacher, "Get well soon").id
    db.session.commit()
    _message(mine, teacher, "A message removed after a report", removed_at=utcnow())
    _message(theirs, piotr, "Maja's news")
    _message(childs, zosia, "I finished my book")
    archive = unzip(login_as(anna).get("/exports/family.zip"))
    data = data_of(archive)
    assert f"media/photo-{letter.id}.webp" in archive.namelist()
    assert f'src="media/photo-{letter.id}.webp"' in archive.read("index.html").decode()
    assert [row["body"] for row in data["message"]] == ["Zosia has a cold", "Get well soon"]
    assert ids(data, "conversation") == {mine.id}
    assert ids(data, "media_file") == {letter.id}  # the attachment, with its file
    # The head's copy of Zosia's record: every conversation about her, everything in it.
    record = data_of(unzip(login_as(people["head"]).get(f"/exports/pupils/{zosia.id}")))
    assert ids(record, "conversation") == {mine.id, childs.id}
    assert {row["body"] for row in record["message"]} == {
        "Zosia has a cold", "Get well soon", "A message removed after a report", "I finished my book"}
    assert "user" in record and all(set(row) == {"id", "name", "role"} for row in record["user"])


def test_query_count_does_not_grow_with_the_childs_history(world, login_as):
    zosia, teacher, klass = world["zosia"], world["teacher"], world["klass"]
    set_consent(zosia, "yes")
    client = login_as(world["people"]["zosia's parent"])

    def add_history(n):
        category = db.session.scalars(select(PointCategory).where(PointCategory.school_id == zosia.school_id)).first()
        for _ in range(n):
            key = secrets.token_hex(4)
            db.session.add(PointAward(school_id=zosia.school_id, pupil_id=zosia.id, category_id=category.id,
                                      awarded_by_id=teacher.id, value=1, request_key=key))
            item = PortfolioItem(school_id=zosia.school_id, pupil_id=zosia.id, class_id=klass.id,
                                 added_by_id=teacher.id, body=f"Work {key}", status="approved")
            db.session.add(item)
            db.session.flush()
            db.session.add(_media(teacher, portfolio_item_id=item.id, tags=[zosia]))
            post = make_post(teacher, klass, body=f"Post {key}")
            db.session.add(_media(teacher, post_id=post.id, tags=[zosia]))
            make_comment(teacher, post, body="Nice")
            db.session.add(ReadingLogEntry(school_id=zosia.school_id, pupil_id=zosia.id,
                                           parent_id=world["people"]["zosia's parent"].id,
                                           read_on=date.today(), minutes=10, title=f"Book {key}"))
        db.session.commit()

    add_history(2)
    small = count_queries(lambda: unzip(client.get("/exports/family.zip")))
    add_history(15)
    large = count_queries(lambda: unzip(client.get("/exports/family.zip")))
    assert small == large


# ---- completeness: every table that refers to a pupil or to the parent's own account ------------

# Columns that refer to a pupil or a user without a foreign key: each is listed here, with what the
# export does with it, so that a new one cannot slip past the test below.
NO_FOREIGN_KEY = {
    ("audit_entry", "actor_pupil_id"): "pupil",  # the log outlives the accounts it names
    ("audit_entry", "actor_user_id"): "user",
}
# Columns that never refer to the family's own data, and why.
NOT_THE_FAMILYS = {
    ("audit_entry", "target_id"): "a target of any type; the head's export takes the entries about the pupil",
    ("conversation", "last_to_staff_id"): "a message id (the newest sent to staff), not a person",
    ("content_report", "target_id"): "the reported message, post, comment or item, not a person",
    ("school", "paused_by_id"): "the head who paused Hearth: a member of staff's act",
    ("calendar_entry", "created_by_id"): "staff write the calendar",
    ("notification", "actor_id"): "news given to someone else that names the parent as who did it (a "
                                  "teacher told of their comment): the recipient's; the comment itself is "
                                  "in the export",
    ("class_teacher", "user_id"): "teachers of a class",
    ("post", "author_id"): "only staff write posts",
    ("post", "removed_by_id"): "the senior leader who removed a post",
    ("post_revision", "edited_by_id"): "staff edit posts",
    ("staff_away", "user_id"): "staff only",
    ("staff_hours", "user_id"): "staff only",
    ("staff_invite", "created_by_id"): "staff only",
    ("content_report", "resolved_by_id"): "the senior leader who dealt with a report",
    ("conversation", "staff_id"): "the member of staff in a conversation",
    ("passcode", "created_by_id"): "the member of staff who printed a passcode",
    ("point_award", "awarded_by_id"): "staff give points",
    ("point_award", "undone_by_id"): "staff undo points",
    ("portfolio_item", "added_by_id"): "teachers add to a pupil's story",
    ("portfolio_item", "reviewed_by_id"): "teachers review a pupil's story",
    ("portfolio_item", "removed_by_id"): "the senior leader who removed an item",
    ("account_action", "created_by_id"): "the senior leader who warned or suspended",
    ("comment", "hidden_by_id"): "the member of staff who hid a comment",
    ("comment", "held_decided_by_id"): "the reviewer of a held comment",
    ("message", "removed_by_id"): "the senior leader who removed a message",
    ("message", "held_decided_by_id"): "the reviewer of a held message",
    ("reading_log_entry", "reviewed_by_id"): "the teacher who approved reading",
}
# Left out of the parent's own download (the head's export of the pupil holds them), and why.
PARENT_EXPORT_LEAVES_OUT = {
    ("message", "sender_pupil_id"): "the child's own conversations with staff: a child's confidential channel "
                                    "to school, never shown to parents in Hearth",
    ("content_report", "reporter_pupil_id"): "reports the child made to the senior leaders, for the same reason",
}


def person_columns(target):
    """(table, column) of every column that refers to ``target`` ("pupil" or "user"): foreign keys,
    and the listed columns without one."""
    found = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == target and fk.column.name == "id" for fk in column.foreign_keys):
                found.add((table.name, column.name))
    found |= {key for key, kind in NO_FOREIGN_KEY.items() if kind == target}
    return found


def test_every_column_that_may_name_a_person_is_accounted_for():
    """A column named like a person (…pupil_id, …user_id, …_by_id, target_id) without a foreign key
    must be listed above, or the completeness tests could not see it."""
    unlisted = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            named = re.search(r"(pupil_id|user_id|_by_id|parent_id|staff_id|target_id)$", column.name)
            if named and not column.foreign_keys and (table.name, column.name) not in (
                    set(NO_FOREIGN_KEY) | set(NOT_THE_FAMILYS)):
                unlisted.append(f"{table.name}.{column.name}")
    assert not unlisted, f"say in NO_FOREIGN_KEY or NOT_THE_FAMILYS what these refer to: {unlisted}"


def _media(uploader, tags=(), pupil=None, **kw):
    media = MediaFile(school_id=uploader.school_id if uploader else pupil.school_id, kind="image",
                      storage_key=secrets.token_hex(12), content_type="image/webp",
                      uploaded_by_id=uploader.id if uploader else None,
                      uploaded_by_pupil_id=pupil.id if pupil else None, **kw)
    media.tags.extend(MediaTag(pupil_id=p.id) for p in tags)
    return media


def _conversation(staff, pupil, parent):
    kind = "parent" if parent else "pupil"
    convo = Conversation(school_id=pupil.school_id, kind=kind, staff_id=staff.id, pupil_id=pupil.id,
                         parent_id=parent.id if parent else None,
                         pair_key=f"{kind}:{staff.id}:{parent.id if parent else ''}:{pupil.id}")
    db.session.add(convo)
    db.session.commit()
    return convo


def _message(convo, sender, body, **kw):
    message = Message(school_id=convo.school_id, conversation_id=convo.id, body=body,
                      from_staff=bool(getattr(sender, "is_staff", False)),
                      sender_user_id=None if sender.is_pupil else sender.id,
                      sender_pupil_id=sender.id if sender.is_pupil else None, **kw)
    db.session.add(message)
    db.session.commit()
    return message


def seed_everything(world):
    """One row in every table for Zosia and her parent, keyed by the (table, column) naming them."""
    people, zosia, teacher, klass, school = (world["people"], world["zosia"], world["teacher"], world["klass"],
                                             world["school"])
    anna = people["zosia's parent"]
    category = db.session.scalars(select(PointCategory).where(PointCategory.school_id == school.id)).first()
    post = make_post(teacher, klass, body="A post Zosia is not in")  # her parent comments and likes it
    photo_post = make_post(teacher, klass, body="Zosia in a photo")
    set_consent(zosia, "yes")
    item = PortfolioItem(school_id=school.id, pupil_id=zosia.id, class_id=klass.id, by_pupil=True,
                         body="Zosia's work", status="approved")
    db.session.add(item)
    db.session.flush()
    family_talk = _conversation(teacher, zosia, anna)
    childs_talk = _conversation(teacher, zosia, None)
    award = PointAward(school_id=school.id, pupil_id=zosia.id, class_id=klass.id, category_id=category.id,
                       awarded_by_id=teacher.id, value=1, request_key="seed")
    db.session.add(award)
    db.session.flush()
    rows = {
        ("pupil", "id"): zosia,
        ("parent_link", "pupil_id"): db.session.scalar(select(ParentLink).where(ParentLink.pupil_id == zosia.id)),
        ("parent_link", "parent_id"): db.session.scalar(select(ParentLink).where(ParentLink.parent_id == anna.id)),
        ("acknowledgement", "user_id"): db.session.scalars(
            select(Acknowledgement).where(Acknowledgement.user_id == anna.id)).first(),
        ("passcode", "pupil_id"): Passcode(school_id=school.id, pupil_id=zosia.id, code_hash=secrets.token_hex(32),
                                           hint="AB12", expires_at=utcnow() + timedelta(days=9), used_at=utcnow(),
                                           used_by_id=anna.id, created_by_id=teacher.id),
        ("photo_consent", "pupil_id"): PhotoConsent(school_id=school.id, pupil_id=zosia.id, value="yes",
                                                    source="paper", recorded_by_id=teacher.id),
        ("photo_consent", "recorded_by_id"): PhotoConsent(school_id=school.id, pupil_id=zosia.id, value="yes",
                                                          source="parent", recorded_by_id=anna.id),
        ("point_award", "pupil_id"): award,
        ("portfolio_item", "pupil_id"): item,
        ("media_file", "uploaded_by_pupil_id"): _media(None, pupil=zosia, portfolio_item_id=item.id),
        ("media_tag", "pupil_id"): _media(teacher, tags=[zosia], post_id=photo_post.id),
        ("media_file", "uploaded_by_id"): _media(anna),  # staged, not sent yet
        ("reading_log_entry", "pupil_id"): ReadingLogEntry(school_id=school.id, pupil_id=zosia.id, parent_id=anna.id,
                                                           read_on=date.today(), minutes=15, title="Matilda"),
        ("conversation", "pupil_id"): family_talk,
        ("message", "sender_user_id"): Message(school_id=school.id, conversation_id=family_talk.id, body="Hello",
                                               from_staff=False, sender_user_id=anna.id),
        ("message", "sender_pupil_id"): Message(school_id=school.id, conversation_id=childs_talk.id, body="Hi miss",
                                                from_staff=False, sender_pupil_id=zosia.id),
        ("content_report", "reporter_pupil_id"): ContentReport(school_id=school.id, target_type="message",
                                                               target_id=1, reporter_pupil_id=zosia.id),
        ("content_report", "reporter_user_id"): ContentReport(school_id=school.id, target_type="post",
                                                              target_id=post.id, reporter_user_id=anna.id),
        ("account_action", "user_id"): AccountAction(school_id=school.id, user_id=anna.id, kind="warn",
                                                     reason="Be kind", created_by_id=people["head"].id,
                                                     acknowledged_at=utcnow()),
        ("comment", "author_id"): Comment(school_id=school.id, author_id=anna.id, post_id=post.id, body="Lovely"),
        ("story_like", "user_id"): Like(user_id=anna.id, post_id=post.id),
        ("post_seen", "user_id"): PostSeen(post_id=post.id, user_id=anna.id),
        ("notification", "user_id"): Notification(school_id=school.id, user_id=anna.id, kind="message",
                                                   subject=f"conversation:{family_talk.id}", actor_id=teacher.id,
                                                   pupil_id=zosia.id),
        ("notification_preference", "user_id"): NotificationPreference(user_id=anna.id, kind="points",
                                                                       in_app=True, email="digest"),
        ("email_delivery", "user_id"): EmailDelivery(school_id=school.id, user_id=anna.id, key=f"digest:{anna.id}:x",
                                                     kind="digest", to_address=anna.email, status="sent"),
        ("audit_entry", "actor_pupil_id"): AuditEntry(school_id=school.id, actor_pupil_id=zosia.id,
                                                      action="auth.pupil_sign_in"),
        ("audit_entry", "actor_user_id"): AuditEntry(school_id=school.id, actor_user_id=anna.id,
                                                     action="auth.sign_in", target_type="user", target_id=anna.id),
    }
    rows[("conversation", "parent_id")] = family_talk
    rows[("notification", "pupil_id")] = rows[("notification", "user_id")]
    rows[("reading_log_entry", "parent_id")] = rows[("reading_log_entry", "pupil_id")]
    rows[("passcode", "used_by_id")] = rows[("passcode", "pupil_id")]
    db.session.add_all(rows.values())
    db.session.commit()
    return rows


def _present(data, obj):
    table = obj.__table__.name
    key = {c.name: getattr(obj, c.key) for c in obj.__mapper__.primary_key}
    return any(all(row.get(name) == value for name, value in key.items()) for row in data.get(table, []))


def _missing(data, rows, wanted):
    return sorted(f"{t}.{c}" for (t, c) in wanted if not _present(data, rows[(t, c)]))


def test_the_pupils_export_holds_every_table_that_refers_to_the_pupil(world, login_as):
    rows = seed_everything(world)
    wanted = person_columns("pupil")
    unseeded = wanted - set(rows)
    assert not unseeded, f"a new table refers to pupils: seed it here and add it to the export: {unseeded}"
    data = data_of(unzip(login_as(world["people"]["head"]).get(f"/exports/pupils/{world['zosia'].id}")))
    assert _missing(data, rows, wanted | {("pupil", "id")}) == []


def test_the_parents_export_holds_every_table_that_refers_to_their_child_or_to_them(world, login_as):
    rows = seed_everything(world)
    pupil_columns, user_columns = person_columns("pupil"), person_columns("user")
    unclassified = user_columns - set(rows) - set(NOT_THE_FAMILYS)
    assert not unclassified, ("a new column refers to users: seed it here, or say why it is not the family's: "
                              f"{unclassified}")
    assert not pupil_columns - set(rows)
    wanted = (pupil_columns - set(PARENT_EXPORT_LEAVES_OUT)) | (user_columns - set(NOT_THE_FAMILYS))
    data = data_of(unzip(login_as(world["people"]["zosia's parent"]).get("/exports/family.zip")))
    assert _missing(data, rows, wanted | {("pupil", "id")}) == []
    assert data["user"][0]["id"] == world["people"]["zosia's parent"].id
    # What is left out, is left out.
    assert _missing(data, rows, set(PARENT_EXPORT_LEAVES_OUT)) == sorted(
        f"{t}.{c}" for t, c in PARENT_EXPORT_LEAVES_OUT)
