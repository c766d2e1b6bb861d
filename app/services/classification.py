"""Five-category risk classification of guarantees in force (五级分类, POST-2).

正常 normal / 关注 special / 次级 substandard / 可疑 doubtful / 损失 loss. The rules *suggest* a class from the
days overdue, the open warnings and the latest inspection's risk signal; a person proposes a class (the
suggestion or another with a reason) and the approval engine decides it (kind ``post.classification``).
The approved class is the guarantee's current class (post_risk_state); post_classification is the history.
"""
from __future__ import annotations

from datetime import date

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, NotFound, ValidationError

APPROVAL_KIND = "post.classification"
CLASSES = ("normal", "special", "substandard", "doubtful", "loss")
CLASS_LABELS = {"normal": _l("Normal"), "special": _l("Special mention"), "substandard": _l("Substandard"),
                "doubtful": _l("Doubtful"), "loss": _l("Loss")}
STATUS_LABELS = {"draft": _l("Draft"), "pending": _l("In approval"), "approved": _l("Approved"),
                 "rejected": _l("Rejected")}
# Days overdue from which a class applies (the usual loan-classification thresholds).
OVERDUE_THRESHOLDS = ((361, "loss"), (181, "doubtful"), (91, "substandard"), (1, "special"))
DEFAULT_FLOW = ("五级分类审批", [
    {"name": "风控审查", "mode": "single", "post_code": "RISK", "role": "风控专员"},
    {"name": "部门负责人审批", "mode": "single", "post_code": "DEPT_HEAD", "role": "部门负责人"},
])


def _session():
    from app.extensions import db

    return db.session


def _approval():
    from app.services import approval

    return approval


def class_label(code) -> str:
    return str(CLASS_LABELS.get(code, code or ""))


def status_label(code) -> str:
    return str(STATUS_LABELS.get(code, code or ""))


def _worse(a: str, b: str) -> str:
    return a if CLASSES.index(a) >= CLASSES.index(b) else b


def current_class(guarantee_id) -> str:
    from models.post_guarantee import RiskState

    return _session().execute(select(RiskState.risk_class).where(RiskState.guarantee_id == guarantee_id)
                              ).scalar() or "normal"


def suggest(guarantee_id, business_date: date | None = None) -> tuple[str, list[str]]:
    """(class, reasons) by the rules: days overdue; an open high-level warning is at least 关注; the latest
    inspection's major signal at least 次级, a minor one at least 关注."""
    from app.services import inspections, repayment_plans
    from models.post_guarantee import PostWarning

    days = repayment_plans.overdue_days(guarantee_id, business_date)
    result, reasons = "normal", []
    for threshold, code in OVERDUE_THRESHOLDS:
        if days >= threshold:
            result = code
            reasons.append(gettext("%(days)s days overdue", days=days))
            break
    high = _session().execute(select(func.count()).select_from(PostWarning).where(
        PostWarning.guarantee_id == guarantee_id, PostWarning.open_flag == 1, PostWarning.level == "high")).scalar()
    if high:
        result = _worse(result, "special")
        reasons.append(gettext("%(n)s open high-level warnings", n=high))
    signal = inspections.latest_signal(guarantee_id)
    if signal == "major":
        result = _worse(result, "substandard")
        reasons.append(gettext("the latest inspection found a major risk"))
    elif signal == "minor":
        result = _worse(result, "special")
        reasons.append(gettext("the latest inspection found a minor risk"))
    return result, reasons


REVIEW_RULE = "classification_review"


def detect_class_review(business_date: date, params: dict):
    """Guarantees in force whose days overdue call for a worse class than the approved one: the day-end
    asks the account manager for a proposal (a warning); only the approval engine changes a class."""
    from datetime import timedelta

    from sqlalchemy import String, case, cast, literal

    from models.business import Guarantee as G
    from models.post_guarantee import RepaymentPlanRow as R, RiskState as S

    oldest = (select(R.guarantee_id.label("gid"), func.min(R.effective_due).label("due"))
              .where(R.settled.is_(False), R.effective_due < business_date)
              .group_by(R.guarantee_id).subquery())
    by_days = case(*[(oldest.c.due <= business_date - timedelta(days=threshold), CLASSES.index(code))
                     for threshold, code in OVERDUE_THRESHOLDS], else_=0)
    approved = case(*[(S.risk_class == code, CLASSES.index(code)) for code in CLASSES], else_=0)
    label = case(*[(by_days == CLASSES.index(code), literal(str(CLASS_LABELS[code]))) for code in CLASSES])
    return (select(G.id.label("guarantee_id"), G.customer_id.label("customer_id"),
                   (literal("class:") + cast(G.id, String) + literal(":") + cast(by_days, String)).label("cause_key"),
                   (G.code + literal(" ") + literal(gettext("overdue since")) + literal(" ") + cast(oldest.c.due, String)
                    + literal(" — ") + literal(gettext("propose the five-category class")) + literal(" ")
                    + label).label("message"))
            .join(oldest, oldest.c.gid == G.id)
            .outerjoin(S, S.guarantee_id == G.id)
            .where(G.stage == "in_force", G.status == "active", by_days > approved))


def _register_warning_rule() -> None:
    from app.services import warnings

    warnings.register_rule(REVIEW_RULE, _l("Five-category class to be reviewed"), detect_class_review,
                           default_level="medium", clears_itself=True)


_register_warning_rule()


def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("PostGuaranteeView.page", pk=item.guarantee_id)
    except RuntimeError:
        return f"/postguarantee/page/{item.guarantee_id}"


