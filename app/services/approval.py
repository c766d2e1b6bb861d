"""The approval engine (BIZ-8, WB-5, WB-6): one engine for every approvable thing.

A module makes its items approvable with `register_kind(...)`; `submit` matches a flow by the rules of the
kind (smallest priority first) and pins that flow version; `act` approves, rejects, returns or withdraws;
committee steps are decided by a meeting (`open_meeting`, `vote`). Every action locks the instance row
(`with_for_update`) and bumps its `version`, so two approvers pressing the button at once give one result and
one clear Conflict. Four eyes are enforced here: the submitter never acts on the own item, and one person never
acts on two steps of the same item unless the step allows it. Delegation (工作托管): a delegate acts on the
principal's tasks for a range of business dates; the action records both names.

Like the other services this one never commits: the caller (a view, a command, a test) commits or rolls back,
and the kind's `on_decided` runs inside the same transaction.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defaultload

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from models.approval import (
    STEP_MODES, VOTES, ApprovalAction, ApprovalDelegation, ApprovalFlow, ApprovalInstance, ApprovalMessage,
    ApprovalRule, ApprovalStep, ApprovalTask, CommitteeMeeting, CommitteeVote,
)

ACTIONS = ("approve", "reject", "return", "withdraw")
# Actions that count as "acting on a step" for the four-eyes rule and as "an approval has happened".
_STEP_ACTS = ("approve", "reject", "return", "vote_agree", "vote_disagree", "vote_abstain")
_APPROVALS = ("approve", "vote_agree", "vote_disagree", "vote_abstain", "passed")


def _session():
    from app.extensions import db

    return db.session


# --- registry of approvable kinds -------------------------------------------------------------------------

@dataclass
class ApprovableKind:
    kind: str
    label: str
    model: type
    attributes: Callable
    on_decided: Callable
    url: Callable | None


_KINDS: dict[str, ApprovableKind] = {}


def register_kind(kind: str, *, label, model, attributes: Callable, on_decided: Callable,
                  url: Callable | None = None) -> ApprovableKind:
    """Make items of `model` approvable under `kind` (idempotent: registering again replaces the entry)."""
    entry = ApprovableKind(kind, label, model, attributes, on_decided, url)
    _KINDS[kind] = entry
    return entry


def registered_kinds() -> dict[str, ApprovableKind]:
    return dict(_KINDS)


def _kind(kind: str) -> ApprovableKind:
    if kind not in _KINDS:
        raise ValidationError(gettext("Unknown approval kind: %(kind)s", kind=kind))
    return _KINDS[kind]


def kind_label(kind: str) -> str:
    entry = _KINDS.get(kind)
    return str(entry.label) if entry else kind


def item_url(instance: ApprovalInstance) -> str | None:
    entry = _KINDS.get(instance.kind)
    if entry is None or entry.url is None:
        return None
    obj = _session().get(entry.model, instance.object_id)
    return entry.url(obj) if obj is not None else None


def _user_name(user_id) -> str:
    if not user_id:
        return ""
    from flask_appbuilder.security.sqla.models import User

    user = _session().get(User, user_id)
    if user is None:
        return str(user_id)
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username


# --- conditions --------------------------------------------------------------------------------------------

def _codes(text) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip()]


def condition_matches(cond, attrs: dict) -> bool:
    """A rule or step condition against an item's attributes; an empty field matches anything."""
    amount = attrs.get("amount")
    if cond.amount_min is not None or cond.amount_max is not None:
        if amount is None:
            return False
        amount = Decimal(str(amount))
        if cond.amount_min is not None and amount < cond.amount_min:
            return False
        if cond.amount_max is not None and amount > cond.amount_max:
            return False
    products = _codes(cond.product_codes)
    if products and attrs.get("product_code") not in products:
        return False
    grades = _codes(cond.customer_grades)
    if grades and attrs.get("customer_grade") not in grades:
        return False
    if cond.green_channel is not None and bool(attrs.get("green_channel")) != cond.green_channel:
        return False
    return True


def _json_attrs(attrs: dict) -> dict:
    return {k: (str(v) if isinstance(v, (Decimal, date)) else v) for k, v in attrs.items()}


# --- flows: creation, versions, matching ----------------------------------------------------------------

def _decimal(value, field):
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("Not a valid amount."), field=field) from None


def _int(value, field):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(gettext("Not a valid number."), field=field) from None


