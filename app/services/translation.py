"""Translating what people write: posts, comments, portfolio items (and messages).

A reader asks for a text in their language. The answer comes from the school's cache when anyone
asked before; otherwise the text goes to the configured provider (through deep-translator), with
every name of the school's people and every glossary term replaced by a neutral placeholder, under
a hard deadline; the placeholders are put back, the result checked, stored and reused for every
later reader. Whatever goes wrong (slow, down, 429, garbage, a lost placeholder) the caller gets
``Unavailable`` and shows the original text; after repeated failures a circuit breaker pauses calls.

Nothing here reads the request: readers' and writers' languages are passed in (or, for a writer,
taken from Flask-Babel's choice for the request, see ``writing_language``).
"""
import hashlib
import logging
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from babel import Locale, UnknownLocaleError
from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import GlossaryTerm, ParentLink, Pupil, User
from ..models.translation import Translation
from .audit import audit

log = logging.getLogger(__name__)

PROVIDERS = {
    "google": "Google Translate",
    "microsoft": "Microsoft Translator",
    "deepl": "DeepL",
    "libre": "LibreTranslate",
}
STORED = "demo"  # the provider name of translations written by people (the demo school's)
# deep-translator sends the text in the address for Google, LibreTranslate and DeepL (GET, or POST
# with the text as a parameter): long texts go in pieces that keep the address short enough.
MAX_CHUNK = {"microsoft": 4500}
MAX_CHUNK_IN_ADDRESS = 1500
MAX_GLOSSARY_TERMS = 300
LANGUAGES_TTL = 6 * 3600  # how long a provider's list of languages is trusted
LANGUAGES_RETRY = 60  # after failing to fetch it


class Unavailable(Exception):
    """No translation now: the reader keeps the original text and may try again later."""


