"""Command-line tasks: `flask demo`, `flask school create`."""
import click


def register_cli(app):
    from .demo import demo_command
    app.cli.add_command(demo_command)
