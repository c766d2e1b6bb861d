"""Regulatory checks of a guarantee application (BIZ-15), at submission and before the committee.

Checks (each a warning or a hard stop, limits and modes in system settings "compliance_*"):
  single_customer  the customer's guarantees, with this one, ≤ ratio (10 %) × net assets
  related_group    the customer and its related parties (app/services/relations.related_customer_ids),
                   with this one, ≤ ratio (15 %) × net assets
  leverage         the company's total guarantee liability, with this one, ≤ multiple (10×, at most 15×)
                   × net assets
  bank_line        the bank's line has room (app/services/banks.check_line: validity, single-loan cap, line)
  blacklist        the customer is not blacklisted
  credit_limit     the customer's credit limits are not exceeded (CREDIT_LIMIT_SOURCES; today the limits of
                   the customer's joint-guarantee group; the rating module adds its credit lines there)
A customer's "guarantees" follow the line-usage rule of app/services/banks.py: the balance of guarantees in
force plus the amount of applications past acceptance; the application under check is counted with its
own amount (and never twice). Net assets: the setting, or (setting compliance_net_assets_from_ledger) the
owners' equity of the latest closed ledger period when there is one.
"""
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import ValidationError
from app.services import banks, credit_limits, settings
from app.services.products import money, percent

ZERO = Decimal("0.00")
CHECK_LABELS = {
    "blacklist": _l("Customer not blacklisted"),
    "single_customer": _l("Single-customer concentration"),
    "related_group": _l("Related-party concentration"),
    "leverage": _l("Leverage (guarantee liability / net assets)"),
    "bank_line": _l("Bank credit line"),
    "credit_limit": _l("Customer credit limit"),
}
STOP_SETTINGS = {code: f"compliance_stop_{code}" for code in CHECK_LABELS}
SEVERITIES = {"stop": _l("Hard stop"), "warning": _l("Warning")}


@dataclass
class CheckResult:
    code: str
    label: str
    figure: Decimal | None  # what the application would bring the measure to
    limit: Decimal | None  # what the rule allows
    ok: bool
    severity: str  # "stop" | "warning": what a failure means (from the settings)
    message: str = ""  # the figures in words

    @property
    def blocking(self) -> bool:
        return not self.ok and self.severity == "stop"

    @property
    def figure_text(self) -> str:
        return money(self.figure) if self.figure is not None else ""

    @property
    def limit_text(self) -> str:
        return money(self.limit) if self.limit is not None else ""

    @property
    def outcome_label(self) -> str:
        if self.ok:
            return gettext("Passed")
        return gettext("Hard stop") if self.severity == "stop" else gettext("Warning")


def _session():
    from app.extensions import db

    return db.session


def _today():
    from app.services import business_date

    return business_date.today()


# --- figures ---------------------------------------------------------------------------------------------

def ledger_equity():
    """(period "2026-10", owners' equity) of the latest closed ledger period, or None when no period is closed
    or the balance sheet has no line "所有者权益合计"."""
    from app.services import ledger_books
    from models.ledger import Period

    period = _session().execute(select(Period).where(Period.status == "closed")
                                .order_by(Period.year.desc(), Period.month.desc()).limit(1)).scalar()
    if period is None:
        return None
    sheet = ledger_books.balance_sheet((period.year, period.month))
    for line in sheet["lines"]:
        if line.name.strip() == "所有者权益合计":
            return sheet["period"], Decimal(line.values[0]).quantize(ZERO)
    return None


def net_assets() -> tuple[Decimal, str]:
    """(net assets, where the figure comes from) for the ratio checks."""
    if settings.get("compliance_net_assets_from_ledger"):
        equity = ledger_equity()
        if equity is not None:
            return equity[1], gettext("owners' equity of the ledger, period %(period)s", period=equity[0])
    return Decimal(settings.get("compliance_net_assets")).quantize(ZERO), gettext("system setting")


