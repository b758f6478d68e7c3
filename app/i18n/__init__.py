"""Interface languages: which one a reader gets, and the list the picker offers."""
from flask import current_app, g, has_request_context, request
from flask_login import current_user

# Each language in its own name and script. Only languages with a shipped catalog are offered.
LANGUAGE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "bn": "বাংলা",
    "es": "Español",
    "gu": "ગુજરાતી",
    "lt": "Lietuvių",
    "pa": "ਪੰਜਾਬੀ",
    "pl": "Polski",
    "pt": "Português",
    "ro": "Română",
    "so": "Soomaali",
    "uk": "Українська",
    "ur": "اردو",
}
RTL_LANGUAGES = {"ar", "ur", "fa", "he", "ps"}
LANGUAGE_COOKIE = "hearth_lang"


def available_languages():
    """Codes of the languages whose catalog ships with Hearth (English always)."""
    cached = current_app.extensions.get("hearth_languages")
    if cached is None:
        import os
        folder = os.path.join(current_app.root_path, "i18n")
        found = {"en"}
        for code in LANGUAGE_NAMES:
            if os.path.exists(os.path.join(folder, code, "LC_MESSAGES", "messages.mo")):
                found.add(code)
        cached = sorted(found, key=lambda c: (c != "en", LANGUAGE_NAMES[c]))
        current_app.extensions["hearth_languages"] = cached
    return cached


def select_locale():
    """The user's saved preference, then the cookie, then the school's default, then the browser.

    English is formatted the British way (dates like 31 August 2027): Hearth is for UK schools."""
    code = _select_language()
    return "en_GB" if code == "en" else code


def _select_language():
    if not has_request_context():
        return "en"
    languages = available_languages()
    # A page for one known reader who is not signed in (an unsubscribe link from their email).
    reader = getattr(g, "reader_locale", None)
    if reader in languages:
        return reader
    user = current_user if current_user else None
    if user is not None and user.is_authenticated and getattr(user, "locale", None) in languages:
        return user.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return cookie
    school = getattr(g, "school", None)
    if school is not None and school.default_locale in languages and school.default_locale != "en":
        return school.default_locale
    return request.accept_languages.best_match(languages) or "en"


def select_timezone():
    school = getattr(g, "school", None)
    return school.timezone if school is not None else current_app.config["BABEL_DEFAULT_TIMEZONE"]


def text_direction(locale_code):
    return "rtl" if str(locale_code).split("_")[0] in RTL_LANGUAGES else "ltr"
