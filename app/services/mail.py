"""Sending email: SMTP when the school configured it, otherwise a file under instance/ and the console.

``send_mail`` and ``send_message`` raise what smtplib raises (``smtplib.SMTPException`` or
``OSError``): a caller that keeps a record of its mail (notifications, ``email_delivery``) tells a
refused address from a passing failure; the others let the error show.
"""
import logging
import os
import smtplib
import ssl
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from ..models.base import utcnow

log = logging.getLogger("hearth.mail")

# Header lines up to RFC 5322's limit: a long List-Unsubscribe address stays one plain <URL>
# rather than being folded into encoded words that mail apps do not read as a link. The bodies
# are quoted-printable, so every line on the wire stays short and 7-bit.
POLICY = policy.default.clone(max_line_length=998)


def build_message(to, subject, text, html=None, headers=None, message_id=None):
    msg = EmailMessage(policy=POLICY)
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="hearth.local")
    msg.set_content(text, cte="quoted-printable")
    if html:
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
    for key, value in (headers or {}).items():  # after the body: a multipart keeps Content-* on top
        msg[key] = value
    return msg


def send_mail(to, subject, text, html=None, headers=None, message_id=None):
    msg = build_message(to, subject, text, html, headers, message_id)
    send_message(msg)
    return msg


def send_message(msg):
    """Send a built message through SMTP, or write it to the outbox when there is no MAIL_SERVER."""
    cfg = current_app.config
    if cfg.get("MAIL_SERVER"):
        _send_smtp(cfg, msg)
    else:
        _write_to_outbox(cfg, msg)


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
    # The time first, so the files sort in order; a random part, so two at one instant both stay.
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(bytes(msg))
    log.log(logging.DEBUG if current_app.config.get("MAIL_QUIET") else logging.INFO,
            "Mail to %s written to %s (no MAIL_SERVER configured)", msg["To"], path)
    if not current_app.testing and not current_app.config.get("MAIL_QUIET"):
        text = msg.get_body(("plain",)).get_content()
        print(f"\n--- mail to {msg['To']}: {msg['Subject']} ---\n{text}\n--- ({path}) ---\n")
