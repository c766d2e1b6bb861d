"""Post-guarantee inspections (保后检查, POST-1).

The first inspection falls due a number of days after the loan is released (放款); after each report the next
one falls due after the interval of the guarantee's five-category class. The administrator keeps the
intervals (post_inspection_interval: ``first`` and one per class). The day-end batch schedules the first
inspection of every guarantee in force that has none, in one INSERT … SELECT; late inspections are warned
about by the ``inspection_overdue`` rule (app/services/warnings.py).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Integer, exists, func, insert, literal, select

from app.errors import Conflict, NotFound, ValidationError
from app.services.dayend import dayend_step

DEFAULT_INTERVALS = {"first": 30, "normal": 180, "special": 90, "substandard": 30, "doubtful": 30, "loss": 30}
BASIS_LABELS = {
    "first": _l("First inspection after the loan"),
    "normal": _l("Normal"), "special": _l("Special mention"), "substandard": _l("Substandard"),
    "doubtful": _l("Doubtful"), "loss": _l("Loss"),
}
RISK_SIGNALS = {"none": _l("None"), "minor": _l("Minor"), "major": _l("Major")}
KIND_LABELS = {"first": _l("First"), "periodic": _l("Periodic")}
STATUS_LABELS = {"scheduled": _l("Scheduled"), "done": _l("Reported")}
SECTIONS = (("operations", _l("Business operations")), ("finances", _l("Financial condition")),
            ("collateral_state", _l("Status of the counter-guarantee measures")), ("repayment_source", _l("Repayment source")),
            ("findings", _l("Findings")), ("conclusion", _l("Conclusion")))


def register_attachments() -> None:
    """Report files (site photos, statements…) are attached to the inspection, kept with the customer's files."""
    from app.services.attachments import register_subrecord

    register_subrecord("post_inspection", "models.post_guarantee:Inspection", _l("Post-guarantee inspection"))


register_attachments()


def _session():
    from app.extensions import db

    return db.session


def ensure_intervals() -> None:
    from models.post_guarantee import InspectionInterval

    session = _session()
    have = set(session.execute(select(InspectionInterval.basis)).scalars())
    for basis, days in DEFAULT_INTERVALS.items():
        if basis not in have:
            session.add(InspectionInterval(basis=basis, days=days))
    session.flush()


def validate_interval(row) -> None:
    if row.basis not in DEFAULT_INTERVALS:
        raise ValidationError(gettext("Unknown basis of the interval."), field="basis")
    if row.days is None or not 1 <= int(row.days) <= 3660:
        raise ValidationError(gettext("The interval must be 1 to 3660 days."), field="days")


def interval(basis: str) -> int:
    from models.post_guarantee import InspectionInterval

    days = _session().execute(select(InspectionInterval.days).where(InspectionInterval.basis == basis)).scalar()
    return int(days if days is not None else DEFAULT_INTERVALS.get(basis, 180))


def risk_class(guarantee_id) -> str:
    from models.post_guarantee import RiskState

    return _session().execute(select(RiskState.risk_class).where(RiskState.guarantee_id == guarantee_id)
                              ).scalar() or "normal"


def _add_days(column, days: int):
    """``column`` + ``days`` days in SQL, on SQLite and PostgreSQL alike."""
    if _session().get_bind().dialect.name == "postgresql":
        return column + literal(int(days), Integer)
    return func.date(column, literal(f"{int(days):+d} days"))


@dayend_step("post.inspections", order=210, label=_l("Schedule post-guarantee inspections"))
def schedule_first_inspections(business_date: date | None = None) -> int:
    """Schedule the first inspection of every guarantee in force that has none (one INSERT … SELECT)."""
    from models.business import Guarantee as G
    from models.post_guarantee import Inspection as I

    ensure_intervals()
    now = datetime.now()
    rows = (select(G.id, literal("first"), _add_days(G.loan_date, interval("first")), literal("scheduled"),
                   literal(now), literal(now))
            .where(G.stage == "in_force", G.status == "active", G.loan_date.is_not(None),
                   ~exists().where(I.guarantee_id == G.id)))
    result = _session().execute(insert(I).from_select(
        ["guarantee_id", "kind", "due_date", "status", "created_at", "updated_at"], rows))
    return max(result.rowcount or 0, 0)