class GlossaryError(ValueError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class _Garbage(Exception):
    """The provider answered, but not with a translation of our text."""


class _Busy(Exception):
    """Every call slot of this process is taken (by calls that may be hanging)."""


# ---- languages ----------------------------------------------------------------------------------
# Hearth speaks of languages by BCP 47 tags as Babel reads them ("pa" is Panjabi in Gurmukhi, as
# Google and Microsoft mean it). Providers spell a few differently; the first spelling a provider
# offers is the one used.
_SPELLINGS = {
    "zh": ("zh-CN", "zh-Hans", "zh"),
    "zh-Hant": ("zh-TW", "zh-Hant", "zt"),
    "he": ("iw", "he"),
    "jv": ("jw", "jv"),
    "fil": ("tl", "fil"),
    "nb": ("no", "nb"),
    "pt": ("pt-PT", "pt", "pb", "pt-BR"),
    "pa": ("pa", "pa-Guru"),
    "mni": ("mni-Mtei", "mni"),
    "sr": ("sr-Cyrl", "sr"),
}
_CANONICAL = {spelling.lower(): code for code, spellings in _SPELLINGS.items() for spelling in spellings}
_TRADITIONAL = {"hant", "tw", "hk", "mo"}


def normalise_language(code):
    """Hearth's code for a language tag: "en_GB" -> "en", "zh-TW" -> "zh-Hant", "iw" -> "he"."""
    if not code:
        return None
    tag = str(code).strip().replace("_", "-")
    if tag.lower() in _CANONICAL:
        return _CANONICAL[tag.lower()]
    parts = tag.split("-")
    primary = parts[0].lower()
    if primary == "zh" and any(p.lower() in _TRADITIONAL for p in parts[1:]):
        return "zh-Hant"
    return _CANONICAL.get(primary, primary)


def _rank(ours, spelling):
    preferred = [s.lower() for s in _SPELLINGS.get(ours, ())]
    return preferred.index(spelling.lower()) if spelling.lower() in preferred else len(preferred)


def _language_table(codes):
    """Our code -> the provider's spelling, for every code the provider lists."""
    table = {}
    for code in codes:
        ours = normalise_language(code)
        if ours not in table or _rank(ours, code) < _rank(ours, table[ours]):
            table[ours] = code
    return table


def language_name(code, locale="en"):
    """A language's name in the reader's language ("Polish", "پولش"), from Babel's CLDR data."""
    reader = normalise_language(locale) or "en"
    try:
        names = Locale.parse(reader.replace("-", "_")).languages
    except (ValueError, TypeError, UnknownLocaleError):
        names = Locale("en").languages
    key = (code or "").replace("-", "_")
    name = names.get(key) or names.get(key.split("_")[0])
    if not name:
        try:
            name = Locale.parse(key).get_display_name(reader.replace("-", "_"))
        except (ValueError, TypeError, UnknownLocaleError):
            name = None
    return name or code


def source_hash(language, text):
    """What identifies a source text in the cache: its language and its exact words."""
    return hashlib.sha256(f"{normalise_language(language)}\n{text}".encode()).hexdigest()


# ---- the provider: settings, clients, deadlines ----------------------------------------------------

@dataclass(frozen=True)
class Settings:
    provider: str
    key: str | None
    url: str | None
    region: str | None
    timeout: float

    @property
    def enabled(self):
        if self.provider in ("microsoft", "deepl"):
            return bool(self.key)
        if self.provider == "libre":
            return bool(self.url)
        return self.provider == "google"

    @property
    def name(self):
        return PROVIDERS.get(self.provider, "")

    @property
    def breaker_key(self):
        return f"{self.provider}|{self.url or ''}"


def settings(app=None):
    cfg = (app or current_app).config
    provider = (cfg.get("TRANSLATION_PROVIDER") or "").strip().lower()
    return Settings(provider=provider if provider in PROVIDERS else "", key=cfg.get("TRANSLATION_API_KEY") or None,
                    url=(cfg.get("TRANSLATION_URL") or "").strip() or None,
                    region=cfg.get("TRANSLATION_REGION") or None,
                    timeout=float(cfg.get("TRANSLATION_TIMEOUT") or 3))


def provider_in_use(app=None):
    """The provider's name when the school's words may go to one (for the privacy notice), else None."""
    current = settings(app)
    return current.name if current.enabled else None


_call = threading.local()


class _DeadlineRequests:
    """Stands in for ``requests`` inside deep-translator's provider modules, which call
    ``requests.get`` and ``requests.post`` with no timeout: each call gets the deadline of the
    translation it serves, so a hung provider frees its thread within that time."""

    def __getattr__(self, name):
        import requests
        return getattr(requests, name)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def request(self, method, url, **kwargs):
        import requests
        kwargs["timeout"] = getattr(_call, "timeout", 3.0)
        return requests.request(method, url, **kwargs)


_DEADLINES = _DeadlineRequests()


def _install_deadlines():
    from deep_translator import deepl, google, libre, microsoft
    for module in (google, libre, microsoft, deepl):
        if module.requests is not _DEADLINES:
            module.requests = _DEADLINES


def load_provider_client(app):
    """At start-up, when a provider is configured: import deep-translator now (about a second on a
    busy server), so that a reader's first translation in this process waits only its deadline."""
    if settings(app).enabled:
        _install_deadlines()


def _slash(url):
    return url if url.endswith("/") else url + "/"


def _client(current, source, target, table):
    """A deep-translator client for one source and target (provider spellings)."""
    if current.provider == "google":
        from deep_translator import GoogleTranslator
        client = GoogleTranslator(source=source, target=target)
        if current.url:
            client._base_url = current.url
        return client
    if current.provider == "libre":
        from deep_translator import LibreTranslator

        class SchoolLibreTranslator(LibreTranslator):
            """deep-translator 1.11.4 checks codes against a fixed list of 17 languages; the school's
            server says which it has (GET /languages), so the codes are set after construction."""

            def __init__(self, source, target, **kwargs):
                super().__init__(source="en", target="es", **kwargs)
                self.source, self.target = source, target
        # LibreTranslate asks for a key only when its admin turned keys on; deep-translator always wants one.
        return SchoolLibreTranslator(source, target, api_key=current.key or "-", custom_url=_slash(current.url))
    if current.provider == "deepl":
        from deep_translator import DeeplTranslator
        client = DeeplTranslator(source=source, target=target, api_key=current.key,
                                 use_free_api=current.key.endswith(":fx"))
        if current.url:
            client._base_url = _slash(current.url)
        return client
    from deep_translator import MicrosoftTranslator

    class KnownLanguagesMicrosoftTranslator(MicrosoftTranslator):
        """deep-translator fetches Microsoft's language list on every construction; we keep ours."""

        def _get_supported_languages(self):
            return {code: code for code in table.values()}
    client = KnownLanguagesMicrosoftTranslator(source=source, target=target, api_key=current.key,
                                               region=current.region)
    if current.url:
        client._base_url = current.url.rstrip("/") + "/translate?api-version=3.0"
    return client


def _chunks(text, limit):
    """The text in pieces of at most ``limit`` characters, cut at line ends (or spaces)."""
    if len(text) <= limit:
        return [text]
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


def _ask_provider(current, source, target, text, table):
    client = _client(current, source, target, table)
    answers = []
    for piece in _chunks(text, MAX_CHUNK.get(current.provider, MAX_CHUNK_IN_ADDRESS)):
        answer = client.translate(piece)
        if not isinstance(answer, str):
            raise _Garbage("not text")
        answers.append(answer)
    return "\n".join(answers)


class _State:
    """What one process keeps for one app: the breaker, the call slots, the language lists."""

    def __init__(self, max_calls):
        self.breaker = CircuitBreaker(MemoryBreakerStore())
        self.slots = threading.BoundedSemaphore(max(1, max_calls))
        self.lock = threading.Lock()
        self.languages = {}  # settings -> (expires, table or None)
        self.fetching = set()
        self.prefetcher = Prefetcher()


def _state(app=None):
    app = app or current_app._get_current_object()
    state = app.extensions.get("hearth_translation")
    if state is None:
        state = app.extensions.setdefault("hearth_translation",
                                          _State(int(app.config.get("TRANSLATION_MAX_CALLS") or 4)))
    return state


def _with_deadline(state, timeout, work):
    """Run ``work`` on a thread of its own and wait for it at most ``timeout`` seconds.

    At most TRANSLATION_MAX_CALLS calls run at once in a process: a call that would be one more is
    refused at once (``_Busy``), so calls to a hanging provider cannot pile up; each frees its slot
    when it really ends, which the socket timeout bounds."""
    if not state.slots.acquire(blocking=False):
        raise _Busy()
    outcome = {}
    finished = threading.Event()

    def run():
        _call.timeout = timeout
        try:
            outcome["value"] = work()
        except BaseException as error:  # reported to the waiting caller below
            outcome["error"] = error
        finally:
            state.slots.release()
            finished.set()

    threading.Thread(target=run, name="translation-call", daemon=True).start()
    if not finished.wait(timeout):
        raise TimeoutError(f"no answer within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _rate_limited(error):
    from deep_translator.exceptions import ServerException, TooManyRequests
    return isinstance(error, TooManyRequests) or (
        isinstance(error, ServerException) and "TOO_MANY_REQUESTS" in str(error))


# ---- which languages the provider has ------------------------------------------------------------

def _fetch_languages(current):
    """The provider's own list, asked over HTTP (LibreTranslate, Microsoft), as a table."""
    import requests
    if current.provider == "libre":
        answer = requests.get(_slash(current.url) + "languages", timeout=current.timeout)
        answer.raise_for_status()
        return _language_table(entry["code"] for entry in answer.json())
    root = (current.url or "https://api.cognitive.microsofttranslator.com").rstrip("/")
    answer = requests.get(root + "/languages", params={"api-version": "3.0", "scope": "translation"},
                          timeout=current.timeout)
    answer.raise_for_status()
    return _language_table(answer.json()["translation"])


def languages(current=None, wait=False):
    """Our code -> the provider's spelling, for every language the provider translates.

    Google's and DeepL's lists ship with deep-translator. LibreTranslate's and Microsoft's are asked
    of the provider and kept for hours; until they are known this returns None ("probably"), and a
    page never waits for them: the list is fetched on a thread of its own unless ``wait``."""
    current = current or settings()
    if not current.enabled:
        return {}
    if current.provider == "google":
        from deep_translator.constants import GOOGLE_LANGUAGES_TO_CODES
        return _language_table(GOOGLE_LANGUAGES_TO_CODES.values())
    if current.provider == "deepl":
        from deep_translator.constants import DEEPL_LANGUAGE_TO_CODE
        return _language_table(DEEPL_LANGUAGE_TO_CODE.values())
    state = _state()
    expires, table = state.languages.get(current, (0, None))
    if expires > time.time():
        return table
    if wait:
        return _refresh_languages(state, current)
    with state.lock:
        if current in state.fetching:
            return table
        state.fetching.add(current)
    threading.Thread(target=_refresh_languages, args=(state, current), name="translation-languages",
                     daemon=True).start()
    return table


def _refresh_languages(state, current):
    _install_deadlines()
    try:
        table = _with_deadline(state, current.timeout, lambda: _fetch_languages(current))
        state.languages[current] = (time.time() + LANGUAGES_TTL, table)
    except _Busy:
        table = state.languages.get(current, (0, None))[1]
    except Exception as error:  # noqa: BLE001  (any failure: try again in a minute)
        log.warning("translation: could not fetch %s's languages: %s", current.provider, error)
        table = state.languages.get(current, (0, None))[1]
        state.languages[current] = (time.time() + LANGUAGES_RETRY, table)
    finally:
        with state.lock:
            state.fetching.discard(current)
    return table


def can_translate_into(target):
    """Whether asking for a translation into ``target`` could work now (for showing the control)."""
    current = settings()
    if not current.enabled:
        return False
    table = languages(current)
    return table is None or normalise_language(target) in table


def paused():
    """Whether the circuit breaker holds calls back now (after repeated failures)."""
    current = settings()
    return current.enabled and not _state().breaker.allows(current.breaker_key)


def target_languages(locale="en"):
    """(code, name) of every language the configured provider translates into, by name."""
    table = languages(wait=True) or {}
    return sorted(((code, language_name(code, locale)) for code in table), key=lambda p: p[1].casefold())


# ---- the circuit breaker ---------------------------------------------------------------------------

class MemoryBreakerStore:
    """The breaker's state, in this process. A shared store (Redis) can stand in for it: it needs
    these four methods, keyed by provider."""

    def __init__(self):
        self._lock = threading.Lock()
        self._failures = Counter()
        self._open_until = {}

    def add_failure(self, key):
        with self._lock:
            self._failures[key] += 1
            return self._failures[key]

    def reset(self, key):
        with self._lock:
            self._failures.pop(key, None)
            self._open_until.pop(key, None)

    def open_until(self, key):
        with self._lock:
            return self._open_until.get(key, 0.0)

    def set_open_until(self, key, when):
        with self._lock:
            self._open_until[key] = when


class CircuitBreaker:
    """After ``threshold`` failures in a row (or one 429), no call for ``pause`` seconds. Then
    calls are tried again: one success closes the breaker, one more failure opens it again."""

    def __init__(self, store, clock=time.time):
        self.store = store
        self.clock = clock

    def allows(self, key):
        return self.store.open_until(key) <= self.clock()

    def succeeded(self, key):
        self.store.reset(key)

    def failed(self, key, threshold, pause, at_once=False):
        if self.store.add_failure(key) >= threshold or at_once:
            self.store.set_open_until(key, self.clock() + pause)


def _breaker_config():
    cfg = current_app.config
    return int(cfg.get("TRANSLATION_BREAKER_FAILURES") or 5), float(cfg.get("TRANSLATION_BREAKER_SECONDS") or 120)


# ---- masking names and glossary terms ------------------------------------------------------------
# A placeholder is "[#n]": providers keep brackets, the hash and digits (some write the digits in
# their own script, or add spaces: both are read back). A placeholder that comes back missing,
# twice or mangled makes the translation garbage: the reader gets the original text.
PLACEHOLDER = "[#{}]"
_PLACEHOLDER = re.compile(r"[\[［【]\s*[#＃]\s*(\d+)\s*[\]］】]")
_REMNANT = re.compile(r"[#＃]\s*\d")
_WORD = re.compile(r"\w[\w'’-]*")
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "prof", "madam", "master"}
_MARKUP = re.compile(r"<\s*/?\s*(?:html|head|body|div|span|script|!doctype)\b", re.IGNORECASE)


def name_phrases(full_names):
    """Every way a person may be named in a text: the full name, and each part of it that is a
    name (not a title or a particle such as "de"): "Mrs Katarzyna King" gives "Katarzyna" and
    "King" as well, so "Mrs King" is masked too."""
    phrases = set()
    for full in full_names:
        full = " ".join((full or "").split())
        if not full:
            continue
        phrases.add(full)
        for token in full.split(" "):
            token = token.strip(".,;:()")
            parts = [token] + (token.split("-") if "-" in token else [])
            for part in parts:
                if len(part) >= 2 and part.lower() not in _TITLES and not part.islower():
                    phrases.add(part)
    return phrases


@dataclass
class Masked:
    text: str
    originals: list = field(default_factory=list)  # what placeholder n (1-based) stands for


class Masker:
    """Finds names (exact case) and glossary terms (any case) at word starts, longest first."""

    def __init__(self, names=(), glossary=None):
        self._entries = {}
        for phrase in names:
            self._add(phrase, exact=True, fixed=None)
        for term, fixed in (glossary or {}).items():
            self._add(term, exact=False, fixed=fixed)
        for entries in self._entries.values():
            entries.sort(key=lambda e: -len(e[0]))

    def _add(self, phrase, exact, fixed):
        first = _WORD.search(phrase)
        if first is None or first.start() != 0:
            return
        self._entries.setdefault(first.group(0).casefold(), []).append((phrase, exact, fixed))

    def _match(self, text, start, word):
        for phrase, exact, fixed in self._entries.get(word.casefold(), ()):
            end = start + len(phrase)
            found = text[start:end]
            if (found == phrase if exact else found.casefold() == phrase.casefold()) and \
                    (end == len(text) or not (text[end].isalnum() or text[end] == "_")):
                return end, found, fixed
        return None

    def mask(self, text, target):
        originals, out, position = [], [], 0

        def hold(original):
            originals.append(original)
            return PLACEHOLDER.format(len(originals))

        spans = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]  # already there: kept as is
        for start, end in spans:
            out.append(self._mask_words(text[position:start], target, hold))
            out.append(hold(text[start:end]))
            position = end
        out.append(self._mask_words(text[position:], target, hold))
        return Masked("".join(out), originals)

    def _mask_words(self, text, target, hold):
        out, position = [], 0
        for word in _WORD.finditer(text):
            if word.start() < position:
                continue
            found = self._match(text, word.start(), word.group(0))
            if found is None:
                continue
            end, original, fixed = found
            out.append(text[position:word.start()])
            out.append(hold((fixed or {}).get(target) or original))
            position = end
        out.append(text[position:])
        return "".join(out)


