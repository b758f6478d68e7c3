import click


@click.command("demo")
def demo_command():
    """Create the demo school (safe to run twice)."""
    click.echo("demo")
