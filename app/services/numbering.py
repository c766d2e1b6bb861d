"""Numbering rules (SYS-7): prefix + date part + zero-padded sequence, unique and gap-free.

The counter row is incremented with one INSERT … ON CONFLICT DO UPDATE … RETURNING inside the
caller's transaction: concurrent callers queue on the row lock (PostgreSQL) or the database lock
(SQLite), and a rolled-back business transaction rolls its number back too, so no gaps appear.
"""
from datetime import date

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import ValidationError

DATE_FORMATS = {"none": "", "yyyy": "%Y", "yyyymm": "%Y%m", "yyyymmdd": "%Y%m%d"}


def _session():
    from app.extensions import db

    return db.session


def validate_rule(rule) -> None:
    if rule.date_format not in DATE_FORMATS:
        raise ValidationError(gettext("Unknown date part: choose none, yyyy, yyyymm or yyyymmdd."), "date_format")
    if not (1 <= (rule.seq_width or 0) <= 12):
        raise ValidationError(gettext("The sequence width must be between 1 and 12 digits."), "seq_width")
    if rule.prefix and not rule.prefix.replace("-", "").isalnum():
        raise ValidationError(gettext("The prefix may contain only letters, digits and '-'."), "prefix")


def _increment(kind: str, period: str, by: int = 1) -> int:
    """Add `by` to the counter and return its new last value."""
    from models.system import NumberingCounter

    table = NumberingCounter.__table__
    dialect = _session().get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(kind=kind, period=period, last_value=by)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.period],
        set_={"last_value": table.c.last_value + by},
    ).returning(table.c.last_value)
    return _session().execute(stmt).scalar_one()


def format_number(rule, on: date, value: int) -> str:
    date_part = on.strftime(DATE_FORMATS[rule.date_format]) if rule.date_format != "none" else ""
    return f"{rule.prefix or ''}{date_part}{value:0{rule.seq_width or 1}d}"


def example(rule) -> str:
    """The first number the rule gives on the current business date (shown beside the rule)."""
    from app.services import business_date

    if rule.date_format not in DATE_FORMATS:
        return ""
    return format_number(rule, business_date.today(), 1)


def next_numbers(kind: str, count: int, on: date | None = None) -> list[str]:
    """A block of `count` consecutive numbers of `kind` (bulk loads take theirs in one statement)."""
    from app.services import business_date
    from models.system import NumberingRule

    rule = _session().execute(select(NumberingRule).where(NumberingRule.kind == kind)).scalar()
    if rule is None:
        raise ValidationError(gettext("No numbering rule is defined for %(kind)s.", kind=kind))
    on = on or business_date.today()
    date_part = on.strftime(DATE_FORMATS[rule.date_format]) if rule.date_format != "none" else ""
    last = _increment(kind, date_part or "-", count)
    return [format_number(rule, on, value) for value in range(last - count + 1, last + 1)]


def next_number(kind: str, on: date | None = None) -> str:
    """The next number of `kind` for the business date (or `on`). Commit with the record that uses it."""
    return next_numbers(kind, 1, on)[0]