def unmask(translated, masked):
    """Put back what each placeholder stands for; raise _Garbage if any came back lost, doubled
    or mangled, or if the answer does not look like a translation of the text at all."""
    if not isinstance(translated, str) or not translated.strip():
        raise _Garbage("empty")
    if _MARKUP.search(translated) and not _MARKUP.search(masked.text):
        raise _Garbage("markup")
    if len(translated) > 5 * len(masked.text) + 200:
        raise _Garbage("too long")
    seen = Counter()

    def put_back(match):
        number = int(match.group(1))  # int() reads digits of any script
        if not 1 <= number <= len(masked.originals):
            raise _Garbage("unknown placeholder")
        seen[number] += 1
        return masked.originals[number - 1]

    restored = _PLACEHOLDER.sub(put_back, translated)
    if any(seen[n] != 1 for n in range(1, len(masked.originals) + 1)):
        raise _Garbage("placeholder lost or repeated")
    remnants = len(_REMNANT.findall(_PLACEHOLDER.sub("", translated)))
    if remnants > len(_REMNANT.findall(_PLACEHOLDER.sub("", masked.text))):
        raise _Garbage("placeholder mangled")
    return restored


def school_names(school_id):
    """Every pupil's, parent's and staff member's name at the school (left and suspended included)."""
    pupils = db.session.scalars(select(Pupil.display_name).where(Pupil.school_id == school_id))
    people = db.session.scalars(select(User.name).where(User.school_id == school_id))
    return name_phrases(list(pupils) + list(people))


