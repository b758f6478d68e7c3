"""The keepsake: a child's approved work of one school year as a zip with an index.html that opens
offline; what is in it, who may download it, and the audit entry."""
import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Comment, PortfolioItem
from app.models.base import utcnow
from app.services.media import file_path
from app.services.school_calendar import current_academic_year, end_of_academic_year
from tests.conftest import client_as, outcome
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_photo,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)

YEAR = current_academic_year()
LABEL = f"{YEAR}-{(YEAR + 1) % 100:02d}"


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    teacher = make_teacher(school, classes=[klass], name="Mrs Nowak")
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia], name="Anna K."),
        "maja's parent": make_parent(school, children=[maja], name="Piotr P."),
        "zosia": zosia,
        "maja": maja,
        "other school's head": make_head(make_school()),
    }
    return dict(school=school, klass=klass, zosia=zosia, teacher=teacher, people=people)


def make_item(world, body, status="approved", photos=1, by_pupil=False, created_at=None, shared=False):
    """An item on Zosia's story with photos through the real pipeline."""
    item = PortfolioItem(school_id=world["school"].id, pupil_id=world["zosia"].id, class_id=world["klass"].id,
                         added_by_id=None if by_pupil else world["teacher"].id, by_pupil=by_pupil, body=body,
                         status=status, share_requested=shared, shared_at=utcnow() if shared else None,
                         created_at=created_at or utcnow())
    db.session.add(item)
    db.session.commit()
    media = []
    for n in range(photos):
        photo = make_photo(world["teacher"], tags=[world["zosia"]], colour=(20 * n, 90, 160))
        photo.portfolio_item_id, photo.position = item.id, n
        media.append(photo)
    db.session.commit()
    return item, media


def comment(item, author, body, hidden=False):
    db.session.add(Comment(school_id=item.school_id, author_id=author.id, portfolio_item_id=item.id, body=body,
                           hidden_at=utcnow() if hidden else None))
    db.session.commit()


def download(client, pupil, **params):
    return client.get(f"/portfolio/pupils/{pupil.id}/keepsake.zip", query_string=params)


def test_the_zip_holds_the_years_approved_work_with_an_offline_index(world, login_as):
    people = world["people"]
    shield, shield_photos = make_item(world, 'My <b>Roman</b> shield & "sword"\n<script>alert(1)</script>',
                                      photos=2, created_at=utcnow() - timedelta(days=2))
    poem, poem_photos = make_item(world, "A poem about autumn", by_pupil=True, shared=True,
                                  created_at=utcnow() - timedelta(days=1))
    make_item(world, "Still waiting for the teacher", status="pending", by_pupil=True)
    make_item(world, "Sent back to try again", status="sent_back", by_pupil=True)
    last_year = end_of_academic_year(YEAR - 1, world["school"].timezone) - timedelta(days=30)
    make_item(world, "Last year's volcano", created_at=last_year)
    comment(shield, world["teacher"], "Wonderful detail on the shield!")
    comment(shield, people["zosia's parent"], "So proud of you <3")
    comment(shield, people["maja's parent"], "Comment from another family")
    comment(shield, people["zosia's parent"], "A comment the teacher hid", hidden=True)

    response = download(login_as(people["zosia's parent"]), world["zosia"])
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f"attachment; filename=Zosia-K-{LABEL}-keepsake.zip"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert int(response.headers["Content-Length"]) == len(response.data)

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    names = archive.namelist()
    photos = [n for n in names if n.startswith("photos/")]
    assert names[0] == "index.html" and len(names) == 4 and len(photos) == 3
    assert all(re.fullmatch(r"photos/\d{4}-\d{2}-\d{2}-\d\.webp", n) for n in photos)
    # Each photo is the large variant, byte for byte, stored (WebP is compressed already).
    on_disk = sorted(file_path(m, "large").read_bytes() for m in shield_photos + poem_photos)
    assert sorted(archive.read(n) for n in photos) == on_disk
    assert all(archive.getinfo(n).compress_type == zipfile.ZIP_STORED for n in photos)
    assert archive.getinfo("index.html").compress_type == zipfile.ZIP_DEFLATED

    index = archive.read("index.html").decode()
    assert "My &lt;b&gt;Roman&lt;/b&gt; shield &amp; &#34;sword&#34;" in index
    assert "<script" not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert index.index("Roman") < index.index("A poem about autumn")  # oldest first
    assert "Wonderful detail on the shield!" in index and "So proud of you &lt;3" in index
    assert "Comment from another family" not in index and "A comment the teacher hid" not in index
    for hidden in ("Still waiting", "Sent back", "volcano"):
        assert hidden not in index
    for name in photos:
        assert f'src="{name}"' in index
    # Staff read hidden comments in the app; the keepsake leaves them out for everyone.
    staff_copy = zipfile.ZipFile(io.BytesIO(download(login_as(world["teacher"]), world["zosia"]).data))
    staff_index = staff_copy.read("index.html").decode()
    assert "So proud of you &lt;3" in staff_index and "A comment the teacher hid" not in staff_index
    # Self-contained: no script, no address outside the folder, no link back to the server.
    assert not re.search(r'(?:src|href)="(?:https?:|//|/)', index)
    assert "<link" not in index and "@import" not in index and "url(" not in index


