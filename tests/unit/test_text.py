"""User text on the page: escaped always, web addresses made into links, nothing else marked up."""
import re

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from app.text import linkify


def test_addresses_become_links_and_trailing_punctuation_stays_text():
    html = str(linkify("See https://example.org/a?b=1&c=2. Or www.bbc.co.uk/bitesize, (https://x.org/y)"))
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer nofollow ugc">' in html
    assert "</a>. Or" in html
    assert '<a href="https://www.bbc.co.uk/bitesize"' in html and "</a>, (" in html
    assert '<a href="https://x.org/y"' in html and "</a>)" in html


def test_markup_in_text_is_escaped_including_inside_an_address():
    html = str(linkify('<script>alert(1)</script> https://e.org/"onmouseover=alert(1)'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="https://e.org/"' in html  # the quote ends the address
    assert "onmouseover=alert(1)" in html and ' onmouseover' not in html.replace('"onmouseover', "")


def test_only_http_addresses_are_links():
    for text in ("javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://example.org", "mailto:a@b.c"):
        assert "<a " not in str(linkify(text))


@given(st.text())
def test_no_markup_but_our_links(text):
    html = str(linkify(text))
    without_links = re.sub(r'<a href="[^"<>]*" rel="noopener noreferrer nofollow ugc">', "", html).replace("</a>", "")
    assert "<" not in without_links and ">" not in without_links
    # Removing our tags gives back exactly the escaped text.
    assert without_links == str(escape(text))