def _bool_or_none(value):
    if value in (None, "", "any"):
        return None
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _build_step(spec: dict, position: int) -> ApprovalStep:
    """A step from a plain dict (designer JSON, ensure_default_flow); validated by validate_step."""
    from flask_appbuilder.security.sqla.models import Role

    from models.system import ApprovalPost

    cond = {**spec, **(spec.get("condition") or {})}
    post_id = _int(spec.get("post_id"), "post_id")
    if spec.get("post_code"):
        post = _session().execute(select(ApprovalPost).where(ApprovalPost.code == spec["post_code"])).scalar()
        if post is None:
            raise ValidationError(gettext("Unknown approval post: %(code)s", code=spec["post_code"]))
        post_id = post.id
    role_id = _int(spec.get("role_id"), "role_id")
    if spec.get("role"):
        role = _session().execute(select(Role).where(Role.name == spec["role"])).scalar()
        if role is None:
            raise ValidationError(gettext("Unknown role: %(name)s", name=spec["role"]))
        role_id = role.id
    user_ids = [int(u) for u in (spec.get("user_ids") or []) if str(u).strip()]
    mode = spec.get("mode") or "single"
    step = ApprovalStep(
        position=position, name=(spec.get("name") or "").strip(), mode=mode, post_id=post_id, role_id=role_id,
        user_ids=user_ids or None, allow_same_person=bool(spec.get("allow_same_person")),
        amount_min=_decimal(cond.get("amount_min"), "amount_min"),
        amount_max=_decimal(cond.get("amount_max"), "amount_max"),
        product_codes=(cond.get("product_codes") or cond.get("product_code") or None),
        customer_grades=(cond.get("customer_grades") or cond.get("customer_grade") or None),
        green_channel=_bool_or_none(cond.get("green_channel")),
        chair_veto=bool(spec.get("chair_veto")),
    )
    if mode == "committee":
        num, den = spec.get("pass_num"), spec.get("pass_den")
        if spec.get("pass_rule"):
            num, _, den = str(spec["pass_rule"]).partition("/")
        step.quorum = _int(spec.get("quorum"), "quorum") or 3
        step.pass_num = _int(num, "pass_num") or 2
        step.pass_den = _int(den, "pass_den") or 3
    validate_step(step)
    return step


def validate_step(step: ApprovalStep) -> None:
    """The rules of one step (designer, the step screens and ensure_default_flow share them)."""
    if not (step.name or "").strip():
        raise ValidationError(gettext("Every step needs a name."), field="name")
    if step.mode not in STEP_MODES:
        raise ValidationError(gettext("Unknown step kind: %(mode)s", mode=step.mode), field="mode")
    if not (step.post_id or step.post is not None or step.role_id or step.role is not None or step.user_ids):
        raise ValidationError(gettext("The step “%(step)s” needs an approval post, a role or named users.",
                                      step=step.name), field="post")
    if step.amount_min is not None and step.amount_max is not None and step.amount_min > step.amount_max:
        raise ValidationError(gettext("The lowest amount is above the highest amount."), field="amount_min")
    if step.mode == "committee":
        if not step.quorum or step.quorum < 1:
            raise ValidationError(gettext("A committee step needs a quorum of at least one member."), field="quorum")
        if not step.pass_num or not step.pass_den or step.pass_num < 1 or step.pass_num > step.pass_den:
            raise ValidationError(gettext("The pass rule must be a fraction such as 2/3."), field="pass_num")


def validate_rule(rule: ApprovalRule) -> None:
    if rule.amount_min is not None and rule.amount_max is not None and rule.amount_min > rule.amount_max:
        raise ValidationError(gettext("The lowest amount is above the highest amount."), field="amount_min")
    if rule.flow_code and _session().execute(
            select(ApprovalFlow.id).where(ApprovalFlow.code == rule.flow_code).limit(1)).first() is None:
        raise ValidationError(gettext("No flow has the code %(code)s.", code=rule.flow_code), field="flow_code")


def create_flow(kind: str, code: str, name: str, steps: list[dict], description: str | None = None) -> ApprovalFlow:
    """Version 1 of a new flow."""
    code = (code or "").strip()
    if not code:
        raise ValidationError(gettext("The flow needs a code."), field="code")
    if _session().execute(select(ApprovalFlow.id).where(ApprovalFlow.code == code).limit(1)).first():
        raise ValidationError(gettext("A flow with the code %(code)s already exists.", code=code), field="code")
    if not steps:
        raise ValidationError(gettext("A flow needs at least one step."))
    flow = ApprovalFlow(code=code, kind=kind, name=name, version=1, active=True, description=description)
    flow.steps = [_build_step(spec, i + 1) for i, spec in enumerate(steps)]
    _session().add(flow)
    _session().flush()
    return flow


def save_flow_version(flow_id: int, *, name: str, steps: list[dict], description: str | None = None) -> ApprovalFlow:
    """The designer's save: a new version of the flow's code with these steps; the old version stays for the
    instances that started on it and is no longer matched."""
    base = _session().execute(select(ApprovalFlow).where(ApprovalFlow.id == flow_id).with_for_update()).scalar()
    if base is None:
        raise NotFound(gettext("The flow does not exist."))
    if not steps:
        raise ValidationError(gettext("A flow needs at least one step."))
    if not (name or "").strip():
        raise ValidationError(gettext("The flow needs a name."), field="name")
    built = [_build_step(spec, i + 1) for i, spec in enumerate(steps)]
    # Versions of one code are serialised by locking all of them (two admins saving at once).
    versions = _session().execute(select(ApprovalFlow).where(ApprovalFlow.code == base.code)
                                  .with_for_update()).scalars().all()
    for old in versions:
        old.active = False
    flow = ApprovalFlow(code=base.code, kind=base.kind, name=name.strip(), active=True,
                        version=max(v.version for v in versions) + 1,
                        description=description if description is not None else base.description)
    flow.steps = built
    _session().add(flow)
    _session().flush()
    return flow