def test_another_school_year_gives_that_years_work_only(world, login_as):
    last_year = end_of_academic_year(YEAR - 1, world["school"].timezone) - timedelta(days=30)
    make_item(world, "This year's rocket")
    make_item(world, "Last year's volcano", photos=2, created_at=last_year)
    parent = login_as(world["people"]["zosia's parent"])
    page = parent.get(f"/portfolio/pupils/{world['zosia'].id}/keepsake").get_data(as_text=True)
    assert f'<option selected value="{YEAR}">' in page and f'value="{YEAR - 1}"' in page
    response = download(parent, world["zosia"], year=YEAR - 1)
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    index = archive.read("index.html").decode()
    assert "volcano" in index and "rocket" not in index
    assert len([n for n in archive.namelist() if n.startswith("photos/")]) == 2
    label = f"{YEAR - 1}-{YEAR % 100:02d}"
    assert f"Zosia-K-{label}-keepsake.zip" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("year", ["1990", "abc", str(YEAR + 1)])
def test_a_year_not_offered_is_refused_next_to_the_field(world, login_as, year):
    response = download(login_as(world["people"]["zosia's parent"]), world["zosia"], year=year)
    assert response.status_code == 422
    assert "Choose one of the school years in the list." in response.get_data(as_text=True)


def test_an_empty_year_still_gives_a_zip_that_says_so(world, login_as):
    response = download(login_as(world["people"]["zosia's parent"]), world["zosia"])
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["index.html"]
    assert "Nothing was added to this story in this school year." in archive.read("index.html").decode()


def test_each_download_is_audited(world, login_as):
    make_item(world, "A rocket", photos=2)
    parent = world["people"]["zosia's parent"]
    assert download(login_as(parent), world["zosia"]).status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export.keepsake"))
    assert entry.actor_user_id == parent.id and entry.target_type == "pupil"
    assert entry.target_id == world["zosia"].id and entry.school_id == world["school"].id
    assert entry.detail["year"] == YEAR and entry.detail["items"] == 1 and entry.detail["photos"] == 2


# who may open the keepsake page and download the zip
ACCESS = [
    ("anonymous", 302),
    ("teacher", 200),
    ("senior leader", 200),
    ("head", 200),
    ("other teacher", 404),
    ("zosia's parent", 200),
    ("maja's parent", 404),
    ("zosia", 404),
    ("maja", 404),
    ("other school's head", 404),
]


@pytest.mark.parametrize("who, status", ACCESS)
def test_who_may_download_the_keepsake(world, client, login_as, who, status):
    make_item(world, "A rocket")
    viewer = client_as(client, login_as, world["people"], who)
    assert outcome(viewer.get(f"/portfolio/pupils/{world['zosia'].id}/keepsake")) == status
    response = download(viewer, world["zosia"])
    assert outcome(response) == status
    assert (response.mimetype == "application/zip") == (status == 200)
    audited = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.keepsake")).all()
    assert len(audited) == (1 if status == 200 else 0)


def test_the_childs_page_links_to_the_keepsake(world, login_as):
    page = login_as(world["people"]["zosia's parent"]).get(f"/family/child/{world['zosia'].id}")
    assert f'href="/portfolio/pupils/{world["zosia"].id}/keepsake"' in page.get_data(as_text=True)
