"""A parent's pages: their own children only (SECURITY.md 12)."""
import pytest

from tests.factories import make_class, make_head, make_parent, make_pupil, make_school, make_teacher


def _world():
    school = make_school()
    klass = make_class(school, name="3K")
    child = make_pupil(klass, name="Zosia K.")
    teacher = make_teacher(school, classes=[klass])
    other_school = make_school()
    other_child = make_pupil(make_class(other_school))
    return {
        "child": child,
        "own parent": make_parent(school, children=[child]),
        "another parent": make_parent(school, children=[make_pupil(klass)]),
        "teacher of class": teacher,
        "head": make_head(school),
        "the pupil": child,
        "parent in another school": make_parent(other_school, children=[other_child]),
        "anonymous": None,
    }


# who -> status for GET /family/child/<id> of "child"
CHILD_PAGE = {
    "own parent": 200,
    "another parent": 404,
    "teacher of class": 404,   # staff see pupils on class pages, not the family's page
    "head": 404,
    "the pupil": 404,
    "parent in another school": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("who,status", CHILD_PAGE.items())
def test_child_page_access(app, login_as, who, status):
    world = _world()
    account = world[who]
    client = login_as(account) if account is not None else app.test_client()
    r = client.get(f"/family/child/{world['child'].id}")
    assert r.status_code == status
    if status == 200:
        assert "Zosia K." in r.text
    else:
        assert "Zosia K." not in r.text


def test_made_up_child_id_is_404(app, login_as):
    world = _world()
    assert login_as(world["own parent"]).get("/family/child/999999").status_code == 404


def test_parent_home_shows_only_their_children(app, login_as):
    world = _world()
    r = login_as(world["another parent"]).get("/family/")
    assert r.status_code == 200 and "Zosia K." not in r.text


def test_parent_must_acknowledge_before_anything_else(app, login_as):
    school = make_school()
    parent = make_parent(school, children=[make_pupil(make_class(school))], acknowledged=False)
    client = login_as(parent)
    r = client.get("/family/")
    assert r.status_code == 302 and "/consent/acknowledge" in r.headers["Location"]
    r = client.post("/consent/acknowledge", data={})
    assert r.status_code == 200 and "tick the box" in r.text
    r = client.post("/consent/acknowledge?next=/family/", data={"agree": "yes"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/family/")
    assert client.get("/family/").status_code == 200


def test_a_new_notice_version_asks_again(app, login_as):
    from app.services.consent import publish_new_version
    school = make_school()
    parent = make_parent(school)
    client = login_as(parent)
    assert client.get("/family/").status_code == 200
    publish_new_version(school, "privacy", "Privacy notice v2", "We changed something.")
    r = client.get("/family/")
    assert r.status_code == 302 and "/consent/acknowledge" in r.headers["Location"]
    page = client.get("/consent/acknowledge")
    assert "Version 2" in page.text and "We changed something." in page.text


def test_names_are_escaped(app, login_as):
    school = make_school()
    child = make_pupil(make_class(school), name='<img src=x onerror=alert(1)>')
    r = login_as(make_parent(school, children=[child])).get("/family/")
    assert "<img src=x" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text


def test_parent_can_print_their_childs_home_sign_in_sheet(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    page = client.get(f"/family/child/{world['child'].id}")
    assert f"/classroom/sheets/pupil/{world['child'].id}" in page.text
    sheet = client.get(f"/classroom/sheets/pupil/{world['child'].id}")
    assert sheet.status_code == 200 and "Zosia K." in sheet.text
    assert login_as(world["another parent"]).get(f"/classroom/sheets/pupil/{world['child'].id}").status_code == 404