def glossary_for(school_id):
    """term -> {language: fixed translation}; a term with no fixed translation maps to {}."""
    terms = {}
    for row in db.session.scalars(select(GlossaryTerm).where(GlossaryTerm.school_id == school_id)):
        fixed = terms.setdefault(row.term, {})
        if row.language:
            fixed[row.language] = row.translation
    return terms


def masker_for(school_id):
    return Masker(school_names(school_id), glossary_for(school_id))


# ---- the cache and translating -----------------------------------------------------------------------

def cached_translations(school_id, target, hashes):
    """source hash -> translated text, for every hash already translated into ``target`` (one query)."""
    hashes = sorted(set(hashes))
    if not hashes:
        return {}
    rows = db.session.execute(select(Translation.source_hash, Translation.text).where(
        Translation.school_id == school_id, Translation.target_language == normalise_language(target),
        Translation.source_hash.in_(hashes)))
    return dict(rows.all())


def _store(school_id, digest, target, text, provider):
    try:
        with db.session.begin_nested():
            db.session.add(Translation(school_id=school_id, source_hash=digest, target_language=target,
                                       text=text, provider=provider))
    except IntegrityError:  # another reader asked for it at the same moment: keep theirs
        text = db.session.scalar(select(Translation.text).where(
            Translation.school_id == school_id, Translation.source_hash == digest,
            Translation.target_language == target))
    db.session.commit()
    return text


