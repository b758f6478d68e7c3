"""The production files in deploy/ and gunicorn.conf.py run commands and read settings that exist."""
import re
import runpy
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TIMERS = sorted((DEPLOY / "systemd").glob("*.timer"))


def _unit(path):
    """{key: [values]} of a systemd unit file (sections flattened: the keys used here are unique)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def _flask_commands():
    """Every `flask --app wsgi ...` command line in the units: the words after `--app wsgi`."""
    found = []
    for path in UNITS:
        for key in ("ExecStart", "ExecStartPre"):
            for line in _unit(path).get(key, []):
                words = shlex.split(line)
                if words[0].endswith("/flask"):
                    assert words[1:3] == ["--app", "wsgi"], line
                    found.append((path.name, words[3:]))
    return found


def test_the_units_cover_every_process_and_timer():
    names = {p.stem for p in UNITS}
    assert {"hearth-web", "hearth-worker", "hearth-notify-due", "hearth-notify-digests", "hearth-retention",
            "hearth-media-prune", "hearth-backup"} <= names
    assert {t.stem for t in TIMERS} == {p.stem for p in UNITS if _unit(p).get("Type") == ["oneshot"]}
    for path in UNITS:
        unit = _unit(path)
        assert unit["User"] == ["hearth"] and unit["EnvironmentFile"] == ["/etc/hearth.env"], path.name
        assert unit["WorkingDirectory"] == ["/srv/hearth"], path.name
    for timer in TIMERS:
        assert _unit(timer)["OnCalendar"] and _unit(timer)["Persistent"] == ["true"], timer.name


@pytest.mark.parametrize(("unit", "words"), _flask_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_command_a_unit_runs_exists(app, unit, words):
    """`--help` after the unit's own arguments: click parses them, so a renamed command or option fails."""
    group = FlaskGroup(create_app=lambda: app)
    result = CliRunner().invoke(group, [*words, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, f"{unit}: flask {' '.join(words)}\n{result.output}"


def test_the_web_unit_runs_gunicorn_on_the_wsgi_app():
    unit = _unit(DEPLOY / "systemd" / "hearth-web.service")
    assert unit["ExecStart"] == ["/srv/hearth/.venv/bin/gunicorn wsgi:app"]
    assert unit["ExecStartPre"] == ["/srv/hearth/.venv/bin/flask --app wsgi db upgrade"]


def test_gunicorn_settings_follow_the_environment(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["threads"] == 4 and settings["worker_class"] == "gthread"
    assert settings["workers"] >= 2 and settings["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("GUNICORN_THREADS", "1")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (settings["workers"], settings["threads"], settings["worker_class"]) == (5, 1, "sync")
    assert "x-request-id" in settings["access_log_format"]


def test_nginx_serves_the_hashed_assets_and_takes_the_largest_upload(app):
    from app.web import asset_url
    site = (DEPLOY / "nginx" / "hearth.conf").read_text()
    body = re.search(r"client_max_body_size (\d+)m;", site)
    assert int(body.group(1)) * 1024 * 1024 >= app.config["MAX_CONTENT_LENGTH"]
    pattern, alias = re.search(r"location ~ (\S+) \{\s*alias (\S+);", site).groups()
    with app.test_request_context():
        url = asset_url("css/app.css")
    match = re.match(pattern, url)
    assert match, url
    served = Path(alias.replace("/srv/hearth/", str(ROOT) + "/").replace("$1", match.group(1)))
    assert served.is_file() and served == ROOT / "app" / "static" / "css" / "app.css"
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-ID"):
        assert f"proxy_set_header {header}" in site


def test_every_setting_in_the_example_environment_is_read():
    read = (ROOT / "app" / "config.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    for line in (DEPLOY / "hearth.env.example").read_text().splitlines():
        line = line.lstrip("# ")
        if "=" in line and re.match(r"^[A-Z_]+=", line):
            name = line.split("=", 1)[0]
            assert f'"{name}"' in read or name == "HEARTH_ENV", name
