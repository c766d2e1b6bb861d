"""Business-data corrections (SYS-10, 业务数据维护 / 数据清理): each by a permitted role, with a reason, audited.

* step_back: undo a wrongly recorded stage step of a guarantee — the guarantee goes back exactly one stage.
  Refused while an approval is open, when the step before is an approval stage (an approval decision is not
  undone by a correction: the approvers decide again only through the engine), for guarantees in force or
  closed, when a contract is already signed (undoing the fee registration) and whenever the ledger has
  already posted money for the guarantee (one of its business events was reviewed into a voucher).
* change_manager: move guarantees (with their contracts) from one account manager to another.
* draft cleanup: applications left in draft for more than N days, previewed, then deleted with their
  child records.

Every correction writes a DataCorrection row (who, when, why, before → after) and a stage-history entry on the
guarantee; the changed rows themselves go to the operation log (app/audit.py). Functions flush; the caller
commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import or_, select

from app.errors import Conflict, NotFound, ValidationError
from models.business import STAGES, FeeReceipt, Guarantee
from models.corrections import DataCorrection

ACTION_LABELS = {"stage_back": _l("Stage step undone"), "manager_change": _l("Account manager changed"),
                 "draft_cleanup": _l("Abandoned drafts deleted")}
# Stages whose step into them may be undone (the step before them is the operator's, not an approval).
APPROVAL_STAGES = ("acceptance", "review", "risk", "committee")
NOT_CORRECTABLE = ("draft", "in_force", "released")
CLEANUP_MIN_DAYS = 7
MAX_CLEANUP = 500  # one clean-up deletes at most this many drafts (the rest at the next run)


def _session():
    from app.extensions import db

    return db.session


def _guarantees():
    from app.services import guarantees

    return guarantees


def register_history_labels() -> None:
    """The guarantee's history shows the correction entries under readable names."""
    labels = _guarantees().ACTION_LABELS
    labels.setdefault("corrected_back", _l("Stage step undone (correction)"))
    labels.setdefault("manager_changed", _l("Account manager changed"))


register_history_labels()


def _reason(value) -> str:
    return _guarantees()._text(value, 500, "reason", gettext("Reason"), required=True)


def _record(action, item, before, after, reason, user_id, details=None) -> DataCorrection:
    row = DataCorrection(action=action, target_type="guarantee", target_id=item.id if item is not None else None,
                         target_code=(item.code if item is not None else None), before=(before or "")[:200],
                         after=(after or "")[:200], reason=reason, details=details, user_id=user_id,
                         at=datetime.now())
    _session().add(row)
    return row


def posted_money(item: Guarantee) -> list:
    """The guarantee's business events that finance has already reviewed into vouchers."""
    from models.ledger import BusinessEvent

    receipt_ids = [str(i) for i in _session().execute(
        select(FeeReceipt.id).where(FeeReceipt.guarantee_id == item.id)).scalars()]
    sources = [(BusinessEvent.source_type == "guarantee") & (BusinessEvent.source_id == str(item.id)),
               BusinessEvent.project_code == item.code]
    if receipt_ids:
        sources.append((BusinessEvent.source_type == "fee_receipt") & BusinessEvent.source_id.in_(receipt_ids))
    return list(_session().execute(select(BusinessEvent).where(
        or_(*sources), BusinessEvent.status == "vouchered").order_by(BusinessEvent.id)).scalars())


def step_back_check(item: Guarantee) -> str | None:
    """Why the last stage step of `item` cannot be undone (None: it can)."""
    g = _guarantees()
    if item.status != "active":
        return gettext("The guarantee %(code)s is %(status)s: nothing more can be done with it.", code=item.code,
                       status=str(g.STATUS_LABELS.get(item.status, item.status)))
    if item.stage in NOT_CORRECTABLE:
        return gettext("A guarantee at the stage \"%(stage)s\" has no step to undo.", stage=g.stage_label(item.stage))
    if item.approval_status == "pending":
        return gettext("The guarantee %(code)s is under approval; wait for the decision.", code=item.code)
    previous = STAGES[STAGES.index(item.stage) - 1]
    if previous in APPROVAL_STAGES:
        return gettext("The step before is the approval \"%(stage)s\"; an approval decision is not undone by a "
                       "correction.", stage=g.stage_label(previous))
    if previous == "fee_registration" and any(c.status == "signed" for c in item.contracts):
        return gettext("Contracts of the guarantee are signed; the fee registration can no longer be undone.")
    posted = posted_money(item)
    if posted:
        return gettext("The ledger has already posted money for this guarantee (voucher of the event "
                       "%(event)s); the step cannot be undone.", event=posted[0].id)
    return None


def step_back(guarantee_id, user_id, reason) -> Guarantee:
    """Undo the last stage step: the guarantee goes back one stage (see the module docstring for the refusals)."""
    g = _guarantees()
    reason = _reason(reason)
    item = g.get(guarantee_id, lock=True)
    refusal = step_back_check(item)
    if refusal:
        raise Conflict(refusal)
    current = item.stage
    previous = STAGES[STAGES.index(current) - 1]
    removed = []
    if previous == "fee_registration":
        # The fee registration drafted and numbered the contracts: they go with it (made again when redone).
        removed = [c.number for c in item.contracts]
        item.contracts.clear()
        item.contract_status = "none"
    if previous == "draft":
        item.submitted_at = None
    g._history(item, "corrected_back", user_id, reason, from_stage=current, to_stage=previous)
    item.stage = previous
    item.stage_changed_at = datetime.now()
    _record("stage_back", item, g.stage_label(current), g.stage_label(previous), reason, user_id,
            {"from": current, "to": previous, **({"contracts_removed": removed} if removed else {})})
    _session().flush()
    return item


