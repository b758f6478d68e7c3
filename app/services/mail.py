"""Sending email: SMTP when the school configured it, otherwise a file under instance/ and the console."""
import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from ..models.base import utcnow

log = logging.getLogger("hearth.mail")


def build_message(to, subject, text, html=None, headers=None):
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="hearth.local")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def send_mail(to, subject, text, html=None, headers=None):
    msg = build_message(to, subject, text, html, headers)
    cfg = current_app.config
    if cfg.get("MAIL_SERVER"):
        _send_smtp(cfg, msg)
    else:
        _write_to_outbox(cfg, msg)
    return msg


def _send_smtp(cfg, msg):
    host, port, timeout = cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_TIMEOUT"]
    if cfg.get("MAIL_USE_SSL"):
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            server.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            server.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        server.send_message(msg)


def _write_to_outbox(cfg, msg):
    folder = cfg["MAIL_OUTBOX_DIR"]
    os.makedirs(folder, exist_ok=True)
    name = utcnow().strftime("%Y%m%dT%H%M%S%f") + ".eml"
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(bytes(msg))
    log.info("Mail to %s written to %s (no MAIL_SERVER configured)", msg["To"], path)
    if not current_app.testing:
        text = msg.get_body(("plain",)).get_content()
        print(f"\n--- mail to {msg['To']}: {msg['Subject']} ---\n{text}\n--- ({path}) ---\n")