def step_specs(flow: ApprovalFlow) -> list[dict]:
    """The steps as the designer's JSON."""
    return [{
        "name": s.name, "mode": s.mode, "post_id": s.post_id, "role_id": s.role_id, "user_ids": s.user_ids or [],
        "allow_same_person": s.allow_same_person,
        "amount_min": str(s.amount_min) if s.amount_min is not None else "",
        "amount_max": str(s.amount_max) if s.amount_max is not None else "",
        "product_codes": s.product_codes or "", "customer_grades": s.customer_grades or "",
        "green_channel": "" if s.green_channel is None else ("true" if s.green_channel else "false"),
        "quorum": s.quorum or "", "pass_num": s.pass_num or "", "pass_den": s.pass_den or "",
        "chair_veto": s.chair_veto,
    } for s in flow.steps]


def ensure_default_flow(kind: str, name: str, steps: list[dict]) -> ApprovalFlow:
    """Give `kind` a flow and a catch-all rule when it has none (idempotent; reference data calls it at start)."""
    session = _session()
    has_rule = session.execute(select(ApprovalRule.id).where(ApprovalRule.kind == kind).limit(1)).first()
    existing = session.execute(select(ApprovalFlow).where(ApprovalFlow.kind == kind, ApprovalFlow.active.is_(True))
                               .order_by(ApprovalFlow.id)).scalars().first()
    if has_rule and existing is not None:
        return existing
    flow = existing
    if flow is None:
        code, n = kind, 1
        while session.execute(select(ApprovalFlow.id).where(ApprovalFlow.code == code).limit(1)).first():
            n += 1
            code = f"{kind}-{n}"
        flow = create_flow(kind, code, name, steps)
    if not has_rule:
        session.add(ApprovalRule(kind=kind, name=name, priority=1000, flow_code=flow.code, active=True))
        session.flush()
    return flow


def match_flow(kind: str, attrs: dict) -> ApprovalFlow:
    """The current version of the flow named by the first matching rule of the kind."""
    rules = _session().execute(select(ApprovalRule).where(ApprovalRule.kind == kind, ApprovalRule.active.is_(True))
                               .order_by(ApprovalRule.priority, ApprovalRule.id)).scalars().all()
    for rule in rules:
        if condition_matches(rule, attrs):
            flow = _session().execute(select(ApprovalFlow).where(ApprovalFlow.code == rule.flow_code,
                                                                 ApprovalFlow.active.is_(True))).scalar()
            if flow is not None:
                return flow
    raise ValidationError(gettext("No approval flow applies to this item. Ask the administrator to set up a flow "
                                  "and a matching rule for “%(kind)s”.", kind=kind_label(kind)))


# --- assignees, delegation ------------------------------------------------------------------------------

def candidates(step: ApprovalStep) -> set[int]:
    """Active users named by the step's post, role and user list."""
    from flask_appbuilder.security.sqla.models import User, assoc_user_role

    from models.system import Employee, employee_post

    session = _session()
    ids: set[int] = set()
    if step.post_id:
        ids |= set(session.execute(
            select(Employee.user_id).join(employee_post, employee_post.c.employee_id == Employee.id)
            .where(employee_post.c.post_id == step.post_id, Employee.active.is_(True),
                   Employee.user_id.is_not(None))).scalars())
    if step.role_id:
        ids |= set(session.execute(select(assoc_user_role.c.user_id)
                                   .where(assoc_user_role.c.role_id == step.role_id)).scalars())
    if step.user_ids:
        ids |= {int(u) for u in step.user_ids}
    if not ids:
        return set()
    return set(session.execute(select(User.id).where(User.id.in_(ids), User.active.is_(True))).scalars())


def delegators_of(user_id: int, kind: str | None = None, on: date | None = None) -> list[int]:
    """Users whose approvals `user_id` may do on the business date `on` (default: today's business date)."""
    from app.services import business_date

    on = on or business_date.today()
    query = select(ApprovalDelegation.from_user_id).where(
        ApprovalDelegation.to_user_id == user_id, ApprovalDelegation.active.is_(True),
        ApprovalDelegation.date_from <= on, ApprovalDelegation.date_to >= on)
    if kind is not None:
        query = query.where(or_(ApprovalDelegation.kind.is_(None), ApprovalDelegation.kind == kind))
    return sorted(set(_session().execute(query).scalars()))


def _delegates_of(user_ids, kind: str) -> set[int]:
    from app.services import business_date

    on = business_date.today()
    return set(_session().execute(select(ApprovalDelegation.to_user_id).where(
        ApprovalDelegation.from_user_id.in_(sorted(user_ids)), ApprovalDelegation.active.is_(True),
        ApprovalDelegation.date_from <= on, ApprovalDelegation.date_to >= on,
        or_(ApprovalDelegation.kind.is_(None), ApprovalDelegation.kind == kind))).scalars())