def translate(school, text, source, target):
    """``text`` (written in ``source``) in the ``target`` language.

    From the cache when anyone asked before; otherwise from the provider, once, under a hard
    deadline, with names and glossary terms masked, and stored for every later reader. Raises
    Unavailable when there is none to give now. It commits the session before waiting for the
    provider (so no lock is held meanwhile): call it outside another write."""
    source = normalise_language(source or school.default_locale)
    target = normalise_language(target)
    if not text or not text.strip() or source == target:
        return text
    if not school.content_translation_enabled:
        raise Unavailable("switched off by the school")
    digest = source_hash(source, text)
    found = cached_translations(school.id, target, [digest]).get(digest)
    if found is not None:
        return found
    current = settings()
    if not current.enabled:
        raise Unavailable("no provider configured")
    _install_deadlines()  # imports deep-translator (once per process) before any clock starts
    # One deadline for the reader: asking a provider for its languages first (LibreTranslate,
    # Microsoft, once in a while) takes from it, so a hung provider costs one wait, not two.
    deadline = time.monotonic() + current.timeout
    table = languages(current, wait=True)
    if table is None:  # the provider's list could not be had: our codes as they are
        source_code, target_code = source, target
    else:
        target_code = table.get(target)
        # A source the provider does not list: let it recognise the language (DeepL cannot).
        source_code = table.get(source) or ("auto" if current.provider != "deepl" else None)
        if target_code is None or source_code is None:
            raise Unavailable(f"{current.provider} does not translate {source} into {target}")
    state = _state()
    if not state.breaker.allows(current.breaker_key):
        raise Unavailable("paused after repeated failures")
    masked = masker_for(school.id).mask(text, target)
    school_id = school.id
    db.session.commit()  # no transaction (and on SQLite no write lock) is held while we wait
    try:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer within the deadline (asking for the provider's languages)")
        answer = _with_deadline(state, remaining,
                                lambda: _ask_provider(current, source_code, target_code, masked.text, table))
        result = unmask(answer, masked)
    except _Busy as error:
        raise Unavailable("too many translations in progress") from error
    except Exception as error:  # noqa: BLE001  (slow, down, refusing, garbage: all fall back)
        threshold, pause = _breaker_config()
        state.breaker.failed(current.breaker_key, threshold, pause, at_once=_rate_limited(error))
        log.warning("translation: %s failed (%s -> %s): %s: %s", current.provider, source, target,
                    type(error).__name__, error)
        raise Unavailable(str(error) or type(error).__name__) from error
    state.breaker.succeeded(current.breaker_key)
    return _store(school_id, digest, target, result, current.provider)


# The models whose ``body`` may be translated (each has school_id, body and language).
TEXT_MODELS = ["Post", "Comment", "PortfolioItem", "Message"]


def forget_texts(school_id, texts, default_locale=None):
    """Texts ((text, language) pairs) were deleted: their translations go too, unless the same
    words are still written elsewhere at the school (identical texts share translations). Call it
    after the delete is flushed; the caller commits. A few queries per batch of texts, whatever
    their number (the retention run forgets thousands at once)."""
    from .. import models
    texts = {(text, language) for text, language in texts if text and text.strip()}
    if not texts:
        return
    if default_locale is None:
        default_locale = db.session.get(models.School, school_id).default_locale
    bodies = sorted({text for text, _language in texts})
    still_written = set()
    for model in (getattr(models, name) for name in TEXT_MODELS):
        for start in range(0, len(bodies), 100):
            still_written.update(db.session.scalars(
                select(model.body).where(model.school_id == school_id, model.body.in_(bodies[start:start + 100]))
                .distinct()))
    digests = sorted({source_hash(language or default_locale, text)
                      for text, language in texts if text not in still_written})
    for start in range(0, len(digests), 500):
        db.session.execute(delete(Translation).where(Translation.school_id == school_id,
                                                     Translation.source_hash.in_(digests[start:start + 500]))
                           .execution_options(synchronize_session=False))


# ---- preparing translations when something is published ---------------------------------------------

class Prefetcher:
    """One background thread per process that prepares translations after a post is published.
    Its queue is bounded: when it is full, families translate on demand instead."""

    def __init__(self, limit=200):
        self._executor = None
        self._lock = threading.Lock()
        self._pending = 0
        self.limit = limit

    def submit(self, app, school_id, jobs):
        with self._lock:
            if self._pending >= self.limit:
                log.warning("translation: prefetch queue full; %d texts left to translate on demand", len(jobs))
                return None
            self._pending += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="translation-prefetch")
        return self._executor.submit(self._run, app, school_id, jobs)

    def _run(self, app, school_id, jobs):
        try:
            with app.app_context():
                prepare(school_id, jobs)
        except Exception:  # noqa: BLE001  (a background job must never take the process down)
            log.exception("translation: prefetch failed")
        finally:
            with self._lock:
                self._pending -= 1