def exposure(customer_ids=None, exclude_guarantee_id=None) -> Decimal:
    """The guarantees of the given customers (all customers when None) by the line-usage rule."""
    Guarantee = banks.guarantee_model()
    query = select(func.coalesce(func.sum(banks.committed_amount_column(Guarantee)), 0)).where(
        *banks.committed_conditions(Guarantee, exclude_guarantee_id))
    if customer_ids is not None:
        customer_ids = list(customer_ids)
        if not customer_ids:
            return ZERO
        query = query.where(Guarantee.customer_id.in_(customer_ids))
    return Decimal(_session().execute(query).scalar() or 0).quantize(ZERO)


def _joint_group_limits(customer_id, amount, exclude_guarantee_id):
    """The limits of the customer's active joint-guarantee group (联保体): member limit and group limit."""
    from models.customer_records import GuaranteeGroup, GuaranteeGroupMember

    member = _session().execute(
        select(GuaranteeGroupMember).join(GuaranteeGroup, GuaranteeGroupMember.group_id == GuaranteeGroup.id)
        .where(GuaranteeGroupMember.customer_id == customer_id, GuaranteeGroupMember.active.is_(True),
               GuaranteeGroup.status == "active")).scalar()
    if member is None:
        return []
    group = member.group
    limits = []
    if group.member_limit is not None:
        used = exposure([customer_id], exclude_guarantee_id) + amount
        limits.append((gettext("member limit of the joint-guarantee group %(group)s", group=group.name), used,
                       Decimal(group.member_limit)))
    member_ids = list(_session().execute(select(GuaranteeGroupMember.customer_id).where(
        GuaranteeGroupMember.group_id == group.id, GuaranteeGroupMember.active.is_(True))).scalars())
    used = exposure(member_ids, exclude_guarantee_id) + amount
    limits.append((gettext("limit of the joint-guarantee group %(group)s", group=group.name), used,
                   Decimal(group.group_limit)))
    return limits


# Sources of a customer's credit limits: f(customer_id, amount, exclude_guarantee_id) -> [(name, used, limit)]
# where `used` already includes `amount`. Modules with credit lines (ratings, issue RAT-3) append theirs.
CREDIT_LIMIT_SOURCES = [_joint_group_limits, credit_limits.compliance_limits]  # + granted limits (RAT-3)


# --- the checks --------------------------------------------------------------------------------------------

def _severity(code) -> str:
    return "stop" if settings.get(STOP_SETTINGS[code]) else "warning"


def _result(code, figure, limit, ok, message) -> CheckResult:
    return CheckResult(code, str(CHECK_LABELS[code]), figure, limit, ok, _severity(code), message)


def _ratio_check(code, customer_ids, amount, exclude_id, ratio_key, assets, source, subject):
    ratio = Decimal(settings.get(ratio_key))
    limit = (assets * ratio).quantize(ZERO)
    figure = exposure(customer_ids, exclude_id) + amount
    ok = figure <= limit
    message = gettext("%(subject)s with this application: %(figure)s; limit %(limit)s (%(ratio)s of net assets "
                      "%(assets)s, %(source)s).", subject=subject, figure=money(figure), limit=money(limit),
                      ratio=percent(ratio), assets=money(assets), source=source)
    return _result(code, figure, limit, ok, message)


