"""What the post-guarantee module (issue 7) tells the statistics and the workbench (issue 8).

Imported once at view registration (views/ledgers.register): it registers the rates with
app.services.regulatory.register_figure_provider and the to-dos with app.services.workbench.register_todo, so
neither of those modules imports the post-guarantee models (no import cycle).

Rates (company-wide, one aggregate query each; a period without a denominator gives None, shown "—"):

  代偿率 compensation_rate = compensation paid in the period (pst_compensation.paid_amount, paid_on in the period)
         ÷ the loan amount of the guarantees that ended in the period: released (pst_release.released_on in the
         period) or compensated (a compensation paid in the period), each guarantee counted once.
  损失率 loss_rate = losses confirmed in the period ÷ the same denominator; a loss is the compensation still
         outstanding (paid − recovered) when its recovery case is closed in the period, plus the loss on
         foreclosed assets sold in the period (book value − proceeds, when negative gain).
  追偿率 recovery_rate = recovered up to the end of the period (recovery receipts received on or before it, plus
         foreclosed assets taken at book value on or before it) ÷ compensation paid up to the end of the period
         (cumulative, 累计追偿率).

Without dates the period is the year to date of the business date (年度累计).
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, union

from app import permissions as P
from app.services.data_scope import apply_scope

ZERO = Decimal("0.00")


def _session():
    from app.extensions import db

    return db.session


def _period(date_from, date_to) -> tuple[date, date]:
    from app.services import business_date

    date_to = date_to or business_date.today()
    return date_from or date_to.replace(month=1, day=1), date_to


def _ratio(numerator, denominator) -> Decimal | None:
    numerator, denominator = Decimal(numerator or 0), Decimal(denominator or 0)
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def compensation_paid(date_from: date, date_to: date) -> Decimal:
    from models.post_settlement import Compensation

    return Decimal(_session().execute(select(func.coalesce(func.sum(Compensation.paid_amount), 0)).where(
        Compensation.status == "paid", Compensation.paid_on >= date_from, Compensation.paid_on <= date_to))
        .scalar() or 0)


def ended_amount(date_from: date, date_to: date) -> Decimal:
    """Loan amount of the guarantees released or compensated in the period, each once."""
    from models.business import Guarantee
    from models.post_settlement import Compensation, GuaranteeRelease

    ended = union(
        select(GuaranteeRelease.guarantee_id.label("gid")).where(GuaranteeRelease.released_on >= date_from,
                                                                 GuaranteeRelease.released_on <= date_to),
        select(Compensation.guarantee_id.label("gid")).where(Compensation.status == "paid",
                                                             Compensation.paid_on >= date_from,
                                                             Compensation.paid_on <= date_to),
    ).subquery()
    return Decimal(_session().execute(
        select(func.coalesce(func.sum(func.coalesce(Guarantee.loan_amount, Guarantee.amount)), 0))
        .join(ended, ended.c.gid == Guarantee.id)).scalar() or 0)


def losses(date_from: date, date_to: date, customer_ids=None) -> Decimal:
    from models.post_settlement import Compensation, ForeclosedAsset, RecoveryCase

    mine = (lambda column: [column.in_(customer_ids)]) if customer_ids is not None else (lambda column: [])

    written_off = _session().execute(
        select(func.coalesce(func.sum(Compensation.paid_amount - Compensation.recovered_amount), 0))
        .where(Compensation.status == "paid", *mine(Compensation.customer_id), Compensation.id.in_(
            select(RecoveryCase.compensation_id).where(RecoveryCase.status == "closed",
                                                       RecoveryCase.closed_on >= date_from,
                                                       RecoveryCase.closed_on <= date_to)))).scalar()
    disposal = _session().execute(
        select(func.coalesce(func.sum(-ForeclosedAsset.gain_loss), 0))
        .where(ForeclosedAsset.status == "disposed", ForeclosedAsset.gain_loss < 0, *mine(ForeclosedAsset.customer_id),
               ForeclosedAsset.disposed_on >= date_from, ForeclosedAsset.disposed_on <= date_to)).scalar()
    return Decimal(written_off or 0) + Decimal(disposal or 0)


def recovered_through(day: date) -> Decimal:
    from models.post_settlement import ForeclosedAsset, RecoveryReceipt

    receipts = _session().execute(select(func.coalesce(func.sum(RecoveryReceipt.amount), 0))
                                  .where(RecoveryReceipt.received_on <= day)).scalar()
    assets = _session().execute(select(func.coalesce(func.sum(ForeclosedAsset.book_value), 0)).where(
        ForeclosedAsset.compensation_id.isnot(None), ForeclosedAsset.acquired_on <= day)).scalar()
    return Decimal(receipts or 0) + Decimal(assets or 0)


def compensation_rate(date_from=None, date_to=None) -> Decimal | None:
    date_from, date_to = _period(date_from, date_to)
    return _ratio(compensation_paid(date_from, date_to), ended_amount(date_from, date_to))


def loss_rate(date_from=None, date_to=None) -> Decimal | None:
    date_from, date_to = _period(date_from, date_to)
    return _ratio(losses(date_from, date_to), ended_amount(date_from, date_to))


def recovery_rate(date_from=None, date_to=None) -> Decimal | None:
    _start, date_to = _period(date_from, date_to)
    return _ratio(recovered_through(date_to), compensation_paid(date(1900, 1, 1), date_to))


# --- the workbench ---------------------------------------------------------------------------------------

def open_warnings_owned(user) -> int:
    from models.post_guarantee import PostWarning

    return _session().execute(select(func.count()).select_from(PostWarning).where(
        PostWarning.owner_id == user.id, PostWarning.status == "open")).scalar()


def inspections_due(user) -> int:
    """Scheduled inspections due by the business date of the guarantees the user manages."""
    from app.services import business_date
    from models.business import Guarantee
    from models.post_guarantee import Inspection

    return _session().execute(select(func.count()).select_from(Inspection)
                              .join(Guarantee, Guarantee.id == Inspection.guarantee_id)
                              .where(Inspection.status == "scheduled", Inspection.due_date <= business_date.today(),
                                     Guarantee.manager_id == user.id)).scalar()


def recoveries_in(date_from: date, date_to: date) -> tuple[int, Decimal]:
    """For the workbench's date range, in the user's scope: recovery receipts received (count, amount)."""
    from models.business import Guarantee
    from models.post_settlement import RecoveryCase, RecoveryReceipt

    rec = _session().execute(apply_scope(
        select(func.count(RecoveryReceipt.id), func.coalesce(func.sum(RecoveryReceipt.amount), 0))
        .join(RecoveryCase, RecoveryCase.id == RecoveryReceipt.case_id)
        .join(Guarantee, Guarantee.id == RecoveryCase.guarantee_id)
        .where(RecoveryReceipt.received_on >= date_from, RecoveryReceipt.received_on <= date_to), Guarantee)).one()
    return int(rec[0] or 0), Decimal(rec[1] or 0)


def overdue_in(date_from: date, date_to: date) -> tuple[int, Decimal]:
    """Overdue collections in the user's scope: repayment instalments due in the range, before the business
    date and not settled, of guarantees in force (count, amount still unpaid)."""
    from app.services import business_date
    from models.business import Guarantee
    from models.post_guarantee import RepaymentPlanRow

    due_to = min(date_to, business_date.today())
    unpaid = (RepaymentPlanRow.principal + RepaymentPlanRow.interest - RepaymentPlanRow.paid_principal
              - RepaymentPlanRow.paid_interest)
    over = _session().execute(apply_scope(
        select(func.count(RepaymentPlanRow.id), func.coalesce(func.sum(unpaid), 0))
        .join(Guarantee, Guarantee.id == RepaymentPlanRow.guarantee_id)
        .where(RepaymentPlanRow.settled == literal(False), RepaymentPlanRow.effective_due >= date_from,
               RepaymentPlanRow.effective_due < due_to, Guarantee.stage == "in_force",
               Guarantee.status == "active"), Guarantee)).one()
    return int(over[0] or 0), Decimal(over[1] or 0)


def register() -> None:
    """Hook the figures into the regulatory page and the to-dos into the workbench (idempotent: each key is
    registered again in place)."""
    from app.services import regulatory, workbench

    regulatory.register_figure_provider("compensation_rate", _l("Compensation rate"), compensation_rate)
    regulatory.register_figure_provider("loss_rate", _l("Loss rate"), loss_rate)
    regulatory.register_figure_provider("recovery_rate", _l("Recovery rate"), recovery_rate)
    workbench.register_todo("warnings", _l("Warnings owned"), open_warnings_owned,
                            workbench._url("PostWarningView.list", _flt_3_status="open"),
                            lambda sm: sm.has_access(P.can(P.READ), P.POST_WARNING))
    workbench.register_todo("inspections", _l("Inspections due"), inspections_due,
                            workbench._url("InspectionView.list", _flt_3_status="scheduled"),
                            lambda sm: sm.has_access(P.can(P.READ), P.POST_GUARANTEE))
    workbench.register_range_figure("recoveries", _l("Recoveries in the range"),
                                    recoveries_in, workbench._url("RecoveryView.list"),
                                    lambda sm: sm.has_access(P.can(P.READ), P.RECOVERY))
    workbench.register_range_figure("overdue", _l("Overdue collections in the range"),
                                    overdue_in, workbench._url("PostGuaranteeView.list"),
                                    lambda sm: sm.has_access(P.can(P.READ), P.POST_GUARANTEE))
