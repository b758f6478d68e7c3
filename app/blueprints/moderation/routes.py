"""Language the school does not allow: the word lists per language, and comments and messages held for review (issue 8).

/moderation/held: a reviewer's queue (staff; each sees what they may review: their classes'
comments, messages from families and pupils to them, and everything for senior leaders) with
Release and Reject. /moderation/words: the lists, edited by the head, the school's managers and
senior leaders. With htmx a decision answers only the row; without, it redirects back.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...htmx import render, wants_fragment
from ...i18n import LANGUAGE_NAMES
from ...models import Comment, Message
from ...policies import can_manage_school, get_or_404, rule, staff
from ...services import moderation
from ...services.moderation import WordListError
from .forms import DecisionForm, WordListForm

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

KINDS = {"comment": Comment, "message": Message}


def word_list_manager(account):
    """The head, staff who run the school, and senior leaders."""
    return bool(account.is_authenticated and account.is_staff and account.is_active
                and (account.is_senior or can_manage_school(account)))


def _me():
    return current_user._get_current_object()


# ---- held for review ------------------------------------------------------------------------------

@bp.route("/held")
@rule(staff)
def held():
    me = _me()
    return render("moderation/held.html", entries=moderation.held_queue(me), form=DecisionForm())


@bp.route("/held/<kind>/<int:obj_id>", methods=["POST"])
@rule(staff)
def decide(kind, obj_id):
    model = KINDS.get(kind)
    if model is None:
        abort(404)
    obj = get_or_404(model, obj_id, moderation.can_review)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    decided = moderation.decide(_me(), obj, form.decision.data)
    if not decided:
        message = _("Another teacher has decided about this already.")
    elif form.decision.data == moderation.RELEASED:
        message = _("Shared: everyone who could see it before now sees it, at the time it was written.")
    else:
        message = _("Not shared: only the writer sees it, marked as not shared.")
    if wants_fragment():
        return render("moderation/_decided.html", message=message, trigger="heldChanged")
    flash(message, "success" if decided else "error")
    return redirect(url_for(".held"))


# ---- the word lists --------------------------------------------------------------------------------

@bp.route("/words")
@rule(word_list_manager)
def words():
    me = _me()
    lists = moderation.word_lists(me.school_id)
    default = moderation.uses_default(me.school_id)
    rows = [(code, LANGUAGE_NAMES[code], len(lists[code])) for code in LANGUAGE_NAMES]
    return render("moderation/words.html", rows=rows, default=default)


@bp.route("/words/<language>", methods=["GET", "POST"])
@rule(word_list_manager)
def edit_words(language):
    if language not in LANGUAGE_NAMES:
        abort(404)
    me = _me()
    form = WordListForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            saved = moderation.save_word_list(me.school, language, form.words.data or "", me)
        except WordListError as error:
            form.words.errors = [error.message]
        else:
            flash(ngettext("The list for %(language)s is saved: %(num)d word or phrase.",
                           "The list for %(language)s is saved: %(num)d words or phrases.", len(saved),
                           language=LANGUAGE_NAMES[language]), "success")
            return redirect(url_for(".words"))
        return render("moderation/edit_words.html", status=422, form=form, language=language,
                      language_name=LANGUAGE_NAMES[language], default=False)
    default = language == moderation.DEFAULT_LANGUAGE and moderation.uses_default(me.school_id)
    form.words.data = "\n".join(moderation.word_lists(me.school_id)[language])
    return render("moderation/edit_words.html", form=form, language=language,
                  language_name=LANGUAGE_NAMES[language], default=default)
