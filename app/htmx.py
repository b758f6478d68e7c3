"""Helpers for htmx: the whole page or only the named block; an empty answer for a poll."""
import json

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block
from werkzeug.datastructures import Headers


def wants_fragment():
    """An htmx request that is not a boosted navigation and not a history restore."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template, block=None, status=200, trigger=None, reswap=None, **context):
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    if trigger:
        response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
    if reswap:
        # Set by hand: htmx-flask 0.1.0's list of swap values is broken for two of them.
        response.headers["HX-Reswap"] = reswap
    return response


class NothingNew(Response):
    """204 for a poll that found no change, as small as HTTP allows.

    The security headers describe a document (CSP, framing, sniffing) and mean nothing on an empty
    answer, and the session cookie is not sent again: a page left open then costs no cookie per
    poll, and a poll does not keep the session alive as if the parent were active. The app's
    after-request hooks still run; what they add is dropped here, when the response is sent."""
    KEEP = frozenset({"cache-control"})

    def __init__(self):
        super().__init__(status=204)

    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        return Headers([(name, value) for name, value in headers.items() if name.lower() in self.KEEP])
