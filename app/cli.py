"""Command-line tasks: `flask demo`, `flask school create`, `flask media prune`, `flask notify ...`."""
import re
from datetime import timedelta

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from .extensions import db

school_cli = AppGroup("school", help="Create and look after schools.")
media_cli = AppGroup("media", help="Look after uploaded photos, videos and documents.")
notify_cli = AppGroup("notify", help="Send notification emails (run from timers).")


@school_cli.command("create")
@click.option("--name", required=True, help="The school's name.")
@click.option("--head-email", required=True, help="The headteacher's email address.")
@click.option("--head-name", required=True, help="The headteacher's name.")
@click.option("--timezone", default="Europe/London", show_default=True)
@click.option("--office-phone", default="")
@click.option("--office-email", default="")
def create_school(name, head_email, head_name, timezone, office_phone, office_email):
    """Create a school and print a one-time link for its headteacher (no default accounts)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from .models import School
    from .models.people import ROLE_HEAD
    from .services.accounts import AccountError, invite_staff
    from .services.consent import ensure_default_documents
    from .services.points import ensure_default_categories
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone") from None
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "school"
    base, n = slug, 1
    while db.session.query(School.id).filter_by(slug=slug).first():
        n += 1
        slug = f"{base}-{n}"
    school = School(name=name, slug=slug, timezone=timezone, office_phone=office_phone,
                    office_email=office_email)
    db.session.add(school)
    db.session.flush()
    ensure_default_documents(school)
    ensure_default_categories(school)
    try:
        _invite, token = invite_staff(school, head_email, head_name, ROLE_HEAD)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    base_url = (current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    with current_app.test_request_context():
        path = url_for("auth.accept_invite", token=token)
    click.echo(f"Created {name}. The headteacher sets a password with this one-time link "
               f"(valid {current_app.config['STAFF_INVITE_DAYS']} days, shown only now):\n\n  {base_url}{path}\n")


@media_cli.command("prune")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(min=1),
              help="Remove staged uploads and orphaned files older than this.")
def prune_media(hours):
    """Delete uploads never attached to a post or portfolio item, and files no upload names; queue
    again any video still being prepared after half an hour (its job was lost)."""
    from .services.media import prune_staged, requeue_waiting_videos, sweep_orphan_files
    age = timedelta(hours=hours)
    staged = prune_staged(older_than=age)
    orphans = sweep_orphan_files(older_than=age)
    requeued = requeue_waiting_videos()
    click.echo(f"Removed {staged} staged upload(s) and {orphans} orphaned file(s); "
               f"queued {requeued} waiting video(s) again.")


def _outcomes(counts):
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"


@notify_cli.command("send-digests")
def send_digests_command():
    """Make today's digest emails where the school's digest time has passed, and send what is due.
    For a timer every 15 minutes: safe to run twice, never two digests for one person a day."""
    from .services.email_delivery import send_digests
    made, counts = send_digests()
    click.echo(f"Digests made: {made}; emails: {_outcomes(counts)}.")


@notify_cli.command("send-due")
def send_due_command():
    """Send every email whose time has come (held through quiet hours, or a retry), and tell
    families of scheduled posts now published. For a timer every minute."""
    from .services.email_delivery import send_due
    click.echo(f"Emails: {_outcomes(send_due())}.")


def register_cli(app):
    from .demo import demo_command
    app.cli.add_command(demo_command)
    app.cli.add_command(school_cli)
    app.cli.add_command(media_cli)
    app.cli.add_command(notify_cli)
    from .backup_cli import backup_command, restore_command
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
