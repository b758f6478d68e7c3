"""One helper for htmx: the whole page, or only the named block for an htmx request."""
import json

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block


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