def prepare(school_id, jobs):
    """Translate each (text, source, target) not cached yet; stop when the provider fails."""
    from ..models import School
    school = db.session.get(School, school_id)
    if school is None:  # deleted since: nothing to prepare
        return 0
    done = 0
    for text, source, target in jobs:
        try:
            translate(school, text, source, target)
            done += 1
        except Unavailable:
            if not _state().breaker.allows(settings().breaker_key):
                break
    return done


def prefetch_job(school_id, items):
    """The queued job (app/jobs.py): ``items`` are [text, source, target] lists, as ``prefetch``
    made them. A worker (``flask jobs worker``) runs it, or this process when there is no Redis."""
    return prepare(school_id, [tuple(item) for item in items])


def prefetch_mode(app=None):
    """TRANSLATION_PREFETCH as it applies: "auto" means the job queue when Redis is configured
    (REDIS_URL), else a background thread of this process."""
    cfg = (app or current_app).config
    mode = (cfg.get("TRANSLATION_PREFETCH") or "off").strip().lower()
    if mode == "auto":
        return "queue" if cfg.get("REDIS_URL") else "thread"
    return mode if mode in ("queue", "thread", "inline") else "off"


def prefetch(school, texts, targets):
    """Prepare translations of ``texts`` ((text, source language) pairs) into ``targets``, as
    TRANSLATION_PREFETCH says (``prefetch_mode``): as a job on the queue, on a background thread,
    now (tests), or not at all. Never raises. Call it once what it prepares is committed (every
    caller does): queued or inline, it commits the session, as ``translate`` does."""
    try:
        mode = prefetch_mode()
        current = settings()
        if mode == "off" or not current.enabled or not school.content_translation_enabled:
            return None
        table = languages(current)
        jobs = []
        for text, source in texts:
            source = normalise_language(source or school.default_locale)
            for target in sorted({normalise_language(t) for t in targets if t}):
                if text and text.strip() and target != source and (table is None or target in table):
                    jobs.append((text, source, target))
        if not jobs:
            return None
        if mode == "inline":
            return prepare(school.id, jobs)
        if mode == "queue":
            # Plain arguments: the school's id and the texts themselves. Callers have committed what
            # they publish; the commit here ends the transaction this function read in (as inline
            # mode's translate() does), which queues the job and, on SQLite, frees the database for
            # a job that runs in this process (no Redis: after the response, or at once outside a
            # request).
            from .. import jobs as job_queue
            job_queue.enqueue_after_commit("app.services.translation:prefetch_job", school.id,
                                           [[text, source, target] for text, source, target in jobs])
            db.session.commit()
            return None
        return _state().prefetcher.submit(current_app._get_current_object(), school.id, jobs)
    except Exception:  # noqa: BLE001  (posting never fails because of translation)
        log.exception("translation: could not prepare translations")
        return None