def validate_delegation(d: ApprovalDelegation) -> None:
    if not d.from_user_id and d.from_user is None or not d.to_user_id and d.to_user is None:
        raise ValidationError(gettext("Choose who hands over and who takes over."), field="to_user")
    from_id = d.from_user_id or d.from_user.id
    to_id = d.to_user_id or d.to_user.id
    if from_id == to_id:
        raise ValidationError(gettext("A user cannot delegate to himself."), field="to_user")
    if not d.date_from or not d.date_to:
        raise ValidationError(gettext("Enter the first and the last day."), field="date_from")
    if d.date_to < d.date_from:
        raise ValidationError(gettext("The last day is before the first day."), field="date_to")


def delegate(from_user_id: int, to_user_id: int, date_from: date, date_to: date, kind: str | None = None,
             reason: str | None = None) -> ApprovalDelegation:
    d = ApprovalDelegation(from_user_id=from_user_id, to_user_id=to_user_id, date_from=date_from, date_to=date_to,
                           kind=kind or None, reason=reason, active=True)
    validate_delegation(d)
    _session().add(d)
    _session().flush()
    return d


# --- instances ------------------------------------------------------------------------------------------

def open_instance(kind: str, obj_id: int) -> ApprovalInstance | None:
    return _session().execute(select(ApprovalInstance).where(
        ApprovalInstance.kind == kind, ApprovalInstance.object_id == obj_id, ApprovalInstance.status == "pending")
        .order_by(ApprovalInstance.id.desc())).scalars().first()


def instances_for(kind: str, obj_id: int) -> list[ApprovalInstance]:
    return list(_session().execute(select(ApprovalInstance).where(
        ApprovalInstance.kind == kind, ApprovalInstance.object_id == obj_id).order_by(ApprovalInstance.id)).scalars())


def latest_instance(kind: str, obj_id: int) -> ApprovalInstance | None:
    found = instances_for(kind, obj_id)
    return found[-1] if found else None


def timeline(kind: str, obj_id: int) -> list[ApprovalAction]:
    """Every action on every instance of the item, oldest first."""
    return list(_session().execute(
        select(ApprovalAction).join(ApprovalInstance, ApprovalAction.instance_id == ApprovalInstance.id)
        .where(ApprovalInstance.kind == kind, ApprovalInstance.object_id == obj_id)
        .order_by(ApprovalAction.id)).scalars())


def instance_timeline(instance_id: int) -> list[ApprovalAction]:
    return list(_session().execute(select(ApprovalAction).where(ApprovalAction.instance_id == instance_id)
                                   .order_by(ApprovalAction.id)).scalars())


def _lock(instance_id: int) -> ApprovalInstance:
    # Lock the bare row first, then read it with its relations afresh: once the lock is granted, the new
    # statement sees what the transaction that held the lock committed (PostgreSQL, READ COMMITTED).
    session = _session()
    locked = session.execute(select(ApprovalInstance.id).where(ApprovalInstance.id == instance_id)
                             .with_for_update()).scalar()
    instance = None
    if locked is not None:
        instance = session.execute(select(ApprovalInstance).where(ApprovalInstance.id == instance_id)
                                   .execution_options(populate_existing=True)).scalar()
    if instance is None:
        raise NotFound(gettext("The approval does not exist."))
    return instance


def _steps_of(instance: ApprovalInstance) -> list[ApprovalStep]:
    by_id = {s.id: s for s in instance.flow.steps}
    return [by_id[i] for i in instance.path if i in by_id]


def _record(instance, action, user_id, on_behalf_of=None, comment="", step=None, to_step_id=None):
    step = step if step is not None else instance.current_step
    row = ApprovalAction(instance_id=instance.id, step_id=step.id if step else None,
                         step_name=step.name if step else None, round=instance.round, action=action,
                         acted_by_id=user_id, on_behalf_of_id=on_behalf_of, to_step_id=to_step_id,
                         comment=(comment or "").strip() or None, at=datetime.now())
    _session().add(row)
    return row


def _message(user_ids, instance, title):
    for uid in sorted(set(user_ids)):
        _session().add(ApprovalMessage(user_id=uid, instance_id=instance.id, title=title[:300]))


def _prior_actors(instance: ApprovalInstance, except_step_id: int | None) -> set[int]:
    """Users who acted (themselves or through a delegate) on other steps of this instance."""
    rows = _session().execute(select(ApprovalAction.acted_by_id, ApprovalAction.on_behalf_of_id).where(
        ApprovalAction.instance_id == instance.id, ApprovalAction.action.in_(_STEP_ACTS),
        ApprovalAction.step_id != except_step_id)).all()
    return {uid for row in rows for uid in row if uid}


def _enter_step(instance: ApprovalInstance, step: ApprovalStep, first: bool = False) -> None:
    """Make `step` current: open one task per assignee and tell them."""
    if not first:
        instance.round += 1
    instance.current_step_id = step.id
    instance.current_step = step
    excluded = {instance.submitter_id}
    if not step.allow_same_person:
        excluded |= _prior_actors(instance, step.id)
    assignees = candidates(step) - excluded
    if not assignees:
        raise ValidationError(gettext("No one can approve the step “%(step)s”: it needs approvers other than the "
                                      "submitter and those who acted on other steps of this item.", step=step.name))
    for uid in sorted(assignees):
        _session().add(ApprovalTask(instance_id=instance.id, step_id=step.id, round=instance.round, assignee_id=uid,
                                    status="open", created_at=datetime.now()))
    # The assignees and whoever does their approvals today under a delegation are told.
    told = assignees | _delegates_of(assignees, instance.kind)
    _message(told, instance, gettext("To approve (%(step)s): %(title)s", step=step.name, title=instance.title or ""))
    _notify_waiting(told, instance, step)  # issue 9: the same in the internal messages (and e-mail when on)


