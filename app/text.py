"""User text on the page: plain text, line breaks kept (by CSS), web addresses made into links.

Nothing a user wrote is ever marked safe as it is: the text is split around addresses, each part
escaped, and only the <a> elements made here are markup.
"""
import re

from markupsafe import Markup, escape

# http(s)://... or www.... up to whitespace; trailing punctuation belongs to the sentence.
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def _split_trailing(url):
    tail = ""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def linkify(text):
    """Escape ``text`` and turn web addresses into links that open with no referrer."""
    if not text:
        return Markup("")
    out = []
    position = 0
    for match in _URL.finditer(text):
        url, tail = _split_trailing(match.group(0))
        if len(url) <= len("www.") or url.lower() in ("http://", "https://"):
            continue
        out.append(escape(text[position:match.start()]))
        href = url if url.lower().startswith("http") else "https://" + url
        out.append(Markup('<a href="{}" rel="noopener noreferrer nofollow ugc">{}</a>').format(href, url))
        out.append(escape(tail))
        position = match.end()
    out.append(escape(text[position:]))
    return Markup("").join(out)
