"""`flask backup` and `flask restore` (issue 10 part 6); the work is in app/services/backup.py."""
import click
from flask import current_app

from .services import backup as backups


@click.command("backup")
@click.option("--to", "destination", default=None,
              help="The folder to write into (default: instance/backups).")
def backup_command(destination):
    """Back up the database and the uploaded files into one new folder, while Hearth runs."""
    destination = destination or f"{current_app.instance_path}/backups"
    try:
        result = backups.make_backup(destination)
    except backups.BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backed up to {result.path}: database {result.database_bytes:,} B, "
               f"{result.media_files:,} media files ({result.media_bytes:,} B) in {result.seconds:.1f} s.")


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds a school.")
def restore_command(folder, replace):
    """Put a backup folder back (stop Hearth's processes first)."""
    try:
        manifest = backups.restore_backup(folder, replace=replace)
    except backups.BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Restored the backup of {manifest['created_at']} ({manifest['media_files']:,} media files).")
