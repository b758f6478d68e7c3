"""Translation: a reader asks for a text in their language; the reader's "Always translate"
preference; the school's switch and glossary.

POST /translate/<kind>/<id> works for every kind in ``registry.KINDS`` (posts, comments, portfolio
items; messages are added there) and checks through the kind's policy that the reader may see the
object (404 otherwise). With htmx it answers the text's fragment; without JavaScript it remembers
the choice and goes back to the page, which then shows the translation.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...htmx import render, wants_fragment
from ...i18n import LANGUAGE_NAMES
from ...models import GlossaryTerm
from ...policies import get_or_404, rule, same_school, school_manager, signed_in
from ...services import translation
from ..main.routes import safe_next
from . import reading
from .forms import ButtonForm, GlossaryForm, PreferenceForm, SwitchForm
from .registry import KINDS

bp = Blueprint("translate", __name__, url_prefix="/translate")


def _me():
    return current_user._get_current_object()


# ---- a reader asks for a translation -----------------------------------------------------------------

@bp.route("/<kind>/<int:obj_id>", methods=["POST"])
@rule(signed_in)
def text(kind, obj_id):
    spec = KINDS.get(kind)
    if spec is None:
        abort(404)
    obj = get_or_404(spec.model, obj_id, spec.can_view)
    if not ButtonForm().validate_on_submit():
        abort(400)
    school = _me().school
    body = getattr(obj, spec.text) or ""
    source = getattr(obj, spec.language) or school.default_locale
    style = request.form.get("style", "post")
    back = safe_next(request.form.get("next"), "main.home")
    view = reading.TextView(kind, obj_id, translation.normalise_language(source), reading.reader_language(),
                            next=back)
    if view.foreign and school.content_translation_enabled:
        try:
            view.translated = translation.translate(school, body, source, view.target)
        except translation.Unavailable:
            view.failed = view.offer = True
        else:
            reading.remember_shown(kind, obj_id)
    if wants_fragment():
        css_class, truncate = reading.style_of(style)
        return render("translate/_text.html", view=view, text=body, css_class=css_class, truncate=truncate,
                      style=style)
    if view.failed:
        flash(_("Translation unavailable, try later."), "info")
    return redirect(f"{back.split('#')[0]}#{view.anchor}")


# ---- the reader's preference ------------------------------------------------------------------------

@bp.route("/preference", methods=["POST"])
@rule(signed_in)
def preference():
    me = _me()
    if me.is_pupil:
        abort(404)
    form = PreferenceForm()
    if not form.validate_on_submit():
        abort(400)
    translation.set_always_translate(me, form.always_translate.data)
    flash(_("Posts and messages in other languages will be shown translated.") if form.always_translate.data
          else _("Posts and messages in other languages will be shown as written, with a Translate button."),
          "success")
    return redirect(url_for("auth.account") + "#translation")


# ---- the school's switch and glossary ------------------------------------------------------------------

def _school_page(switch=None, glossary_form=None, status=200):
    me = _me()
    school = me.school
    reader = reading.reader_language()
    targets = translation.target_languages(reader)
    form = glossary_form or GlossaryForm()
    names = dict(targets)
    for code in LANGUAGE_NAMES:
        names.setdefault(code, translation.language_name(code, reader))
    form.language.choices = [("", _("Keep it as it is, in every language"))] + sorted(
        names.items(), key=lambda option: option[1].casefold())
    entries = translation.glossary_entries(school.id)
    return render("translate/school.html", status=status, school=school,
                  switch=switch or SwitchForm(data={"enabled": school.content_translation_enabled}),
                  glossary_form=form, entries=entries, targets=targets, names=names,
                  provider=translation.provider_in_use(), button=ButtonForm())


@bp.route("/school", methods=["GET", "POST"])
@rule(school_manager)
def school_settings():
    if request.method == "GET":
        return _school_page()
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    translation.set_content_translation(_me().school, _me(), form.enabled.data)
    flash(_("Hearth translates what people write.") if form.enabled.data else
          _("Translation is off: everyone reads texts as they were written, and nothing is sent to a provider."),
          "success")
    return redirect(url_for(".school_settings"))


@bp.route("/school/glossary", methods=["POST"])
@rule(school_manager)
def glossary_add():
    form = GlossaryForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _school_page(glossary_form=form, status=422)
    try:
        entry = translation.add_glossary_term(_me().school, _me(), form.term.data, form.language.data or "",
                                              form.translation.data)
    except translation.GlossaryError as error:
        getattr(form, error.field or "term").errors = [error.message]
        return _school_page(glossary_form=form, status=422)
    flash(_("“%(term)s” added to the glossary.", term=entry.term), "success")
    return redirect(url_for(".school_settings") + "#glossary")


@bp.route("/school/glossary/<int:term_id>/delete", methods=["POST"])
@rule(school_manager)
def glossary_remove(term_id):
    entry = get_or_404(GlossaryTerm, term_id, same_school)
    if not ButtonForm().validate_on_submit():
        abort(400)
    term = entry.term
    translation.remove_glossary_term(entry, _me())
    flash(_("“%(term)s” removed from the glossary.", term=term), "success")
    return redirect(url_for(".school_settings") + "#glossary")


# ---- for every page -------------------------------------------------------------------------------

bp.before_app_request(reading.read_written_in)
bp.add_app_template_global(reading.preload_translations, "preload_translations")
bp.add_app_template_global(reading.translation_view, "translation_view")
bp.add_app_template_global(reading.style_of, "translation_style")
bp.add_app_template_global(reading.writing_choices, "writing_choices")
bp.add_app_template_global(translation.provider_in_use, "translation_provider")
