"""Local stand-ins for the translation providers, for tests that run the real deep-translator
clients (never the internet).

``StandIn`` is an HTTP server on 127.0.0.1 that speaks each provider's API on its own paths:
- LibreTranslate: ``POST /translate`` (q, source, target, format, api_key; deep-translator sends them
  in the query string) -> ``{"translatedText": ...}``, and ``GET /languages``;
- Google: ``GET /m?sl=..&tl=..&q=..`` -> the mobile page deep-translator scrapes
  (``<div class="result-container">``);
- DeepL: ``GET /v2/translate`` (auth_key, source_lang, target_lang, text) -> ``{"translations": [...]}``;
- Microsoft: ``POST /translate?api-version=3.0&from=..&to=..`` with ``[{"text": ...}]``, and
  ``GET /languages?api-version=3.0&scope=translation``.

It translates by a phrase book (``phrases[(target, text)]``), or else answers "(target) text".
``calls`` records every request with the text it carried; ``mode`` makes it misbehave:
"hang" (never answers until the test ends), "error" (500), "busy" (429), "garbage" (an HTML error
page as the translation), "lose" (drops the placeholders), "mangle" (breaks them), "move" (moves
them to the end, with spaces inside: a good answer).
``provider_config(name)`` gives the app settings that point that provider at this server.
"""
import html
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PLACEHOLDER = re.compile(r"\[#\d+\]")

# A LibreTranslate server with the usual Argos models: more than 35 languages.
LIBRE_LANGUAGES = [
    ("ar", "Arabic"), ("az", "Azerbaijani"), ("bg", "Bulgarian"), ("bn", "Bengali"), ("ca", "Catalan"),
    ("cs", "Czech"), ("da", "Danish"), ("de", "German"), ("el", "Greek"), ("en", "English"),
    ("eo", "Esperanto"), ("es", "Spanish"), ("et", "Estonian"), ("fa", "Persian"), ("fi", "Finnish"),
    ("fr", "French"), ("ga", "Irish"), ("he", "Hebrew"), ("hi", "Hindi"), ("hu", "Hungarian"),
    ("id", "Indonesian"), ("it", "Italian"), ("ja", "Japanese"), ("ko", "Korean"), ("lt", "Lithuanian"),
    ("lv", "Latvian"), ("ms", "Malay"), ("nb", "Norwegian"), ("nl", "Dutch"), ("pl", "Polish"),
    ("pt", "Portuguese"), ("pb", "Portuguese (Brazil)"), ("ro", "Romanian"), ("ru", "Russian"),
    ("sk", "Slovak"), ("sl", "Slovenian"), ("sq", "Albanian"), ("sv", "Swedish"), ("th", "Thai"),
    ("tl", "Tagalog"), ("tr", "Turkish"), ("uk", "Ukrainian"), ("ur", "Urdu"), ("zh-Hans", "Chinese"),
    ("zt", "Chinese (traditional)"),
]
# Microsoft's list is longer; these are enough to show the mapping (pa, pt-pt, zh-Hans) and the count.
MICROSOFT_LANGUAGES = [code for code, _name in LIBRE_LANGUAGES if code not in ("pb", "zt", "zh-Hans", "tl")] + [
    "pa", "gu", "so", "pt-pt", "zh-Hans", "zh-Hant", "fil", "ti", "ps", "prs", "ku", "kmr", "sw", "am",
    "yue", "mt", "cy", "is", "ta", "te", "ml", "kn", "mr", "ne", "si", "my", "km", "lo", "hy", "ka",
]


@dataclass
class Call:
    method: str
    path: str
    params: dict
    text: str | None = None


