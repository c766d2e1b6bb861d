"""Fee plans and their collection schedule (收费方案, BIZ-9). Pure: no database, so the schedule can be
computed for a form preview and checked by hand (tests/unit/test_fee_schedule.py).

Rules
* A fee plan item is a fee type (guarantee, service, handling, penalty, other), a basis and a frequency.
* basis "ratio": `rate` is an annual ratio of `principal`. The fee of the whole term is
  rate × principal × term_months / 12, rounded half up to cents. Each period's row is
  rate × principal × period_months / 12, rounded half up to cents, and the last period takes the remainder,
  so the rows always add up to the whole-term fee.
* basis "fixed": `amount` is due at each collection (once for "one_off").
* frequency: one_off (one row for the whole term), monthly (1 month), quarterly (3), yearly (12). Periods
  run from the start date: period n starts at start + n × length months, counted from the start date each
  time, so a month end stays a month end where it can (31 Jan + 1 month = 28 Feb, or 29 Feb in a leap year;
  + 2 months = 31 Mar). The last period ends with the term and may be shorter.
* A fee is due (collected in advance) on the first day of its period; period_to is the day before the
  next period starts (the term ends the day before start + term_months).
"""
import calendar
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from typing import NamedTuple

from flask_babel import gettext, lazy_gettext as _l

from app.errors import ValidationError

FEE_TYPES = {
    "guarantee": _l("Guarantee fee"),
    "service": _l("Service fee"),
    "handling": _l("Handling fee"),
    "penalty": _l("Penalty fee"),
    "other": _l("Other fee"),
}
BASES = {"ratio": _l("By ratio"), "fixed": _l("Fixed amount")}
FREQUENCIES = {"one_off": _l("Collected once"), "monthly": _l("Collected monthly"),
               "quarterly": _l("Collected quarterly"), "yearly": _l("Collected yearly")}
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}  # one_off: the whole term
CENT = Decimal("0.01")
MAX_TERM_MONTHS = 600
MAX_AMOUNT = Decimal("9999999999999999.99")


class ScheduleRow(NamedTuple):
    due_date: date
    fee_type: str
    amount: Decimal
    period_from: date
    period_to: date


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(start: date, months: int) -> date:
    """start + months, clamped to the last day of the target month (31 Jan + 1 = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def term_end(start: date, term_months: int) -> date:
    """The last day of a term that starts on `start`."""
    return add_months(start, term_months) - timedelta(days=1)


def _get(item, key):
    if isinstance(item, Mapping):
        return item.get(key)
    return getattr(item, key, None)


def _decimal(value, label):
    if value is None or value == "":
        raise ValidationError(gettext("%(label)s is required.", label=label))
    try:
        value = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("%(label)s must be a number.", label=label))
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValidationError(gettext("%(label)s must be a number not below zero.", label=label))
    return value


def check_item(item) -> dict:
    """The checked, typed values of one fee plan item (raises ValidationError naming what is wrong)."""
    fee_type, basis, frequency = _get(item, "fee_type"), _get(item, "basis"), _get(item, "frequency")
    if fee_type not in FEE_TYPES:
        raise ValidationError(gettext("Unknown fee type: %(value)s.", value=str(fee_type)[:30]), "fee_type")
    if basis not in BASES:
        raise ValidationError(gettext("Unknown fee basis: %(value)s.", value=str(basis)[:30]), "basis")
    if frequency not in FREQUENCIES:
        raise ValidationError(gettext("Unknown collection frequency: %(value)s.", value=str(frequency)[:30]),
                              "frequency")
    values = {"fee_type": fee_type, "basis": basis, "frequency": frequency}
    if basis == "ratio":
        rate = _decimal(_get(item, "rate"), gettext("Fee rate"))
        if rate > 1:
            raise ValidationError(gettext("A fee rate is an annual ratio between 0 and 1 (0.02 means 2 percent)."),
                                  "rate")
        values.update(rate=rate, principal=_decimal(_get(item, "principal"), gettext("Principal")))
    else:
        values["amount"] = round_cents(_decimal(_get(item, "amount"), gettext("Fee amount")))
    return values


def _periods(start: date, term_months: int, frequency: str):
    """(period_from, period_to, months) of each collection period."""
    length = PERIOD_MONTHS.get(frequency, term_months)
    done = 0
    while done < term_months:
        months = min(length, term_months - done)
        yield add_months(start, done), add_months(start, done + months) - timedelta(days=1), months
        done += months


def whole_term_fee(item, term_months: int) -> Decimal:
    """The fee of one item over the whole term (what its schedule rows add up to)."""
    values = check_item(item)
    _check_term(term_months)
    if values["basis"] == "ratio":
        return round_cents(values["rate"] * values["principal"] * term_months / 12)
    return values["amount"] * len(list(_periods(date(2000, 1, 1), term_months, values["frequency"])))


def _check_term(term_months):
    if isinstance(term_months, bool) or not isinstance(term_months, int) or not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValidationError(gettext("The term must be a whole number of months from 1 to %(max)s.",
                                      max=MAX_TERM_MONTHS), "term_months")


def build_schedule(items, start_date: date, term_months: int) -> list[ScheduleRow]:
    """The collection schedule of a fee plan: one row per item and period, ordered by due date
    (then by fee type in FEE_TYPES order, then by the items' order)."""
    if not isinstance(start_date, date):
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Start date")), "start_date")
    _check_term(term_months)
    rows = []
    for position, item in enumerate(items):
        values = check_item(item)
        periods = list(_periods(start_date, term_months, values["frequency"]))
        if values["basis"] == "ratio":
            rate, principal = values["rate"], values["principal"]
            whole = round_cents(rate * principal * term_months / 12)
            charged = Decimal("0.00")
            for index, (period_from, period_to, months) in enumerate(periods):
                if index == len(periods) - 1:
                    amount = whole - charged  # the remainder: rows add up to the whole-term fee
                else:
                    amount = round_cents(rate * principal * months / 12)
                charged += amount
                rows.append((position, ScheduleRow(period_from, values["fee_type"], amount, period_from, period_to)))
        else:
            for period_from, period_to, _months in periods:
                rows.append((position, ScheduleRow(period_from, values["fee_type"], values["amount"], period_from,
                                                   period_to)))
    order = list(FEE_TYPES)
    rows.sort(key=lambda r: (r[1].due_date, order.index(r[1].fee_type), r[0]))
    return [row for _, row in rows]


def totals_by_type(rows) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.fee_type] = totals.get(row.fee_type, Decimal("0.00")) + row.amount
    return totals
