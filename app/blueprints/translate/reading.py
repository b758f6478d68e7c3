"""What a page shows of a text written in another language than the reader's: the logic behind the
``translatable()`` macro (templates/macros/translate.html), and the "Written in" choice of forms.

A page loads the stored translations of all its texts in one query (``preload_translations``,
called by the template with the objects it shows); each text then renders as:
- the original alone, when it is in the reader's language or the school does not translate;
- the translation, labelled, with the original one tap away, when the reader chose "Always
  translate" or asked for this text before (the session remembers, so it works without JavaScript);
- otherwise the original with a Translate button (a real form; htmx swaps the answer in), which
  presses itself on load for readers who chose "Always translate" and whose text is not stored yet.

A GET only reads: translations are asked of the provider, and stored, by the POST.
"""
from dataclasses import dataclass

from flask import g, request, session
from flask_babel import get_locale
from flask_login import current_user

from ...i18n import LANGUAGE_NAMES
from ...services import translation
from ...services.translation import language_name, normalise_language, source_hash
from ...web import current_school
from .registry import KINDS, STYLES

SHOWN = "translated"  # session: "kind:id" of texts this reader asked to read translated, newest last
MAX_SHOWN = 40


@dataclass
class TextView:
    kind: str
    obj_id: int
    source: str
    target: str
    translated: str | None = None  # show this, labelled, with the original one tap away
    offer: bool = False  # show the Translate button
    auto: bool = False  # ... and press it when the page loads
    failed: bool = False  # "Translation unavailable, try later"
    next: str | None = None  # where the button's form returns without JavaScript

    @property
    def anchor(self):
        return f"tr-{self.kind}-{self.obj_id}"

    @property
    def foreign(self):
        return self.source != self.target

    @property
    def source_name(self):
        return language_name(self.source, self.target)


def reader_language():
    """The reader's language: their interface language for this request."""
    return normalise_language(str(get_locale() or "en"))


def _active_school():
    school = current_school()
    if school is None or not school.content_translation_enabled or not current_user.is_authenticated:
        return None
    return school


def _page_store():
    if "hearth_translations" not in g:
        g.hearth_translations = {}
    return g.hearth_translations


def preload_translations(**objects):
    """Load the stored translations of every text these objects show, into the reader's language,
    in one query: ``{% do preload_translations(post=posts, comment=comments) %}``. Objects already
    loaded on this page cost nothing; the query runs whatever the reader's language, so a page
    costs the same for every reader."""
    school = _active_school()
    if school is None:
        return ""
    store = _page_store()
    wanted = {}
    for kind, items in objects.items():
        spec = KINDS[kind]
        for obj in items or ():
            key = (kind, obj.id)
            text = getattr(obj, spec.text) or ""
            if key in store:
                continue
            if not text.strip():
                store[key] = None
                continue
            digest = source_hash(getattr(obj, spec.language) or school.default_locale, text)
            wanted.setdefault(digest, []).append(key)
    if wanted:
        found = translation.cached_translations(school.id, reader_language(), wanted)
        for digest, keys in wanted.items():
            for key in keys:
                store[key] = found.get(digest)
    return ""


def shown_translated(kind, obj_id):
    return f"{kind}:{obj_id}" in session.get(SHOWN, ())


def remember_shown(kind, obj_id):
    """The reader asked for this text translated: show it so on their next pages too."""
    key = f"{kind}:{obj_id}"
    shown = [k for k in session.get(SHOWN, []) if k != key]
    session[SHOWN] = (shown + [key])[-MAX_SHOWN:]


def translation_view(kind, obj_id, text, source_lang, cached=False, next_url=None):
    """How to show one text to the current reader (``cached``: its stored translation, None when
    there is none, False to look it up among those the page preloaded)."""
    school = current_school()
    default = school.default_locale if school is not None else "en"
    view = TextView(kind, obj_id, normalise_language(source_lang or default), reader_language(), next=next_url)
    if not text or not text.strip() or not view.foreign or _active_school() is None:
        return view
    if cached is False:
        store = _page_store()
        if (kind, obj_id) not in store:  # a text the page did not preload: one query for it alone
            digest = source_hash(view.source, text)
            store[(kind, obj_id)] = translation.cached_translations(school.id, view.target, [digest]).get(digest)
        cached = store[(kind, obj_id)]
    always = bool(getattr(current_user, "always_translate", False))
    if cached:
        if always or shown_translated(kind, obj_id):
            view.translated = cached
        else:
            view.offer = True
        return view
    if translation.can_translate_into(view.target):
        view.offer = True
        view.auto = always and not translation.paused()
    return view


def style_of(name):
    return STYLES.get(name) or STYLES["post"]


# ---- the writer's language -------------------------------------------------------------------------

@dataclass
class WritingChoices:
    options: list  # (code, name in the writer's language), by name
    current: str
    current_name: str


def writing_codes():
    """The languages a writer may say a text is in: Hearth's interface languages and every language
    the provider translates from."""
    return set(LANGUAGE_NAMES) | set(translation.languages() or {})


def writing_choices(current=None):
    """The "Written in" choice of a form, or None when the school does not translate."""
    if _active_school() is None:
        return None
    reader = reader_language()
    options = sorted(((code, language_name(code, reader)) for code in writing_codes()),
                     key=lambda option: option[1].casefold())
    chosen = g.get("written_in") or normalise_language(current) or reader
    return WritingChoices(options, chosen, language_name(chosen, reader))


def read_written_in():
    """Before a form is handled: the writer's "Written in" choice, when it is one we offered, for
    the services to record with the text (services.translation.writing_language)."""
    if request.method != "POST" or request.mimetype not in ("application/x-www-form-urlencoded",
                                                            "multipart/form-data"):
        return
    value = normalise_language(request.form.get("written_in"))
    if value and value in writing_codes():
        g.written_in = value
