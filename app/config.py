"""Configuration, read from the environment and from ``instance/config.py``.

Every setting has a safe default for a single school running on one machine with SQLite.
Production overrides them through environment variables (see the README).
"""
import os
from datetime import timedelta


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None -> SQLite under instance/
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    REDIS_URL = os.environ.get("REDIS_URL")
    # How many reverse proxies (nginx) stand in front and set X-Forwarded-For/-Proto/-Host.
    # 0 trusts none; behind one nginx set 1, or every user seems to come from 127.0.0.1.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    # Where uploaded media live: outside the web root, never under app/static.
    MEDIA_ROOT = os.environ.get("MEDIA_ROOT")  # None -> instance/media
    # Upload limits (SECURITY.md 18); each refusal names its limit. Videos need ffmpeg and ffprobe:
    # FFMPEG_PATH / FFPROBE_PATH, else whatever the PATH finds.
    MEDIA_MAX_IMAGE_BYTES = int(os.environ.get("MEDIA_MAX_IMAGE_BYTES", 20 * 1024 * 1024))
    MEDIA_MAX_IMAGE_PIXELS = int(os.environ.get("MEDIA_MAX_IMAGE_PIXELS", 50_000_000))
    MEDIA_MAX_VIDEO_BYTES = int(os.environ.get("MEDIA_MAX_VIDEO_BYTES", 100 * 1024 * 1024))
    MEDIA_MAX_VIDEO_SECONDS = int(os.environ.get("MEDIA_MAX_VIDEO_SECONDS", 120))
    MEDIA_MAX_DOCUMENT_BYTES = int(os.environ.get("MEDIA_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))
    MEDIA_DAILY_QUOTA_BYTES = int(os.environ.get("MEDIA_DAILY_QUOTA_BYTES", 1024 * 1024 * 1024))
    FFMPEG_PATH = os.environ.get("FFMPEG_PATH")
    FFPROBE_PATH = os.environ.get("FFPROBE_PATH")
    FFMPEG_TIMEOUT = int(os.environ.get("FFMPEG_TIMEOUT", 300))

    # Sessions (SECURITY.md 8-10)
    SESSION_COOKIE_NAME = "hearth_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    # (idle, absolute) limits per kind of account
    SESSION_LIMITS = {
        "parent": (timedelta(days=14), timedelta(days=30)),
        "staff": (timedelta(hours=2), timedelta(hours=12)),
        "pupil": (timedelta(minutes=20), timedelta(hours=2)),
    }
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # One request may carry a post made without JavaScript: 10 photos and a video. The per-file limits
    # above give the clear messages; this only stops what no form could send.
    MAX_CONTENT_LENGTH = 260 * 1024 * 1024

    # Languages: interface
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/London"
    BABEL_TRANSLATION_DIRECTORIES = "i18n"

    # Languages: what people write (posts, comments, portfolio, messages), machine-translated on
    # request through deep-translator. Off unless a provider is chosen: nothing leaves the school.
    # google (no key) | microsoft (key, region) | deepl (key) | libre (the school's own
    # LibreTranslate: URL, and a key if the server asks for one) | "" (off).
    TRANSLATION_PROVIDER = os.environ.get("TRANSLATION_PROVIDER", "").strip().lower()
    TRANSLATION_API_KEY = os.environ.get("TRANSLATION_API_KEY")
    # LibreTranslate's address (https://translate.example-school.org.uk/); for the other providers
    # it replaces their public address (a proxy, DeepL Pro, or a local stand-in in tests).
    TRANSLATION_URL = os.environ.get("TRANSLATION_URL")
    TRANSLATION_REGION = os.environ.get("TRANSLATION_REGION")  # Microsoft: the resource's region
    # Every provider call has this hard deadline (seconds); the original text is shown after it.
    TRANSLATION_TIMEOUT = float(os.environ.get("TRANSLATION_TIMEOUT", "3"))
    # Provider calls in flight at once in one process; more are refused at once, never queued.
    # Keep it below gunicorn's --threads: a hanging provider then never holds every thread of a
    # worker, so pages keep answering (benchmarks/faults.py, scenario 4).
    TRANSLATION_MAX_CALLS = int(os.environ.get("TRANSLATION_MAX_CALLS", "2"))
    # After this many failures in a row, no call for this many seconds (the circuit breaker).
    TRANSLATION_BREAKER_FAILURES = int(os.environ.get("TRANSLATION_BREAKER_FAILURES", "5"))
    TRANSLATION_BREAKER_SECONDS = float(os.environ.get("TRANSLATION_BREAKER_SECONDS", "120"))
    # Translations into the class's families' languages prepared when a post is published:
    # auto (the default: queue when REDIS_URL is set, else thread) | queue (a job that
    # `flask jobs worker` runs; in this process after the response without Redis) | thread (a
    # background thread of the web process) | inline (before the request ends: tests) | off.
    TRANSLATION_PREFETCH = os.environ.get("TRANSLATION_PREFETCH", "auto").strip().lower()

    # Rate limits (SECURITY.md 3, 5)
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STORAGE_URI = None  # derived from REDIS_URL in create_app
    # Redis stopped or unreachable: each process counts in its own memory until Redis answers again
    # (Flask-Limiter checks it now and then), so sign-in keeps working; never wait long for it.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    LOGIN_LIMIT_PER_IP = "25 per 5 minutes"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 5 minutes"
    PASSCODE_LIMIT_PER_IP = "20 per 5 minutes"
    PUPIL_LIMIT_PER_PUPIL = "10 per 5 minutes"
    PUPIL_LIMIT_PER_IP = "300 per 5 minutes"  # a whole school behind one address

    # Mail: SMTP when MAIL_SERVER is set, otherwise files under instance/mail and the console.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Hearth <no-reply@localhost>")
    MAIL_TIMEOUT = 10
    # Development without MAIL_SERVER: each email is also printed to the console unless this is set.
    MAIL_QUIET = _bool("MAIL_QUIET", False)

    # Links in emails and on printed letters
    PUBLIC_URL = os.environ.get("PUBLIC_URL")  # e.g. https://hearth.example-school.org.uk

    ARGON2_PARAMETERS = {}  # {} = argon2-cffi's recommended Argon2id parameters
    # Password hashes computed at once in one process: each Argon2id hash holds 64 MiB while it runs
    # (~50 ms), so this bounds a gunicorn worker's memory when many people sign in together.
    PASSWORD_HASHES_AT_ONCE = int(os.environ.get("PASSWORD_HASHES_AT_ONCE", "1"))
    # Live updates (points, messages): how often an open page asks whether anything changed.
    # Each idle ask is answered by a ~135-byte 204, so 25 s keeps an idle page under 1 KB a minute.
    LIVE_POLL_SECONDS = int(os.environ.get("LIVE_POLL_SECONDS", "25"))
    PASSWORD_RESET_MAX_AGE = 3600
    STAFF_INVITE_DAYS = 7
    COMPRESS_MIMETYPES = [
        "text/html", "text/css", "text/plain", "application/javascript",
        "text/javascript", "application/json", "image/svg+xml", "text/csv",
    ]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIN_SIZE = 300
    COMPRESS_STREAMS = False
    TESTING = False


class DevelopmentConfig(Config):
    DEBUG = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    PUBLIC_URL = "http://localhost"
    # Still Argon2id, but cheap: tests hash many passwords. Production uses the defaults.
    ARGON2_PARAMETERS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    # Never the internet: a test that translates points these at a local stand-in server.
    TRANSLATION_PROVIDER = ""
    TRANSLATION_API_KEY = None
    TRANSLATION_URL = None
    TRANSLATION_REGION = None
    TRANSLATION_PREFETCH = "inline"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestConfig,
}