def evaluate(guarantee, stage: str = "submission") -> list[CheckResult]:
    """Every regulatory check of `guarantee` (an application: customer, bank, amount), with its figures.
    `stage` names the moment (submission, committee …); the checks are the same at each."""
    from app.services.relations import related_customer_ids
    from models.customers import Customer
    from models.products import CooperatingBank

    session = _session()
    with session.no_autoflush:
        customer = getattr(guarantee, "customer", None) or session.get(Customer, guarantee.customer_id)
        bank = getattr(guarantee, "bank", None)
        if bank is None and getattr(guarantee, "bank_id", None) is not None:
            bank = session.get(CooperatingBank, guarantee.bank_id)
        amount = Decimal(guarantee.amount or 0)
        exclude_id = getattr(guarantee, "id", None)
        assets, source = net_assets()
        results = []

        results.append(_result(
            "blacklist", None, None, not customer.blacklisted,
            gettext("%(customer)s is on the blacklist.", customer=customer.name) if customer.blacklisted
            else gettext("%(customer)s is not on the blacklist.", customer=customer.name)))

        results.append(_ratio_check("single_customer", [customer.id], amount, exclude_id,
                                    "compliance_single_customer_ratio", assets, source,
                                    gettext("Guarantees of %(customer)s", customer=customer.name)))
        related = sorted(related_customer_ids(customer.id))
        subject = (gettext("Guarantees of %(customer)s and %(count)s related parties", customer=customer.name,
                           count=len(related)) if related
                   else gettext("Guarantees of %(customer)s (no related parties recorded)", customer=customer.name))
        results.append(_ratio_check("related_group", [customer.id, *related], amount, exclude_id,
                                    "compliance_related_group_ratio", assets, source, subject))

        multiple = Decimal(settings.get("compliance_leverage_multiple"))
        limit = (assets * multiple).quantize(ZERO)
        figure = exposure(None, exclude_id) + amount
        results.append(_result("leverage", figure, limit, figure <= limit, gettext(
            "Total guarantee liability with this application: %(figure)s; limit %(limit)s (%(multiple)s times net "
            "assets %(assets)s, %(source)s).", figure=money(figure), limit=money(limit),
            multiple=format(multiple.normalize(), "f"), assets=money(assets), source=source)))

        if bank is None:
            results.append(_result("bank_line", None, None, False, gettext("No cooperating bank is chosen.")))
        else:
            usage = banks.line_usage(bank, exclude_id)
            try:
                banks.check_line(bank, amount, exclude_guarantee_id=exclude_id)
            except ValidationError as refusal:
                # the figures of the rule that refused: validity (none), single-loan cap, or the line
                if not banks.is_valid_on(bank, _today()):
                    figure, limit = None, None
                elif amount > bank.single_cap:
                    figure, limit = amount, Decimal(bank.single_cap)
                else:
                    figure, limit = usage["used"] + amount, usage["total"]
                results.append(_result("bank_line", figure, limit, False, refusal.message))
            else:
                results.append(_result("bank_line", usage["used"] + amount, usage["total"], True, gettext(
                    "Line of %(bank)s: total %(total)s, used %(used)s, available %(available)s, requested "
                    "%(amount)s.", bank=bank.name, total=money(usage["total"]), used=money(usage["used"]),
                    available=money(usage["available"]), amount=money(amount))))

        limits = [entry for source_fn in CREDIT_LIMIT_SOURCES
                  for entry in source_fn(customer.id, amount, exclude_id)]
        if not limits:
            results.append(_result("credit_limit", None, None, True,
                                   gettext("No credit limit applies to %(customer)s.", customer=customer.name)))
        else:
            over = [entry for entry in limits if entry[1] > entry[2]]
            name, used, limit = (over or limits)[0]
            results.append(_result("credit_limit", used, limit, not over, gettext(
                "Used with this application: %(used)s; %(name)s: %(limit)s.", used=money(used), name=name,
                limit=money(limit))))
    return results


def enforce(guarantee, stage: str = "submission") -> list[CheckResult]:
    """evaluate(), and refuse (ValidationError listing every hard stop with its figures) when a hard-stop
    check fails. Warnings do not refuse: the caller shows them with the results."""
    results = evaluate(guarantee, stage)
    stops = [r for r in results if r.blocking]
    if stops:
        raise ValidationError(gettext("The regulatory checks stop this application: %(reasons)s",
                                      reasons=" ".join(f"[{r.label}] {r.message}" for r in stops)), "amount")
    return results
