"""The front door's own pages: the web app manifest that lets a parent add Hearth to a phone's
home screen (issue 9, "Installable")."""
import io
import json

from PIL import Image

from tests.factories import make_class, make_parent, make_pupil, make_school


def test_the_manifest_makes_hearth_installable_and_names_the_school(app, client):
    make_school(name="Broughton Primary")
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == "Broughton Primary" and manifest["short_name"] == "Hearth"
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["scope"] == "/"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        # Each icon is served from this site, and is a real PNG of the size the manifest claims.
        assert icon["src"].startswith("/assets/")
        image_response = client.get(icon["src"])
        assert image_response.status_code == 200 and image_response.mimetype == "image/png"
        width, height = Image.open(io.BytesIO(image_response.data)).size
        assert f"{width}x{height}" == icon["sizes"]


def test_the_manifest_follows_the_readers_language_and_direction(app, client):
    make_school(name="Broughton Primary")
    client.set_cookie("hearth_lang", "ar")
    manifest = json.loads(client.get("/manifest.webmanifest").get_data(as_text=True))
    assert manifest["lang"] == "ar" and manifest["dir"] == "rtl"


def test_every_page_links_the_manifest_and_a_home_screen_icon(app, client, login_as):
    school = make_school(name="Broughton Primary")
    parent = make_parent(school, children=[make_pupil(make_class(school, name="3K"))])
    for page in (client.get("/auth/login"), login_as(parent).get("/family/")):
        html = page.get_data(as_text=True)
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html
        assert 'rel="apple-touch-icon"' in html and '<meta name="theme-color"' in html
