"""A family's own data in a real browser: a parent downloads their data and the archive opens
offline, from the unzipped folder, with no server and no network. axe-core on the page and on the
archive's index.html."""
import re
import zipfile

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import (
    PASSWORD,
    make_class,
    make_parent,
    make_photo,
    make_post,
    make_pupil,
    make_school,
    make_teacher,
    set_consent,
)


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K", year_group=4)
        teacher = make_teacher(school, classes=[klass], name="Mrs King")
        zosia = set_consent(make_pupil(klass, name="Zosia K."), "yes")
        photo = make_photo(teacher, tags=[zosia], size=(120, 90), colour=(30, 140, 200))
        make_post(teacher, klass, body="Our trip to the museum", media=[photo])
        parent = make_parent(school, children=[zosia], email="anna@example.org", name="Anna K.")
        return {"zosia": zosia.id, "parent": parent.email, "photo": photo.id}


def test_a_parent_downloads_their_data_and_the_archive_opens_offline(live_server, page, browser, check_axe,
                                                                      tmp_path):
    world = _world(live_server)
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/family/child/{world['zosia']}")
    page.get_by_role("link", name="Download your data").click()
    page.wait_for_url(re.compile(r"/exports/$"))
    expect(page.get_by_role("heading", name="What the download holds")).to_be_visible()
    check_axe(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download everything").click()
    download = info.value
    assert re.fullmatch(r"hearth-Anna-K-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    saved = tmp_path / "download.zip"
    download.save_as(saved)
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(saved) as archive:
        archive.extractall(folder)
    assert (folder / "data.json").is_file() and (folder / f"media/photo-{world['photo']}.webp").is_file()

    # Offline, from the folder: a context of its own (the guarded ones expect the server's host),
    # with every request recorded: none may leave the unzipped folder.
    offline = browser.new_context(offline=True, viewport={"width": 390, "height": 844}, locale="en-GB")
    requests = []
    offline.on("request", lambda request: requests.append(request.url))
    try:
        archive_page = offline.new_page()
        archive_page.goto((folder / "index.html").as_uri())
        expect(archive_page.get_by_role("heading", level=1)).to_have_text("What Broughton Primary holds in Hearth")
        for name in ("Zosia K.", "Your account"):
            expect(archive_page.get_by_role("heading", level=2, name=name)).to_be_visible()
        for name in ("Team points", "Photos on the Class Story", "Messages", "Photo consent", "Sign-ins"):
            expect(archive_page.get_by_role("heading", level=3, name=name)).to_be_visible()
        expect(archive_page.get_by_text("Our trip to the museum")).to_be_visible()
        photo = archive_page.locator(f'img[src="media/photo-{world["photo"]}.webp"]')
        photo.scroll_into_view_if_needed()
        expect(photo).to_be_visible()
        archive_page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
        check_axe(archive_page)
        assert requests and all(url.startswith("file://") for url in requests), requests
    finally:
        offline.close()