def _notify_waiting(user_ids, instance: ApprovalInstance, step: ApprovalStep) -> None:
    from app.services import messages

    _session().flush()  # the instance has its id for the link
    try:
        link = item_url(instance)
    except RuntimeError:  # no request (a batch): the engine's own page of the item
        link = None
    messages.send_notice(user_ids, gettext("Approval waiting: %(title)s", title=instance.title or ""),
                         gettext("%(kind)s “%(title)s” waits for your approval at the step “%(step)s”.",
                                 kind=kind_label(instance.kind), title=instance.title or "", step=step.name),
                         link=link or f"/approval/item/{instance.id}")


def _finish(instance: ApprovalInstance, outcome: str) -> None:
    instance.status = outcome
    instance.finished_at = datetime.now()
    instance.current_step_id = None
    instance.current_step = None
    _close_tasks(instance, "closed")
    entry = _kind(instance.kind)
    obj = _session().get(entry.model, instance.object_id)
    entry.on_decided(obj, outcome, instance)
    labels = {"approved": gettext("approved"), "rejected": gettext("rejected"), "withdrawn": gettext("withdrawn")}
    _message([instance.submitter_id], instance, gettext("%(title)s: %(outcome)s", title=instance.title or "",
                                                         outcome=labels[outcome]))


def _close_tasks(instance, status, keep=None):
    for task in _open_tasks(instance):
        if task is not keep:
            task.status = status


def _open_tasks(instance) -> list[ApprovalTask]:
    return list(_session().execute(select(ApprovalTask).where(
        ApprovalTask.instance_id == instance.id, ApprovalTask.round == instance.round,
        ApprovalTask.status == "open").order_by(ApprovalTask.id)).scalars())


def _advance(instance: ApprovalInstance) -> None:
    steps = _steps_of(instance)
    index = [s.id for s in steps].index(instance.current_step_id)
    if index + 1 < len(steps):
        _enter_step(instance, steps[index + 1])
    else:
        _finish(instance, "approved")


def submit(kind: str, obj, user_id: int, comment: str = "", title: str | None = None) -> ApprovalInstance:
    """Start the approval of `obj`: match the flow, pin its version, open the first applicable step."""
    entry = _kind(kind)
    # Two submits of one item at once: the item's row lock makes the second see the first's instance.
    model = type(obj)
    _session().execute(select(model.id).where(model.id == obj.id).with_for_update()).all()
    if open_instance(kind, obj.id) is not None:
        raise Conflict(gettext("This item is already in approval."))
    attrs = dict(entry.attributes(obj) or {})
    flow = match_flow(kind, attrs)
    path = [s.id for s in flow.steps if condition_matches(s, attrs)]
    if not path:
        raise ValidationError(gettext("No step of the flow “%(flow)s” applies to this item.", flow=flow.name))
    instance = ApprovalInstance(kind=kind, object_id=obj.id, title=(title or str(obj))[:200], flow_id=flow.id,
                                flow=flow, path=path, attributes=_json_attrs(attrs), status="pending", round=1,
                                submitter_id=user_id, submitted_at=datetime.now(), version=1)
    _session().add(instance)
    _session().flush()
    first = next(s for s in flow.steps if s.id == path[0])
    _record(instance, "submit", user_id, comment=comment, step=first)
    _enter_step(instance, first, first=True)
    _session().flush()
    return instance


def _find_task(instance, user_id) -> tuple[ApprovalTask | None, int | None]:
    """The user's open task on the current step, or one of a principal who delegated to the user.
    Returns (task, on_behalf_of)."""
    tasks = _open_tasks(instance)
    for task in tasks:
        if task.assignee_id == user_id:
            return task, None
    principals = set(delegators_of(user_id, instance.kind))
    for task in tasks:
        if task.assignee_id in principals:
            return task, task.assignee_id
    return None, None


def _check_four_eyes(instance, step, people) -> None:
    if instance.submitter_id in people:
        raise Forbidden(gettext("You submitted this item; you cannot approve it."))
    if not step.allow_same_person and people & _prior_actors(instance, step.id):
        raise Forbidden(gettext("You already acted on another step of this item; one person may not act on two "
                                "steps of the same item."))


def _check_open(instance, expected_version):
    if instance.status != "pending":
        raise Conflict(gettext("The approval of this item is already finished."))
    if expected_version not in (None, "") and _int(expected_version, "version") != instance.version:
        raise Conflict(gettext("Someone else has just acted on this item. Reload the page to see its state."))