def approval_attributes(item) -> dict:
    return {"risk_class": item.proposed_class, "downgrade": CLASSES.index(item.proposed_class)
            > CLASSES.index(item.previous_class or "normal"), "amount": item.guarantee.balance}


def on_approval_decided(item, outcome: str, instance=None) -> None:
    """Called by the approval engine inside the deciding transaction."""
    from app.services import business_date as bd
    from models.post_guarantee import RiskState

    if item is None:
        return
    if outcome == "approved":
        state = _session().execute(select(RiskState).where(RiskState.guarantee_id == item.guarantee_id)
                                   .with_for_update()).scalar_one_or_none()
        if state is None:
            state = RiskState(guarantee_id=item.guarantee_id)
            _session().add(state)
        state.risk_class, state.since = item.proposed_class, bd.today()
        item.status, item.decided_on = "approved", bd.today()
    elif outcome == "rejected":
        item.status, item.decided_on = "rejected", bd.today()
    else:  # withdrawn: back to a draft that can be submitted again
        item.status = "draft"


def register_approval_kind() -> None:
    from models.post_guarantee import Classification

    _approval().register_kind(APPROVAL_KIND, label=_l("Five-category classification"), model=Classification,
                              attributes=approval_attributes, on_decided=on_approval_decided, url=approval_url)


register_approval_kind()


def ensure_reference() -> None:
    register_approval_kind()
    _approval().ensure_default_flow(APPROVAL_KIND, *DEFAULT_FLOW)


def propose(guarantee_id, user_id, proposed_class: str | None = None, reason: str = "", submit: bool = True):
    """A proposal (the rules' suggestion when no class is given) submitted to the approval engine. A class other
    than the suggestion needs a reason; one proposal per guarantee at a time."""
    from app.services import business_date as bd
    from app.services.repayment_plans import _guarantee
    from models.post_guarantee import Classification

    guarantee = _guarantee(guarantee_id, lock=True)
    if not guarantee.in_force:
        raise ValidationError(gettext("Only guarantees in force are classified."))
    if _session().execute(select(Classification.id).where(Classification.guarantee_id == guarantee_id,
                                                          Classification.status.in_(("draft", "pending")))
                          ).first() is not None:
        raise Conflict(gettext("The guarantee already has a classification in progress."))
    suggested, reasons = suggest(guarantee_id)
    proposed_class = proposed_class or suggested
    if proposed_class not in CLASSES:
        raise ValidationError(gettext("Unknown risk class."), field="proposed_class")
    reason = (reason or "").strip()
    if proposed_class != suggested and not reason:
        raise ValidationError(gettext("Give the reason for a class other than the suggested one (%(suggested)s).",
                                      suggested=class_label(suggested)), field="reason")
    text = "; ".join([r for r in [reason, "; ".join(reasons)] if r])
    item = Classification(guarantee_id=guarantee_id, previous_class=current_class(guarantee_id),
                          proposed_class=proposed_class, suggested_class=suggested, reason=text or None,
                          status="draft", proposed_on=bd.today())
    _session().add(item)
    _session().flush()
    if submit:
        submit_item(item.id, user_id)
    return item


def submit_item(classification_id, user_id):
    from models.post_guarantee import Classification

    item = _session().get(Classification, classification_id)
    if item is None:
        raise NotFound(gettext("The classification does not exist."))
    if item.status != "draft":
        raise Conflict(gettext("Only a draft classification can be submitted."))
    ensure_reference()
    _approval().submit(APPROVAL_KIND, item, user_id,
                       title=f"{item.guarantee.code} {class_label(item.proposed_class)}")
    item.status = "pending"
    _session().flush()
    return item


def history(guarantee_id):
    from models.post_guarantee import Classification

    return list(_session().execute(select(Classification).where(Classification.guarantee_id == guarantee_id)
                                   .order_by(Classification.id.desc())).scalars())


def ensure_post_reference() -> None:
    """Reference data of post-guarantee management (idempotent, at every start): the classification flow, the
    inspection intervals and one rule row per registered warning rule."""
    from app.services import inspections, warnings

    ensure_reference()
    inspections.ensure_intervals()
    warnings.ensure_rules()


def load_demo_post(seed: int = 2026) -> int:
    """Demo data: a repayment plan for every guarantee in force (every fifth one behind with an instalment), the
    first inspections, and the warnings of the current business date. Returns the plans made."""
    import random
    from decimal import Decimal

    from app.services import business_date as bd
    from app.services import inspections, repayment_plans, warnings
    from models.business import Guarantee
    from models.post_guarantee import RepaymentPlanRow

    ensure_post_reference()
    session = _session()
    rng = random.Random(seed)
    today = bd.today()
    planned = set(session.execute(select(RepaymentPlanRow.guarantee_id).distinct()).scalars())
    made = 0
    for n, g in enumerate(session.execute(select(Guarantee).where(
            Guarantee.stage == "in_force", Guarantee.status == "active", Guarantee.loan_date.is_not(None))
            .order_by(Guarantee.id)).scalars()):
        if g.id in planned:
            continue
        method = rng.choice(("annuity", "equal_principal", "interest_only"))
        rows = repayment_plans.generate_plan(g.id, method, start=g.loan_date, months=g.term_months,
                                             principal=g.loan_amount or g.amount, annual_rate=Decimal("0.0435"))
        behind = n % 5 == 4
        for row in rows:
            if row.effective_due < today and not behind:
                row.paid_principal, row.paid_interest = row.principal, row.interest
                row.settled, row.settled_on = True, row.effective_due
        made += 1
    session.flush()
    inspections.schedule_first_inspections(today)
    warnings.evaluate_rules(today)
    session.commit()
    return made
