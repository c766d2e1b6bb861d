"""Flask CLI commands: `flask --app run:app COMMAND`."""
import time

import click
from flask import current_app
from flask.cli import with_appcontext


def register_cli(app):
    app.cli.add_command(sync_roles_command)
    app.cli.add_command(load_reference_command)
    app.cli.add_command(bootstrap_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(dayend_command)
    from app.ledger_cli import ledger_verify_command

    app.cli.add_command(ledger_verify_command)
    from app.customer_import_cli import import_customers_command

    app.cli.add_command(import_customers_command)
    from app.guarantee_backfill_cli import import_guarantees_command

    app.cli.add_command(import_guarantees_command)  # 历史补录 (issue 4)


@click.command("sync-roles")
@click.option("--reset", is_flag=True, help="put the shipped roles back to their definition in app/permissions.py")
@with_appcontext
def sync_roles_command(reset):
    """Register permissions and create missing shipped roles; --reset also undoes administrators' changes to them."""
    from app.services.roles import sync_roles

    for role, count in sync_roles(current_app.appbuilder, reset=reset).items():
        click.echo(f"{role}: {count}")


@click.command("load-reference")
@with_appcontext
def load_reference_command():
    """Load dictionaries, numbering rules and default settings (idempotent)."""
    from app.services.reference import load_reference_data

    load_reference_data()
    click.echo("reference data loaded")


@click.command("bootstrap")
@with_appcontext
def bootstrap_command():
    """Migrate, sync roles, load reference data, create the admin."""
    from app.bootstrap import bootstrap

    password = bootstrap(current_app.appbuilder)
    if password:
        click.echo(f"admin password: {password}")


@click.command("demo-data")
@click.option("--customers", default=200, show_default=True, help="number of customers to have")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_data_command(customers, seed):
    """Load the demo organisation, users (password Demo@2026) and customers."""
    from app.services.demo import load_demo

    started = time.perf_counter()
    result = load_demo(current_app.appbuilder, customers=customers, seed=seed)
    elapsed = time.perf_counter() - started
    click.echo(f"{result} in {elapsed:.1f}s")


@click.command("dayend")
@with_appcontext
def dayend_command():
    """Run the day-end batch for the current business date."""
    from app.services import dayend

    run = dayend.run(triggered_by="cli")
    for step in run.steps:
        click.echo(f"{step.step}: {step.status} ({step.rows}) {step.message or ''}")
    click.echo(f"day-end {run.business_date}: {run.status}")