def _task_or_refuse(instance, user_id):
    task, principal = _find_task(instance, user_id)
    if task is None:
        closed = _session().execute(select(ApprovalTask.id).where(
            ApprovalTask.instance_id == instance.id,  # any round: the step may have moved on meanwhile
            ApprovalTask.assignee_id.in_([user_id, *delegators_of(user_id, instance.kind)]),
            ApprovalTask.status.in_(("closed", "done"))).limit(1)).first()
        if closed:
            raise Conflict(gettext("This step has already been handled. Reload the page to see the item's state."))
        raise Forbidden(gettext("You are not an approver of the current step."))
    return task, principal


def act(instance_id: int, user_id: int, action: str, comment: str = "", to_step: int | None = None,
        expected_version: int | None = None) -> ApprovalInstance:
    """approve | reject | return (to the previous step, or to the earlier step id `to_step`) | withdraw."""
    if action not in ACTIONS:
        raise ValidationError(gettext("Unknown action."))
    instance = _lock(instance_id)
    _check_open(instance, expected_version)
    comment = (comment or "").strip()
    if action == "withdraw":
        return _withdraw(instance, user_id, comment)
    step = instance.current_step
    if action in ("reject", "return") and not comment:
        raise ValidationError(gettext("A comment is required to reject or return."), field="comment")
    _check_four_eyes(instance, step, {user_id})
    if step.mode == "committee":
        raise ValidationError(gettext("A committee step is decided by the members' votes."))
    task, principal = _task_or_refuse(instance, user_id)
    if principal is not None:
        _check_four_eyes(instance, step, {principal})
    target = _return_target(instance, to_step) if action == "return" else None  # validated before any change
    now = datetime.now()
    task.status, task.acted_at, task.acted_by_id, task.result = "done", now, user_id, action
    if action == "approve":
        _record(instance, "approve", user_id, principal, comment)
        if step.mode == "all" and _open_tasks(instance):
            pass  # countersign: the step waits for the other assignees
        else:
            _close_tasks(instance, "closed")
            _advance(instance)
    elif action == "reject":
        _record(instance, "reject", user_id, principal, comment)
        _finish(instance, "rejected")
    else:
        _record(instance, "return", user_id, principal, comment, to_step_id=target.id)
        _close_tasks(instance, "closed")
        _enter_step(instance, target)
    instance.version += 1
    _session().flush()
    return instance


def _return_target(instance, to_step) -> ApprovalStep:
    steps = _steps_of(instance)
    index = [s.id for s in steps].index(instance.current_step_id)
    earlier = steps[:index]
    if not earlier:
        raise ValidationError(gettext("This is the first step; there is no earlier step to return to."))
    if to_step in (None, ""):
        return earlier[-1]
    wanted = _int(to_step, "to_step")
    for s in earlier:
        if s.id == wanted:
            return s
    raise ValidationError(gettext("An item can only be returned to an earlier step."), field="to_step")


def returnable_steps(instance) -> list[ApprovalStep]:
    if instance.status != "pending" or instance.current_step_id is None:
        return []
    steps = _steps_of(instance)
    return steps[:[s.id for s in steps].index(instance.current_step_id)]


def _has_approval(instance) -> bool:
    return _session().execute(select(ApprovalAction.id).where(
        ApprovalAction.instance_id == instance.id, ApprovalAction.action.in_(_APPROVALS)).limit(1)).first() is not None


def _withdraw(instance, user_id, comment):
    if user_id != instance.submitter_id:
        raise Forbidden(gettext("Only the submitter can withdraw the item."))
    if _has_approval(instance):
        raise ValidationError(gettext("The item can no longer be withdrawn: it has been approved at a step."))
    _record(instance, "withdraw", user_id, comment=comment)
    _finish(instance, "withdrawn")
    instance.version += 1
    _session().flush()
    return instance


# --- committee ------------------------------------------------------------------------------------------

def current_meeting(instance) -> CommitteeMeeting | None:
    if instance.current_step_id is None:
        return None
    return _session().execute(select(CommitteeMeeting).where(
        CommitteeMeeting.instance_id == instance.id, CommitteeMeeting.round == instance.round)
        .order_by(CommitteeMeeting.id.desc())).scalars().first()


def meetings_of(instance_id: int) -> list[CommitteeMeeting]:
    return list(_session().execute(select(CommitteeMeeting).where(CommitteeMeeting.instance_id == instance_id)
                                   .order_by(CommitteeMeeting.id)).scalars())


