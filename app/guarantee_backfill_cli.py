"""`flask import-guarantees FILE`: the guarantee backfill (历史补录) from the command line, same service as
the screen (registered in app/cli.py)."""
import click
from flask.cli import with_appcontext


@click.command("import-guarantees")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default=None,
              help="login name the guarantees are entered as (account manager when the file names none)")
@click.option("--errors", "errors_path", default=None, type=click.Path(dir_okay=False),
              help="where to write the error workbook (default: FILE with .errors.xlsx)")
@with_appcontext
def import_guarantees_command(path, username, errors_path):
    """Backfill guarantees in force from a filled template: all rows, or none (then an error workbook is written)."""
    from app.customer_import_cli import run_import
    from app.services import guarantee_backfill

    result = run_import(path, username, errors_path, guarantee_backfill.import_guarantees)
    click.echo(f"{result.imported} guarantees backfilled in force, outstanding balance {result.total_balance:,.2f}")