def family_languages(school_id, class_id=None, pupil_id=None):
    """The languages parents chose for Hearth: of a pupil's family, of a class's families, or
    (neither given) of every family of the school."""
    stmt = (select(User.locale).distinct().join(ParentLink, ParentLink.parent_id == User.id)
            .join(Pupil, Pupil.id == ParentLink.pupil_id)
            .where(User.school_id == school_id, User.status == "active", User.locale.is_not(None),
                   Pupil.status == "active"))
    if pupil_id is not None:
        stmt = stmt.where(Pupil.id == pupil_id)
    elif class_id is not None:
        stmt = stmt.where(Pupil.class_id == class_id)
    return [code for code in db.session.scalars(stmt) if code]


def prefetch_post(post):
    """A post went live (or was scheduled, or edited): prepare it in its families' languages."""
    if post.published_at is None or not post.body:
        return None
    from ..models import School
    school = db.session.get(School, post.school_id)
    return prefetch(school, [(post.body, post.language)], family_languages(post.school_id, post.class_id))


def prefetch_portfolio_item(item):
    """A teacher's note or a pupil's work: prepare it in the child's family's languages."""
    if not item.body:
        return None
    from ..models import School
    school = db.session.get(School, item.school_id)
    return prefetch(school, [(item.body, item.language)], family_languages(item.school_id, pupil_id=item.pupil_id))


