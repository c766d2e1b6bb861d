"""`flask ledger-verify`: check the hash chain of posted vouchers (GL-7); exit status 1 names the first broken link."""
import click
from flask.cli import with_appcontext


@click.command("ledger-verify")
@with_appcontext
def ledger_verify_command():
    """Verify the hash chain of posted vouchers."""
    from app.services.ledger import verify_chain

    report = verify_chain()
    click.echo(report.message)
    if not report.ok:
        raise SystemExit(1)