def _locked(inspection_id):
    from models.post_guarantee import Inspection

    item = _session().execute(select(Inspection).where(Inspection.id == inspection_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if item is None:
        raise NotFound(gettext("The inspection does not exist."))
    return item


def report(inspection_id, user_id, *, visit_date: date, risk_signal: str = "none", **sections):
    """The inspection report: site-visit date, the template's sections, the risk signal. Schedules the next
    inspection after the interval of the guarantee's class; a major signal raises a warning at once."""
    from app.services import business_date as bd
    from app.services import warnings
    from models.post_guarantee import Inspection

    item = _locked(inspection_id)
    if item.status != "scheduled":
        raise Conflict(gettext("The inspection is already reported."))
    if not isinstance(visit_date, date):
        raise ValidationError(gettext("Give the date of the site visit."), field="visit_date")
    if visit_date > bd.today():
        raise ValidationError(gettext("The site visit cannot be after the business date."), field="visit_date")
    if risk_signal not in RISK_SIGNALS:
        raise ValidationError(gettext("Unknown risk signal."), field="risk_signal")
    unknown = set(sections) - {name for name, _label in SECTIONS}
    if unknown:
        raise ValidationError(gettext("Unknown report section."))
    if not (sections.get("findings") or "").strip():
        raise ValidationError(gettext("Please describe the findings."), field="findings")
    for name, _label in SECTIONS:
        setattr(item, name, (sections.get(name) or "").strip() or None)
    item.visit_date, item.risk_signal = visit_date, risk_signal
    item.status, item.inspector_id, item.completed_at = "done", user_id, datetime.now()
    guarantee = item.guarantee
    if guarantee.in_force:
        _session().add(Inspection(guarantee_id=item.guarantee_id, kind="periodic", status="scheduled",
                                  due_date=visit_date + timedelta(days=interval(risk_class(item.guarantee_id)))))
    _session().flush()
    if risk_signal == "major":
        warnings.raise_warning("inspection_finding", f"inspection:{item.id}:finding",
                               guarantee_id=item.guarantee_id,
                               message=gettext("%(code)s: the inspection found a major risk: %(findings)s",
                                               code=guarantee.code, findings=item.findings[:200]),
                               level="high")
    return item


def schedule(guarantee_id, due_date: date, user_id=None):
    """An extra inspection by hand (e.g. after a warning)."""
    from models.post_guarantee import Inspection

    from app.services.repayment_plans import _guarantee

    guarantee = _guarantee(guarantee_id)
    if not guarantee.in_force:
        raise ValidationError(gettext("Inspections are scheduled only for guarantees in force."))
    if not isinstance(due_date, date):
        raise ValidationError(gettext("Give the due date."), field="due_date")
    item = Inspection(guarantee_id=guarantee_id, kind="periodic", status="scheduled", due_date=due_date)
    _session().add(item)
    _session().flush()
    return item


def inspections(guarantee_id):
    from models.post_guarantee import Inspection

    return list(_session().execute(select(Inspection).where(Inspection.guarantee_id == guarantee_id)
                                   .order_by(Inspection.due_date, Inspection.id)).scalars())


def latest_signal(guarantee_id) -> str | None:
    from models.post_guarantee import Inspection

    return _session().execute(select(Inspection.risk_signal).where(
        Inspection.guarantee_id == guarantee_id, Inspection.status == "done")
        .order_by(Inspection.visit_date.desc(), Inspection.id.desc()).limit(1)).scalar()