@dataclass
class StandIn:
    url: str = ""
    mode: str = "ok"
    calls: list = field(default_factory=list)
    phrases: dict = field(default_factory=dict)
    in_flight: int = 0
    most_in_flight: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def texts(self):
        """Every text a client sent to be translated, in order."""
        return [call.text for call in self.calls if call.text is not None]

    def translations(self):
        return [call for call in self.calls if call.text is not None]

    def answer(self, text, target):
        if (target, text) in self.phrases:
            out = self.phrases[(target, text)]
        else:
            out = f"({target}) {text}"
        if self.mode == "garbage":
            return "<html><body><h1>502 Bad Gateway</h1></body></html>"
        if self.mode == "lose":
            return PLACEHOLDER.sub("", out)
        if self.mode == "mangle":
            return PLACEHOLDER.sub(lambda m: m.group(0)[:-1] + " ", out)
        if self.mode == "move":
            found = PLACEHOLDER.findall(out)
            return PLACEHOLDER.sub("", out) + " " + " ".join(f"[ # {p[2:-1]} ]" for p in found)
        return out

    def provider_config(self, name):
        return {
            "libre": {"TRANSLATION_PROVIDER": "libre", "TRANSLATION_URL": self.url, "TRANSLATION_API_KEY": "test-key"},
            "google": {"TRANSLATION_PROVIDER": "google", "TRANSLATION_URL": self.url + "/m"},
            "deepl": {"TRANSLATION_PROVIDER": "deepl", "TRANSLATION_URL": self.url + "/v2/",
                      "TRANSLATION_API_KEY": "test-key:fx"},
            "microsoft": {"TRANSLATION_PROVIDER": "microsoft", "TRANSLATION_URL": self.url,
                          "TRANSLATION_API_KEY": "test-key", "TRANSLATION_REGION": "uksouth"},
        }[name]


def _handler(stand_in):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status, body, content_type="application/json"):
            data = body.encode("utf-8") if isinstance(body, str) else body
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting: as meant
                pass

        def _read(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

        def _handle(self, method):
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            body = self._read()
            if body and "json" in (self.headers.get("Content-Type") or ""):
                payload = json.loads(body)
            else:
                payload = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()} if body else {}
            if isinstance(payload, dict):
                params.update(payload)
            path = parts.path
            if path == "/languages":
                stand_in.calls.append(Call(method, path, params))
                if "api-version" in params:
                    return self._send(200, json.dumps({"translation": {c: {"name": c} for c in MICROSOFT_LANGUAGES}}))
                codes = [c for c, _n in LIBRE_LANGUAGES]
                return self._send(200, json.dumps([{"code": c, "name": n, "targets": codes}
                                                   for c, n in LIBRE_LANGUAGES]))
            if path == "/translate" and "api-version" in params:  # Microsoft
                text, target = payload[0]["text"], params.get("to")
            elif path == "/translate":  # LibreTranslate
                text, target = params.get("q"), params.get("target")
            elif path == "/m":  # Google's mobile page
                text, target = params.get("q"), params.get("tl")
            elif path == "/v2/translate":  # DeepL
                text, target = params.get("text"), params.get("target_lang")
            else:
                return self._send(404, "{}")
            stand_in.calls.append(Call(method, path, params, text))
            with stand_in.lock:
                stand_in.in_flight += 1
                stand_in.most_in_flight = max(stand_in.most_in_flight, stand_in.in_flight)
            try:
                if stand_in.mode == "hang":
                    stand_in.release.wait(30)
                    return self._send(504, "{}")
                if stand_in.mode == "error":
                    return self._send(500, json.dumps({"error": "Internal Server Error"}))
                if stand_in.mode == "busy":
                    return self._send(429, json.dumps({"error": "Too many requests"}))
                out = stand_in.answer(text, target)
                if path == "/m":
                    return self._send(200, '<html><body><div class="result-container">'
                                      f"{html.escape(out)}</div></body></html>", "text/html; charset=utf-8")
                if path == "/v2/translate":
                    return self._send(200, json.dumps({"translations": [{"detected_source_language": "EN",
                                                                         "text": out}]}))
                if "api-version" in params:
                    return self._send(200, json.dumps([{"translations": [{"text": out, "to": target}]}]))
                return self._send(200, json.dumps({"translatedText": out}))
            finally:
                with stand_in.lock:
                    stand_in.in_flight -= 1

    return Handler


class running:
    """``with running() as stand_in:`` a StandIn serving on 127.0.0.1 until the block ends."""

    def __enter__(self):
        self.stand_in = StandIn()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.stand_in))
        self.server.daemon_threads = True
        self.stand_in.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="translation-stand-in", daemon=True)
        self.thread.start()
        return self.stand_in

    def __exit__(self, *exc):
        self.stand_in.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
