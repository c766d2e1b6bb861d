"""The three collateral warning rules (COL-4, POST-3) for the post-guarantee warning engine
(app/services/warnings.py): a rights certificate expiring, the insurance of the collateral expiring, and the
collateral's appraised value below the required coverage of a guarantee's balance.

Each detector returns ONE Select over all guarantees (the engine turns it into one INSERT … SELECT), so the
day-end's work does not grow in queries with the number of guarantees. Only collateral that secures a guarantee
in force counts. The administrator sets the parameters on the rule: "days" (how far ahead an expiry warns) and
"coverage" (collateral value ÷ balance below which a guarantee warns, 1.2 = 120 %).
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Numeric, String, cast, func, literal, select

CERTIFICATE_EXPIRING = "collateral_certificate_expiring"
INSURANCE_EXPIRING = "collateral_insurance_expiring"
COVERAGE_LOW = "collateral_coverage_low"
DEFAULT_DAYS = 30
DEFAULT_COVERAGE = Decimal("1.2")


def _param(params: dict, name: str, default: Decimal) -> Decimal:
    try:
        value = Decimal(str((params or {}).get(name, default)))
    except (InvalidOperation, ValueError):
        return default
    return value if value.is_finite() and value >= 0 else default


def _m(name: str) -> str:
    """A marker for gettext's placeholder `name`, replaced by a column in SQL (see _sql_text)."""
    return f"\x01{name}\x01"


def _sql_text(text: str, **columns):
    """A translated message with SQL columns in it: gettext filled the markers (_m), the text around them becomes
    literals, the columns are cast to text and everything is concatenated in SQL."""
    parts = re.split("\x01(\\w+)\x01", text)
    expr = literal(parts[0], String)
    for i in range(1, len(parts), 2):
        expr = expr + func.coalesce(cast(columns[parts[i]], String), literal("", String)) + literal(parts[i + 1], String)
    return expr


def _key(prefix: str, *columns):
    expr = literal(prefix, String)
    for i, column in enumerate(columns):
        expr = expr + (literal(":", String) if i else literal("", String)) + cast(column, String)
    return expr


def _guarantee_in_force(collateral_id_column):
    """The (first) guarantee in force the collateral secures — correlated, NULL when none."""
    from models.business import CounterMeasure, Guarantee

    return (select(func.min(Guarantee.id)).join(CounterMeasure, CounterMeasure.guarantee_id == Guarantee.id)
            .where(CounterMeasure.collateral_id == collateral_id_column, Guarantee.stage == "in_force",
                   Guarantee.status == "active").scalar_subquery())


def detect_certificate_expiring(business_date: date, params: dict):
    """Certificates (not yet returned) of collateral in use that expire within `days` (or have expired)."""
    from app.services.collateral import IN_USE
    from models.collateral import Collateral, CollateralCertificate as Cert

    until = business_date + timedelta(days=int(_param(params, "days", Decimal(DEFAULT_DAYS))))
    guarantee = _guarantee_in_force(Collateral.id)
    return (select(guarantee.label("guarantee_id"), Collateral.customer_id.label("customer_id"),
                   _key("cert:", Cert.id, Cert.expiry_date).label("cause_key"),
                   _sql_text(gettext("Certificate %(type)s %(number)s of collateral %(code)s expires on %(date)s.",
                                     type=_m("type"), number=_m("number"), code=_m("code"), date=_m("date")),
                             type=Cert.cert_type, number=Cert.number, code=Collateral.code,
                             date=Cert.expiry_date).label("message"))
            .join(Collateral, Collateral.id == Cert.collateral_id)
            .where(Cert.expiry_date.is_not(None), Cert.expiry_date <= until, Cert.status != "out",
                   Collateral.status.in_(IN_USE), guarantee.is_not(None)))


def detect_insurance_expiring(business_date: date, params: dict):
    """Collateral in use whose insurance policy ends within `days` (or has ended)."""
    from app.services.collateral import IN_USE
    from models.collateral import Collateral

    until = business_date + timedelta(days=int(_param(params, "days", Decimal(DEFAULT_DAYS))))
    guarantee = _guarantee_in_force(Collateral.id)
    return (select(guarantee.label("guarantee_id"), Collateral.customer_id.label("customer_id"),
                   _key("insurance:", Collateral.id, Collateral.insurance_expiry).label("cause_key"),
                   _sql_text(gettext("The insurance of collateral %(code)s %(name)s ends on %(date)s.", code=_m("code"),
                                     name=_m("name"), date=_m("date")), code=Collateral.code,
                             name=Collateral.name, date=Collateral.insurance_expiry).label("message"))
            .where(Collateral.insurance_expiry.is_not(None), Collateral.insurance_expiry <= until,
                   Collateral.status.in_(IN_USE), guarantee.is_not(None)))


def detect_coverage_low(business_date: date, params: dict):
    """Guarantees in force with collateral whose total appraised value is below `coverage` × the balance."""
    from app.services.collateral import _secured_pairs
    from app.services.products import percent
    from models.business import Guarantee
    from models.collateral import Collateral

    ratio = _param(params, "coverage", DEFAULT_COVERAGE)
    pairs = _secured_pairs()
    totals = (select(pairs.c.guarantee_id.label("guarantee_id"),
                     func.sum(func.coalesce(Collateral.value, 0)).label("total"))
              .select_from(pairs).join(Collateral, Collateral.id == pairs.c.collateral_id)
              .group_by(pairs.c.guarantee_id).subquery())
    return (select(Guarantee.id.label("guarantee_id"), Guarantee.customer_id.label("customer_id"),
                   _key("coverage:", Guarantee.id).label("cause_key"),
                   _sql_text(gettext("The collateral of guarantee %(code)s is worth less than %(ratio)s of its balance.",
                                     code=_m("code"), ratio=percent(ratio)), code=Guarantee.code).label("message"))
            .join(totals, totals.c.guarantee_id == Guarantee.id)
            .where(Guarantee.stage == "in_force", Guarantee.status == "active", Guarantee.balance > 0,
                   totals.c.total < Guarantee.balance * literal(ratio, Numeric(12, 6))))


def register() -> None:
    """Register the three detectors with the warning engine (idempotent; nothing when it is not installed)."""
    try:
        from app.services import warnings
    except ImportError:
        return
    warnings.register_rule(CERTIFICATE_EXPIRING, _l("Collateral certificate expiring"), detect_certificate_expiring,
                           default_level="medium", default_params={"days": DEFAULT_DAYS}, clears_itself=True)
    warnings.register_rule(INSURANCE_EXPIRING, _l("Collateral insurance expiring"), detect_insurance_expiring,
                           default_level="low", default_params={"days": DEFAULT_DAYS}, clears_itself=True)
    warnings.register_rule(COVERAGE_LOW, _l("Collateral value below the required coverage"), detect_coverage_low,
                           default_level="high", default_params={"coverage": float(DEFAULT_COVERAGE)},
                           clears_itself=True)