def _user(user_id, field):
    from flask_appbuilder.security.sqla.models import User

    uid = _guarantees()._id(user_id, field, gettext("Account manager"))
    user = _session().get(User, uid)
    if user is None or not user.active:
        raise ValidationError(gettext("Choose an active user."), field)
    return user


def change_manager(guarantee_ids, to_user_id, user_id, reason) -> list[Guarantee]:
    """Move guarantees (and so their contracts) to another account manager; the department follows the new
    manager. Guarantees outside the acting user's data scope are not found."""
    g = _guarantees()
    reason = _reason(reason)
    target = _user(to_user_id, "to_user")
    ids = sorted({g._id(i, "guarantees", gettext("Guarantee")) for i in (guarantee_ids or [])})
    if not ids:
        raise ValidationError(gettext("Choose at least one guarantee."), "guarantees")
    department_id = g._department_of(target.id)
    moved = []
    for gid in ids:
        item = g.get(gid, lock=True)
        if item.manager_id == target.id:
            continue
        before = item.manager_id
        item.manager_id, item.owner_id = target.id, target.id
        if department_id is not None:
            item.department_id = department_id
        names = (g._approval()._user_name(before), g._approval()._user_name(target.id))
        g._history(item, "manager_changed", user_id, f"{names[0]} → {names[1]}: {reason}")
        _record("manager_change", item, names[0], names[1], reason, user_id,
                {"from_user_id": before, "to_user_id": target.id})
        moved.append(item)
    if not moved:
        raise ValidationError(gettext("The chosen guarantees already belong to this account manager."), "to_user")
    _session().flush()
    return moved


def guarantees_of_manager(manager_id, limit=200) -> list[Guarantee]:
    """Active guarantees of one account manager within the acting user's data scope (the transfer form)."""
    from app.services.data_scope import apply_scope

    return list(_session().execute(apply_scope(
        select(Guarantee).where(Guarantee.manager_id == manager_id, Guarantee.status == "active")
        .order_by(Guarantee.id.desc()).limit(limit), Guarantee)).scalars())


# --- clean-up of abandoned drafts ----------------------------------------------------------------------------

def _days(value) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(gettext("Enter the number of days as a whole number."), "days") from None
    if not CLEANUP_MIN_DAYS <= days <= 3650:
        raise ValidationError(gettext("The number of days must be between %(low)d and 3650.", low=CLEANUP_MIN_DAYS),
                              "days")
    return days


def abandoned_drafts(days) -> list[Guarantee]:
    """Applications still in draft whose application date is more than `days` days before the business date."""
    from app.services import business_date
    from app.services.data_scope import apply_scope

    cutoff = business_date.today() - timedelta(days=_days(days))
    return list(_session().execute(apply_scope(
        select(Guarantee).where(Guarantee.stage == "draft", Guarantee.status == "active",
                                Guarantee.apply_date < cutoff)
        .order_by(Guarantee.apply_date, Guarantee.id).limit(MAX_CLEANUP), Guarantee)).scalars())


def delete_drafts(days, guarantee_ids, user_id, reason) -> int:
    """Delete the previewed drafts (only those still abandoned drafts now); returns how many went."""
    from app.services import approval

    reason = _reason(reason)
    wanted = {int(i) for i in (guarantee_ids or []) if str(i).isdigit() and len(str(i)) < 10}
    if not wanted:
        raise ValidationError(gettext("Choose the drafts to delete."), "guarantees")
    candidates = {item.id: item for item in abandoned_drafts(days)}
    chosen = [candidates[i] for i in sorted(wanted) if i in candidates]
    if len(chosen) != len(wanted):
        raise Conflict(gettext("Some of the chosen applications are no longer abandoned drafts; preview again."))
    codes = []
    for item in chosen:
        locked = _session().execute(select(Guarantee).where(Guarantee.id == item.id).with_for_update()
                                    .execution_options(populate_existing=True)).scalar()
        if locked is None or locked.stage != "draft" or locked.status != "active":
            raise Conflict(gettext("Some of the chosen applications are no longer abandoned drafts; preview again."))
        if any(approval.instances_for(kind, locked.id) for kind in _guarantees().APPROVAL_KINDS):
            raise Conflict(gettext("The application %(code)s has an approval history; it is not deleted.",
                                   code=locked.code))
        codes.append(locked.code)
        _session().delete(locked)
    _record("draft_cleanup", None, gettext("%(count)d drafts", count=len(codes)), "", reason, user_id,
            {"codes": codes, "days": _days(days)})
    _session().flush()
    return len(codes)


def get_correction(pk) -> DataCorrection:
    row = _session().get(DataCorrection, pk)
    if row is None:
        raise NotFound(gettext("The page or record does not exist."))
    return row