def open_meeting(instance_id: int, user_id: int, meeting_date: date, present_ids, chair_id: int | None = None,
                 expected_version: int | None = None) -> CommitteeMeeting:
    """Hold the committee meeting of the current committee step: who is present (≥ quorum), who chairs."""
    instance = _lock(instance_id)
    _check_open(instance, expected_version)
    step = instance.current_step
    if step.mode != "committee":
        raise ValidationError(gettext("The current step is not a committee step."))
    _check_four_eyes(instance, step, {user_id})
    _task_or_refuse(instance, user_id)
    if current_meeting(instance) is not None:
        raise Conflict(gettext("The meeting of this step is already recorded."))
    if not meeting_date:
        raise ValidationError(gettext("Enter the meeting date."), field="meeting_date")
    members = {t.assignee_id for t in _open_tasks(instance)}
    present = {int(p) for p in present_ids or []}
    if not present <= members:
        raise ValidationError(gettext("Only members of the committee step can be present."), field="present")
    if len(present) < step.quorum:
        raise ValidationError(gettext("No quorum: %(present)d members present, %(quorum)d required.",
                                      present=len(present), quorum=step.quorum), field="present")
    chair_id = int(chair_id) if chair_id not in (None, "") else None
    if chair_id is not None and chair_id not in present:
        raise ValidationError(gettext("The chair must be among the members present."), field="chair")
    meeting = CommitteeMeeting(instance_id=instance.id, step_id=step.id, round=instance.round,
                               meeting_date=meeting_date, chair_id=chair_id, quorum=step.quorum,
                               pass_num=step.pass_num, pass_den=step.pass_den, chair_veto=step.chair_veto,
                               status="open", opened_by_id=user_id, created_at=datetime.now())
    meeting.votes = [CommitteeVote(member_id=m) for m in sorted(present)]
    _session().add(meeting)
    names = "、".join(_user_name(m) for m in sorted(present))
    _record(instance, "meeting", user_id, comment=gettext("Meeting on %(date)s, present: %(names)s",
                                                          date=meeting_date.isoformat(), names=names))
    # Members not present have nothing more to do on this round.
    for task in _open_tasks(instance):
        if task.assignee_id not in present:
            task.status = "closed"
    instance.version += 1
    _session().flush()
    return meeting


def tally(meeting: CommitteeMeeting) -> str:
    """passed | failed | open — the pass rule counts agree votes against the members present."""
    votes = meeting.votes
    if any(v.vote is None for v in votes):
        return "open"
    agree = sum(1 for v in votes if v.vote == "agree")
    if meeting.chair_veto and meeting.chair_id is not None and any(
            v.member_id == meeting.chair_id and v.vote == "disagree" for v in votes):
        return "failed"
    return "passed" if agree * meeting.pass_den >= meeting.pass_num * len(votes) else "failed"


def vote(instance_id: int, user_id: int, choice: str, opinion: str = "",
         expected_version: int | None = None) -> ApprovalInstance:
    """A member's vote (agree / disagree / abstain) with an opinion; the last vote decides the step."""
    if choice not in VOTES:
        raise ValidationError(gettext("Choose agree, disagree or abstain."), field="vote")
    instance = _lock(instance_id)
    _check_open(instance, expected_version)
    step = instance.current_step
    meeting = current_meeting(instance)
    if step.mode != "committee" or meeting is None or meeting.status != "open":
        raise ValidationError(gettext("There is no open committee meeting for this item."))
    opinion = (opinion or "").strip()
    if choice == "disagree" and not opinion:
        raise ValidationError(gettext("Give an opinion when voting against."), field="opinion")
    _check_four_eyes(instance, step, {user_id})
    by_member = {v.member_id: v for v in meeting.votes}
    principal = None
    ballot = by_member.get(user_id)
    if ballot is None:
        for p in delegators_of(user_id, instance.kind):
            if p in by_member and by_member[p].vote is None:
                ballot, principal = by_member[p], p
                break
    if ballot is None:
        raise Forbidden(gettext("Only the members present at the meeting can vote."))
    if principal is not None:
        _check_four_eyes(instance, step, {principal})
    if ballot.vote is not None:
        raise Conflict(gettext("This vote has already been cast."))
    now = datetime.now()
    ballot.vote, ballot.opinion, ballot.voted_at, ballot.acted_by_id = choice, opinion or None, now, user_id
    for task in _open_tasks(instance):
        if task.assignee_id == ballot.member_id:
            task.status, task.acted_at, task.acted_by_id, task.result = "done", now, user_id, "vote"
    _record(instance, f"vote_{choice}", user_id, principal, opinion)
    result = tally(meeting)
    if result != "open":
        meeting.status, meeting.decided_at = result, now
        agree = sum(1 for v in meeting.votes if v.vote == "agree")
        summary = gettext("%(agree)d of %(present)d present agreed (rule %(num)d/%(den)d)", agree=agree,
                          present=len(meeting.votes), num=meeting.pass_num, den=meeting.pass_den)
        _record(instance, result, None, comment=summary)
        if result == "passed":
            _close_tasks(instance, "closed")
            _advance(instance)
        else:
            _finish(instance, "rejected")
    instance.version += 1
    _session().flush()
    return instance


# --- what a user may do (buttons) ----------------------------------------------------------------------

def can_act(instance: ApprovalInstance | None, user_id: int) -> bool:
    """Whether the user has something to do on the current step (approve/reject/return, hold the meeting, vote)."""
    return bool(available_actions(instance, user_id) - {"withdraw"})


def available_actions(instance: ApprovalInstance | None, user_id: int) -> set[str]:
    if instance is None or instance.status != "pending" or not user_id:
        return set()
    actions = set()
    if user_id == instance.submitter_id and not _has_approval(instance):
        actions.add("withdraw")
    step = instance.current_step
    try:
        _check_four_eyes(instance, step, {user_id})
    except Forbidden:
        return actions
    task, principal = _find_task(instance, user_id)
    if principal is not None and (principal == instance.submitter_id or (
            not step.allow_same_person and principal in _prior_actors(instance, step.id))):
        task = None
    if step.mode == "committee":
        meeting = current_meeting(instance)
        if meeting is None:
            if task is not None:
                actions.add("open_meeting")
        elif meeting.status == "open":
            mine = {user_id, *delegators_of(user_id, instance.kind)}
            if any(v.member_id in mine and v.vote is None for v in meeting.votes):
                actions.add("vote")
    elif task is not None:
        actions |= {"approve", "reject"}
        if returnable_steps(instance):
            actions.add("return")
    return actions


