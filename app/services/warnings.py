"""Post-guarantee warnings (保后预警, POST-3 / COL-4): rules in code, configuration in data.

A module registers a rule with a *detector*::

    register_rule("maturity_near", _l("Maturity within N days"), detect_maturity,
                  default_level="medium", default_params={"days": 30})

    def detect_maturity(business_date, params):      # -> a Select of the current causes
        return select(Guarantee.id.label("guarantee_id"), Guarantee.customer_id.label("customer_id"),
                      (literal("maturity:") + cast(Guarantee.id, String)).label("cause_key"),
                      Guarantee.code.label("message")).where(...)

The administrator keeps one ``post_warning_rule`` row per code (level, active, parameters). The engine
evaluates a rule set-based: one INSERT … SELECT per rule adds a warning for every cause that has no open
warning of the same (rule code, cause_key) — never one query per guarantee. Events raise a warning at once
with ``raise_warning``. A warning is acknowledged and resolved with a note; while it is open (or
acknowledged) no second warning is raised for the same cause; the database's unique
(rule_code, cause_key, open_flag) refuses it even under concurrency.

A rule registered with ``clears_itself=True`` (the instalment paid, the inspection reported, the certificate
renewed) has its open warnings resolved by the day-end once the detector no longer finds their cause, with a
note saying so; the others (a black-listing, a downgrade, a finding) stay until a person resolves them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)

LEVELS = ("low", "medium", "high")
LEVEL_LABELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
STATUS_LABELS = {"open": _l("Awaiting handling"), "acknowledged": _l("Acknowledged"), "resolved": _l("Resolved")}


@dataclass
class Rule:
    code: str
    label: object
    detector: Callable | None
    default_level: str = "medium"
    default_params: dict = field(default_factory=dict)
    clears_itself: bool = False


_RULES: dict[str, Rule] = {}


def _session():
    from app.extensions import db

    return db.session


def register_rule(code: str, label, detector, *, default_level: str = "medium",
                  default_params: dict | None = None, clears_itself: bool = False) -> None:
    """Register (or replace) the detector of a rule code. ``detector(business_date, params)`` returns a Select
    with the columns guarantee_id, customer_id, cause_key, message (None: the rule is raised by events only).
    ``clears_itself``: the day-end resolves an open warning whose cause the detector no longer finds."""
    if default_level not in LEVELS:
        raise ValueError(f"unknown warning level {default_level!r}")
    if clears_itself and detector is None:
        raise ValueError(f"rule {code!r} is raised by events only: nothing can find its cause gone")
    _RULES[code] = Rule(code, label, detector, default_level, dict(default_params or {}), clears_itself)


def registered_rules() -> dict[str, Rule]:
    return dict(_RULES)


def rule_label(code: str) -> str:
    rule = _RULES.get(code)
    return str(rule.label) if rule is not None else code


def level_label(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def ensure_rules() -> int:
    """Seed a rule row for every registered code that has none (idempotent; keeps the administrator's edits)."""
    from models.post_guarantee import WarningRule

    session = _session()
    have = set(session.execute(select(WarningRule.code)).scalars())
    added = 0
    for rule in _RULES.values():
        if rule.code not in have:
            session.add(WarningRule(code=rule.code, level=rule.default_level, active=True,
                                    params=dict(rule.default_params)))
            added += 1
    if added:
        session.flush()
    return added


def rule_config(code: str):
    """(active, level, params) for a code: the rule row merged over the registered defaults."""
    from models.post_guarantee import WarningRule

    rule = _RULES.get(code)
    row = _session().execute(select(WarningRule).where(WarningRule.code == code)).scalar_one_or_none()
    defaults = dict(rule.default_params) if rule else {}
    if row is None:
        return True, (rule.default_level if rule else "medium"), defaults
    params = {**defaults, **(row.params or {})}
    return bool(row.active), row.level or (rule.default_level if rule else "medium"), params


def validate_rule_row(row) -> None:
    """Checks of the administrator's edit of a rule row (level known, parameters numbers ≥ 0)."""
    if row.level not in LEVELS:
        raise ValidationError(gettext("Unknown warning level."), field="level")
    params = row.params or {}
    if not isinstance(params, dict):
        raise ValidationError(gettext("The parameters must be a JSON object."), field="params")
    for key, value in params.items():
        try:
            if float(value) < 0:
                raise ValueError
        except (TypeError, ValueError):
            raise ValidationError(gettext("The parameter %(name)s must be a number not below 0.", name=key),
                                  field="params")


def evaluate_rules(business_date: date | None = None, codes: list[str] | None = None) -> dict[str, int]:
    """Run the active rules (all registered, or ``codes``) for the business date; returns warnings raised per
    rule. One INSERT … SELECT per rule, whatever the number of guarantees."""
    from app.services import business_date as bd
    from models.business import Guarantee as G
    from models.customers import Customer as C
    from models.post_guarantee import PostWarning as W

    business_date = business_date or bd.today()
    ensure_rules()
    session = _session()
    if session.get_bind().dialect.name == "postgresql":
        # These statements are cheap but big: the JIT compiler would spend seconds on each (transaction-local).
        from sqlalchemy import text

        session.execute(text("SET LOCAL jit = off"))
    raised: dict[str, int] = {}
    now = datetime.now()
    for code in (codes if codes is not None else sorted(_RULES)):
        rule = _RULES.get(code)
        if rule is None or rule.detector is None:
            continue
        active, level, params = rule_config(code)
        if not active:
            continue
        found = rule.detector(business_date, params).subquery()
        # One row per cause, even if a detector lists a cause twice (the unique index would refuse it).
        causes = (select(found.c.cause_key.label("cause_key"),
                         func.min(found.c.guarantee_id).label("guarantee_id"),
                         func.min(found.c.customer_id).label("customer_id"),
                         func.min(found.c.message).label("message"))
                  .group_by(found.c.cause_key)
                  .where(~exists().where(W.rule_code == code, W.cause_key == found.c.cause_key, W.open_flag == 1))
                  .subquery())
        # Customer and owner by outer joins (not nested scalar subqueries: PostgreSQL would plan those apart).
        customer = func.coalesce(causes.c.customer_id, G.customer_id)
        rows = (select(literal(code), causes.c.cause_key, literal(1), causes.c.guarantee_id, customer,
                       literal(level), func.substr(causes.c.message, 1, 500),
                       func.coalesce(G.manager_id, C.manager_id), literal("open"), literal(business_date),
                       literal(now), literal(now))
                .select_from(causes)
                .outerjoin(G, G.id == causes.c.guarantee_id)
                .outerjoin(C, C.id == customer))
        result = session.execute(
            insert(W).from_select(["rule_code", "cause_key", "open_flag", "guarantee_id", "customer_id", "level",
                                   "message", "owner_id", "status", "raised_on", "created_at", "updated_at"], rows))
        raised[code] = max(result.rowcount or 0, 0)
    session.flush()
    return raised


def clear_vanished_causes(business_date: date | None = None, codes: list[str] | None = None) -> dict[str, int]:
    """Resolve the open (or acknowledged) warnings of the self-clearing rules (all, or ``codes``) whose cause
    the detector no longer finds; returns warnings resolved per rule. One UPDATE per rule."""
    from app.services import business_date as bd
    from models.post_guarantee import PostWarning as W

    business_date = business_date or bd.today()
    session = _session()
    now = datetime.now()
    note = gettext("Resolved by the day-end of %(date)s: the cause no longer holds.", date=business_date.isoformat())
    cleared: dict[str, int] = {}
    for code, rule in sorted(_RULES.items()):
        if codes is not None and code not in codes:
            continue
        active, _level, params = rule_config(code)
        if not (rule.clears_itself and active):
            continue
        found = rule.detector(business_date, params).subquery()
        result = session.execute(
            update(W).where(W.rule_code == code, W.open_flag == 1, ~exists().where(found.c.cause_key == W.cause_key))
            .values(status="resolved", open_flag=None, resolved_at=now, resolve_note=note, updated_at=now)
            .execution_options(synchronize_session=False))
        cleared[code] = max(result.rowcount or 0, 0)
    return cleared


def raise_warning(code: str, cause_key: str, *, guarantee_id=None, customer_id=None, message: str, level=None,
                  owner_id=None, business_date: date | None = None):
    """Raise one warning at once (from an event). Returns None when a warning for the same cause is open or the
    rule is switched off."""
    from app.services import business_date as bd
    from models.business import Guarantee
    from models.customers import Customer
    from models.post_guarantee import PostWarning as W

    session = _session()
    ensure_rules()
    active, rule_level, _params = rule_config(code)
    if not active:
        return None
    if session.execute(select(W.id).where(W.rule_code == code, W.cause_key == cause_key,
                                          W.open_flag == 1)).first() is not None:
        return None
    if customer_id is None and guarantee_id is not None:
        customer_id = session.get(Guarantee, guarantee_id).customer_id
    if owner_id is None:
        if guarantee_id is not None:
            owner_id = session.get(Guarantee, guarantee_id).manager_id
        if owner_id is None and customer_id is not None:
            owner_id = session.get(Customer, customer_id).manager_id
    warning = W(rule_code=code, cause_key=cause_key[:200], open_flag=1, guarantee_id=guarantee_id,
                customer_id=customer_id, level=level or rule_level, message=str(message)[:500], owner_id=owner_id,
                status="open", raised_on=business_date or bd.today())
    try:
        with session.begin_nested():  # a concurrent raise of the same cause loses to the unique index
            session.add(warning)
            session.flush()
    except IntegrityError:
        return None
    return warning


def _locked(warning_id):
    from models.post_guarantee import PostWarning as W

    warning = _session().execute(select(W).where(W.id == warning_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one_or_none()
    if warning is None:
        raise NotFound(gettext("The warning does not exist."))
    return warning


def _note(note) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError(gettext("Please enter a note."), field="note")
    if len(note) > 500:
        raise ValidationError(gettext("The note is too long (at most 500 characters)."), field="note")
    return note


def acknowledge(warning_id, user_id, note):
    """The owner (or a risk officer) has seen the warning and says what is being done."""
    note = _note(note)
    warning = _locked(warning_id)
    if warning.status != "open":
        raise Conflict(gettext("Only an open warning can be acknowledged; this one is %(status)s.",
                               status=status_label(warning.status)))
    warning.status = "acknowledged"
    warning.acknowledged_by_id = user_id
    warning.acknowledged_at = datetime.now()
    warning.ack_note = note
    _session().flush()
    return warning


def resolve(warning_id, user_id, note):
    """Close the warning with a note; a new warning for the same cause may be raised afterwards."""
    note = _note(note)
    warning = _locked(warning_id)
    if warning.status == "resolved":
        raise Conflict(gettext("The warning is already resolved."))
    warning.status = "resolved"
    warning.open_flag = None
    warning.resolved_by_id = user_id
    warning.resolved_at = datetime.now()
    warning.resolve_note = note
    _session().flush()
    return warning


def open_warnings(guarantee_id=None, customer_id=None, code: str | None = None):
    from models.post_guarantee import PostWarning as W

    query = select(W).where(W.open_flag == 1)
    if guarantee_id is not None:
        query = query.where(W.guarantee_id == guarantee_id)
    if customer_id is not None:
        query = query.where(W.customer_id == customer_id)
    if code is not None:
        query = query.where(W.rule_code == code)
    return list(_session().execute(query.order_by(W.id)).scalars())


# --- the post-guarantee module's own rules (h7col registers the collateral ones) -------------------------------

def _in_force(guarantee):
    return (guarantee.stage == "in_force") & (guarantee.status == "active")


def _text(column):
    from sqlalchemy import String, cast

    return cast(column, String)


def detect_maturity_near(business_date: date, params: dict):
    """Guarantees in force whose loan falls due within ``days`` days."""
    from datetime import timedelta

    from models.business import Guarantee as G

    horizon = business_date + timedelta(days=int(params.get("days", 30)))
    return (select(G.id.label("guarantee_id"), G.customer_id.label("customer_id"),
                   (literal("maturity:") + _text(G.id) + literal(":") + _text(G.due_date)).label("cause_key"),
                   (G.code + literal(" ") + literal(gettext("falls due on")) + literal(" ")
                    + _text(G.due_date)).label("message"))
            .where(_in_force(G), G.due_date.is_not(None), G.due_date >= business_date, G.due_date <= horizon))


def detect_repayment_overdue(business_date: date, params: dict):
    """Guarantees in force with an instalment unpaid more than ``days`` days after its (working-day) due date;
    the cause is the oldest unpaid instalment, so a later instalment falling overdue is a new cause."""
    from datetime import timedelta

    from models.business import Guarantee as G
    from models.post_guarantee import RepaymentPlanRow as R

    limit = business_date - timedelta(days=int(params.get("days", 0)))
    oldest = (select(R.guarantee_id.label("gid"), func.min(R.effective_due).label("due"))
              .where(R.settled.is_(False), R.effective_due < limit)
              .group_by(R.guarantee_id).subquery())
    return (select(G.id.label("guarantee_id"), G.customer_id.label("customer_id"),
                   (literal("overdue:") + _text(G.id) + literal(":") + _text(oldest.c.due)).label("cause_key"),
                   (G.code + literal(" ") + literal(gettext("repayment overdue since")) + literal(" ")
                    + _text(oldest.c.due)).label("message"))
            .join(oldest, oldest.c.gid == G.id).where(_in_force(G)))


def detect_inspection_overdue(business_date: date, params: dict):
    """Scheduled inspections not reported ``days`` days after their due date."""
    from datetime import timedelta

    from models.business import Guarantee as G
    from models.post_guarantee import Inspection as I

    limit = business_date - timedelta(days=int(params.get("days", 0)))
    return (select(G.id.label("guarantee_id"), G.customer_id.label("customer_id"),
                   (literal("inspection:") + _text(I.id)).label("cause_key"),
                   (G.code + literal(" ") + literal(gettext("inspection due on")) + literal(" ")
                    + _text(I.due_date) + literal(" ") + literal(gettext("is not reported"))).label("message"))
            .join(I, I.guarantee_id == G.id)
            .where(I.status == "scheduled", I.due_date < limit, _in_force(G)))


def _no_id():
    from sqlalchemy import Integer, cast, null

    return cast(null(), Integer)  # typed, so PostgreSQL does not take the NULL column of a UNION for text


def _has_guarantee_in_force(customer_col):
    from models.business import Guarantee as G

    return exists().where(G.customer_id == customer_col, _in_force(G))


def detect_customer_blacklisted(business_date: date, params: dict):
    """Customers with guarantees in force on the black list, or with a major event within ``days`` days."""
    from datetime import timedelta

    from models.customer_records import MajorEvent, WatchEntry
    from models.customers import Customer as C
    from sqlalchemy import union_all

    blacklisted = (select(_no_id().label("guarantee_id"), C.id.label("customer_id"),
                          (literal("blacklist:") + _text(WatchEntry.id)).label("cause_key"),
                          (C.name + literal(" ") + literal(gettext("is on the black list:")) + literal(" ")
                           + WatchEntry.reason).label("message"))
                   .join(WatchEntry, WatchEntry.customer_id == C.id)
                   .where(WatchEntry.list_kind == "blacklist", WatchEntry.active.is_(True),
                          _has_guarantee_in_force(C.id)))
    since = business_date - timedelta(days=int(params.get("days", 30)))
    events = (select(_no_id().label("guarantee_id"), C.id.label("customer_id"),
                     (literal("major_event:") + _text(MajorEvent.id)).label("cause_key"),
                     (C.name + literal(" ") + literal(gettext("major event:")) + literal(" ")
                      + func.substr(MajorEvent.description, 1, 200)).label("message"))
              .join(MajorEvent, MajorEvent.customer_id == C.id)
              .where(MajorEvent.event_date >= since, MajorEvent.event_date <= business_date,
                     _has_guarantee_in_force(C.id)))
    return union_all(blacklisted, events)


def detect_grade_downgraded(business_date: date, params: dict):
    """Customers with guarantees in force whose current rating scores lower, with another grade, than the
    approved rating before it."""
    from sqlalchemy.orm import aliased

    from models.rating import Rating

    previous = aliased(Rating)
    prev_score = (select(previous.score).where(previous.customer_id == Rating.customer_id,
                                               previous.status == "approved", previous.id < Rating.id)
                  .order_by(previous.id.desc()).limit(1).scalar_subquery())
    prev_grade = (select(previous.grade).where(previous.customer_id == Rating.customer_id,
                                               previous.status == "approved", previous.id < Rating.id)
                  .order_by(previous.id.desc()).limit(1).scalar_subquery())
    return (select(_no_id().label("guarantee_id"), Rating.customer_id.label("customer_id"),
                   (literal("grade:") + _text(Rating.id)).label("cause_key"),
                   (literal(gettext("Rating grade downgraded from")) + literal(" ") + prev_grade + literal(" → ")
                    + Rating.grade).label("message"))
            .where(Rating.is_current.is_(True), Rating.status == "approved", prev_score > Rating.score,
                   prev_grade != Rating.grade, _has_guarantee_in_force(Rating.customer_id)))


RULE_LABELS = {
    "maturity_near": _l("Maturity within N days"),
    "repayment_overdue": _l("Repayment overdue"),
    "inspection_overdue": _l("Inspection overdue"),
    "customer_blacklisted": _l("Customer blacklisted or a major adverse event"),
    "grade_downgraded": _l("Rating grade downgraded"),
    "inspection_finding": _l("Major risk found by an inspection"),
}

register_rule("maturity_near", RULE_LABELS["maturity_near"], detect_maturity_near, default_level="low",
              default_params={"days": 30}, clears_itself=True)
register_rule("repayment_overdue", RULE_LABELS["repayment_overdue"], detect_repayment_overdue,
              default_level="high", default_params={"days": 0}, clears_itself=True)
register_rule("inspection_overdue", RULE_LABELS["inspection_overdue"], detect_inspection_overdue,
              default_level="medium", default_params={"days": 0}, clears_itself=True)
register_rule("customer_blacklisted", RULE_LABELS["customer_blacklisted"], detect_customer_blacklisted,
              default_level="high", default_params={"days": 30})
register_rule("grade_downgraded", RULE_LABELS["grade_downgraded"], detect_grade_downgraded,
              default_level="medium")
register_rule("inspection_finding", RULE_LABELS["inspection_finding"], None, default_level="high")  # events only


def _register_dayend():
    from app.services.dayend import dayend_step

    @dayend_step("post.warnings", order=250, label=_l("Raise post-guarantee warnings"))
    def raise_dayend_warnings(business_date) -> int:
        """Every active rule over the whole portfolio: one UPDATE (causes gone) and one INSERT … SELECT per rule."""
        cleared = clear_vanished_causes(business_date)
        return sum(cleared.values()) + sum(evaluate_rules(business_date).values())


_register_dayend()


# --- raised at once by the events that cause them -------------------------------------------------------------
# A customer put on the black list, a major event recorded, a rating approved: the modules that own those records
# know nothing of warnings, so a session hook notes which rules such a flush concerns, and the commit evaluates
# those rules (set-based, as the day-end does) before it completes. A failure here is logged and left to the
# day-end batch; it never undoes the user's own change.
_EVENT_RULES = {"cus_watch_entry": "customer_blacklisted", "cus_major_event": "customer_blacklisted",
                "rat_rating": "grade_downgraded"}


def _note_events(session, _flush_context):
    codes = session.info.setdefault("post_warning_codes", set())
    for obj in list(session.new) + list(session.dirty):
        code = _EVENT_RULES.get(getattr(obj, "__tablename__", None))
        if code is not None:
            codes.add(code)


def _evaluate_events(session):
    codes = session.info.pop("post_warning_codes", None)
    if not codes or not any(code in _RULES for code in codes):
        return
    from flask import has_app_context

    if not has_app_context():
        return
    from app.extensions import db

    if session is not db.session():  # another session (a script's own): the day-end batch covers it
        return
    try:
        with session.begin_nested():
            evaluate_rules(None, sorted(codes))
    except Exception:  # noqa: BLE001 — the day-end batch raises the warning if this did not
        log.exception("warnings at once for %s failed", sorted(codes))


def _install_event_hooks():
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_flush", _note_events):
        event.listen(Session, "after_flush", _note_events)
        event.listen(Session, "before_commit", _evaluate_events)


_install_event_hooks()