# ---- what the writer writes in --------------------------------------------------------------------------

def writing_language(author, current=None):
    """The language a text is being written in: the writer's choice on the form ("Written in",
    read by the web layer into ``g.written_in``), else the text's language so far (an edit), else
    the writer's interface language for this request, else their saved one, else the school's."""
    chosen = g.get("written_in") if has_app_context() else None
    if chosen:
        return normalise_language(chosen)
    if current:
        return normalise_language(current)
    if has_request_context():
        from flask_babel import get_locale
        locale = get_locale()
        if locale is not None:
            return normalise_language(str(locale))
    return normalise_language(getattr(author, "locale", None) or author.school.default_locale or "en")


# ---- the school's choices and the reader's --------------------------------------------------------------

def set_content_translation(school, by, enabled):
    school.content_translation_enabled = bool(enabled)
    audit("translation.switched_on" if enabled else "translation.switched_off", "school", school.id,
          actor=by, school_id=school.id)
    db.session.commit()


def _forget_machine_translations(school_id):
    """The glossary changed: translations made with the old one are made again when next asked for
    (translations written by people are kept)."""
    db.session.execute(delete(Translation).where(Translation.school_id == school_id, Translation.provider != STORED))


def add_glossary_term(school, by, term, language="", translation=""):
    from flask_babel import gettext as _
    term = " ".join((term or "").split())
    translation = " ".join((translation or "").split())
    language = normalise_language(language) or ""
    if not term:
        raise GlossaryError(_("Write the word or phrase to keep."), "term")
    if len(term) > 100:
        raise GlossaryError(_("A term can be up to %(num)d characters.", num=100), "term")
    if _WORD.match(term) is None:
        raise GlossaryError(_("A term must start with a letter or a number."), "term")
    from ..i18n import LANGUAGE_NAMES
    if language and language not in set(LANGUAGE_NAMES) | set(languages() or {}):
        raise GlossaryError(_("Choose a language from the list."), "language")
    if language and not translation:
        raise GlossaryError(_("Write the translation to use, or choose “Keep it as it is”."), "translation")
    if len(translation) > 200:
        raise GlossaryError(_("A translation can be up to %(num)d characters.", num=200), "translation")
    rows = list(db.session.scalars(select(GlossaryTerm).where(GlossaryTerm.school_id == school.id)))
    if len(rows) >= MAX_GLOSSARY_TERMS:
        raise GlossaryError(_("The glossary is full (%(num)d entries). Remove some first.", num=MAX_GLOSSARY_TERMS),
                            "term")
    spelled = next((r.term for r in rows if r.term.casefold() == term.casefold()), term)
    if any(r.term == spelled and r.language == language for r in rows):
        raise GlossaryError(_("“%(term)s” is in the glossary already.", term=spelled) if not language else
                            _("“%(term)s” has a translation for this language already.", term=spelled), "term")
    entry = GlossaryTerm(school_id=school.id, term=spelled, language=language,
                         translation=translation if language else "")
    db.session.add(entry)
    db.session.flush()
    _forget_machine_translations(school.id)
    audit("translation.glossary_added", "glossary_term", entry.id, actor=by, school_id=school.id,
          detail={"term": spelled, "language": language})
    db.session.commit()
    return entry


def remove_glossary_term(entry, by):
    audit("translation.glossary_removed", "glossary_term", entry.id, actor=by, school_id=entry.school_id,
          detail={"term": entry.term, "language": entry.language})
    db.session.delete(entry)
    _forget_machine_translations(entry.school_id)
    db.session.commit()


def glossary_entries(school_id):
    return list(db.session.scalars(select(GlossaryTerm).where(GlossaryTerm.school_id == school_id)
                                   .order_by(func.lower(GlossaryTerm.term), GlossaryTerm.language)))


def set_always_translate(user, value):
    user.always_translate = bool(value)
    db.session.commit()