def panel(kind: str, obj_id: int, user_id: int | None) -> dict:
    """Everything templates/approval/_panel.html shows for one item."""
    instance = open_instance(kind, obj_id) or latest_instance(kind, obj_id)
    meeting = current_meeting(instance) if instance is not None and instance.status == "pending" else None
    return {
        "instance": instance,
        "steps": _steps_of(instance) if instance is not None else [],
        "actions": available_actions(instance, user_id) if instance is not None else set(),
        "returnable": returnable_steps(instance) if instance is not None else [],
        "meeting": meeting,
        "members": ([t.assignee_id for t in _open_tasks(instance)]
                    if instance is not None and instance.status == "pending" else []),
        "timeline": timeline(kind, obj_id),
        "user_name": _user_name,
        "meetings": meetings_of(instance.id) if instance is not None else [],
    }


def is_involved(instance: ApprovalInstance, user_id: int) -> bool:
    """Submitter, assignee (also through a delegation) or someone who acted on the instance."""
    if instance.submitter_id == user_id:
        return True
    people = [user_id, *delegators_of(user_id, instance.kind)]
    session = _session()
    return bool(session.execute(select(ApprovalTask.id).where(ApprovalTask.instance_id == instance.id,
                                                             ApprovalTask.assignee_id.in_(people)).limit(1)).first()
                or session.execute(select(ApprovalAction.id).where(ApprovalAction.instance_id == instance.id,
                                                                   ApprovalAction.acted_by_id == user_id)
                                   .limit(1)).first())


# --- my items (WB-5), messages ----------------------------------------------------------------------------

def todo(user_id: int, page: int = 0, page_size: int = 20):
    """Open tasks of the user and of those who delegated to the user today; newest first. (rows, total)"""
    from app.services import business_date

    on = business_date.today()
    session = _session()
    handed = session.execute(select(ApprovalDelegation.from_user_id, ApprovalDelegation.kind).where(
        ApprovalDelegation.to_user_id == user_id, ApprovalDelegation.active.is_(True),
        ApprovalDelegation.date_from <= on, ApprovalDelegation.date_to >= on)).all()
    everything = {user_id, *(p for p, kind in handed if not kind)}
    mine = ApprovalTask.assignee_id.in_(sorted(everything))
    per_kind = [(p, kind) for p, kind in handed if kind and p not in everything]
    if per_kind:  # a delegation of one kind brings only that kind's tasks
        kind_of = select(ApprovalInstance.kind).where(ApprovalInstance.id == ApprovalTask.instance_id)
        mine = or_(mine, *[(ApprovalTask.assignee_id == p) & (kind_of.scalar_subquery() == kind)
                           for p, kind in per_kind])
    where = (mine, ApprovalTask.status == "open")
    total = session.execute(select(func.count()).select_from(ApprovalTask).where(*where)).scalar()
    # The list shows the item's title, submitter and step: the instance's flow (with all its steps) and
    # current step are not needed here, so they are not loaded.
    rows = session.execute(select(ApprovalTask).where(*where).order_by(ApprovalTask.id.desc())
                           .options(defaultload(ApprovalTask.instance).lazyload(ApprovalInstance.flow),
                                    defaultload(ApprovalTask.instance).lazyload(ApprovalInstance.current_step))
                           .limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def done(user_id: int, page: int = 0, page_size: int = 20):
    """Actions the user did (also for others under a delegation); newest first. (rows, total)"""
    where = (ApprovalAction.acted_by_id == user_id, ApprovalAction.action != "submit")
    session = _session()
    total = session.execute(select(func.count()).select_from(ApprovalAction).where(*where)).scalar()
    rows = session.execute(select(ApprovalAction).where(*where).order_by(ApprovalAction.id.desc())
                           .options(defaultload(ApprovalAction.instance).lazyload(ApprovalInstance.flow),
                                    defaultload(ApprovalAction.instance).lazyload(ApprovalInstance.current_step))
                           .limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def unread_messages(user_id: int, limit: int = 20):
    where = (ApprovalMessage.user_id == user_id, ApprovalMessage.read_at.is_(None))
    session = _session()
    total = session.execute(select(func.count()).select_from(ApprovalMessage).where(*where)).scalar()
    rows = session.execute(select(ApprovalMessage).where(*where).order_by(ApprovalMessage.id.desc())
                           .limit(limit)).scalars().all()
    return rows, total


def mark_messages_read(user_id: int) -> int:
    rows = _session().execute(select(ApprovalMessage).where(ApprovalMessage.user_id == user_id,
                                                            ApprovalMessage.read_at.is_(None))).scalars().all()
    now = datetime.now()
    for m in rows:
        m.read_at = now
    return len(rows)
