"""`flask import-customers FILE`: the Excel customer import from the command line (same service as the screen)."""
import os
import time

import click
from flask.cli import with_appcontext


@click.command("import-customers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default=None,
              help="login name the customers are entered as (account manager when the file names none)")
@click.option("--errors", "errors_path", default=None, type=click.Path(dir_okay=False),
              help="where to write the error workbook (default: FILE with .errors.xlsx)")
@with_appcontext
def import_customers_command(path, username, errors_path):
    """Import customers from a filled template: all rows, or none (then an error workbook is written)."""
    from app.services import customer_import

    started = time.perf_counter()
    result = run_import(path, username, errors_path, customer_import.import_customers)
    click.echo(f"{result.imported} customers imported ({result.first_code} ~ {result.last_code}) "
               f"in {time.perf_counter() - started:.1f}s")


def run_import(path, username, errors_path, importer):
    """Run an all-or-nothing Excel import (`importer(data, filename)` → a result with ok, errors,
    error_workbook()) as `username`; commit it, or write the marked error workbook and fail."""
    from flask import current_app

    from app.audit import reset_actor, set_actor
    from app.errors import GuaranteeError
    from app.extensions import db

    user_id, actor = None, "system"
    if username:
        user = current_app.appbuilder.sm.find_user(username=username)
        if user is None:
            raise click.ClickException(f"no user {username}")
        user_id, actor = user.id, user.username
    token = set_actor(user_id, actor)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        result = importer(data, os.path.basename(path))
        if not result.ok:
            db.session.rollback()
            errors_path = errors_path or os.path.splitext(path)[0] + ".errors.xlsx"
            with open(errors_path, "wb") as fh:
                fh.write(result.error_workbook())
            for error in result.errors[:20]:
                click.echo(f"row {error.row} {error.label}: {error.message}", err=True)
            raise click.ClickException(f"nothing imported: {result.error_rows()} of {result.rows} rows have "
                                       f"errors ({len(result.errors)} errors); marked file: {errors_path}")
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        raise click.ClickException(ex.message) from None
    finally:
        reset_actor(token)
    return result
