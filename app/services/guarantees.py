"""The guarantee business from application to in force (BIZ-3..7, BIZ-9..12).

Every function here is one business operation: it locks the guarantee row (SELECT … FOR UPDATE), checks
that the guarantee is active and at the stage the operation belongs to, does the work, records the
move in the stage history and leaves the commit to the caller (screen, API, test, demo loader). So the
screens, the REST API and a hand-made POST all meet the same checks, and two clerks pressing the same
button at once get one success and one clear refusal.

Stages (models/business.STAGES) only ever move forward by one, in `_advance`; the approval stages
(acceptance, review, risk, committee) move only in `on_approval_decided`, which the approval engine
(app/services/approval.py) calls inside the transaction of the deciding action.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import Conflict, NotFound, ValidationError
from app.services import fees
from models.business import (
    STAGES, CounterMeasure, FeePlanItem, FeeReceipt, FeeScheduleRow, Guarantee, GuaranteeContract, StageDocument,
    StageHistory,
)

STAGE_LABELS = {
    "draft": _l("Application"), "investigation": _l("Due-diligence report"), "acceptance": _l("Acceptance approval"),
    "intention": _l("Intention letter"), "review": _l("Review approval"), "risk": _l("Risk assessment"),
    "committee": _l("Committee resolution"), "confirmation": _l("Confirmation letter"),
    "fee_registration": _l("Fee registration"), "contract": _l("Contract signing"),
    "fee_collection": _l("Fee collection"), "loan_notice": _l("Loan notice"),
    "loan_confirmation": _l("Loan confirmation"), "in_force": _l("In force"), "released": _l("Released"),
}
STATUS_LABELS = {"active": _l("Normal"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
                 "released": _l("Released")}
APPROVAL_STATUS_LABELS = {"none": _l("Not submitted"), "pending": _l("Under approval"), "approved": _l("Approved"),
                          "rejected": _l("Rejected")}
CONTRACT_STATUS_LABELS = {"none": _l("No contract yet"), "draft": _l("Drafted"), "reviewed": _l("Reviewed"),
                          "signed": _l("Signed")}
# Fee types, bases and collection frequencies come from app/services/fees.py: one vocabulary for plan and schedule.
FEE_TYPES, FEE_BASES, FREQUENCIES = fees.FEE_TYPES, fees.BASES, fees.FREQUENCIES
REPAYMENT_METHODS = {"lump_sum": _l("Principal at maturity"), "equal_instalments": _l("Equal instalments"),
                     "equal_principal": _l("Equal principal"), "interest_first": _l("Interest monthly, principal at maturity"),
                     "other": _l("Other")}
PAYMENT_METHODS = {"transfer": _l("Bank transfer"), "cash": _l("Cash"), "cheque": _l("Cheque"), "other": _l("Other")}
CONTRACT_KINDS = {"guarantee": _l("Guarantee contract"), "counter": _l("Counter-guarantee contract")}
# Measures that are a contract of their own; a credit (信用) counter-guarantee is the customer's promise only.
CONTRACT_MEASURES = ("pledge", "mortgage", "surety", "lien", "deposit")
REGISTERED_MEASURES = ("pledge", "mortgage")  # rights registered with the registry before the loan

# The approval engine's kinds: the stage the approval belongs to.
APPROVAL_KINDS = {
    "guarantee.acceptance": "acceptance", "guarantee.review": "review", "guarantee.risk": "risk",
    "guarantee.committee": "committee",
}
KIND_OF_STAGE = {stage: kind for kind, stage in APPROVAL_KINDS.items()}
APPROVAL_KIND_LABELS = {
    "guarantee.acceptance": _l("Guarantee acceptance approval"), "guarantee.review": _l("Guarantee review approval"),
    "guarantee.risk": _l("Guarantee risk approval"), "guarantee.committee": _l("Guarantee committee resolution"),
}

# Form fields of the two reports (stored in StageDocument.content). Required ones first.
INVESTIGATION_FIELDS = {
    "company_overview": _l("Basic situation of the applicant"),
    "operations": _l("Operations"),
    "financial_analysis": _l("Financial analysis"),
    "credit_record": _l("Credit record"),
    "repayment_source": _l("Use of the loan and source of repayment"),
    "counter_assessment": _l("Assessment of the counter-guarantee"),
    "risks": _l("Main risks"),
    "conclusion": _l("Conclusion of the investigation"),
}
INVESTIGATION_REQUIRED = ("financial_analysis", "repayment_source", "conclusion")
RISK_FIELDS = {
    "risk_points": _l("Risk points"),
    "mitigation": _l("Risk control measures"),
    "risk_level": _l("Risk level"),
    "opinion": _l("Risk control opinion"),
}
RISK_REQUIRED = ("risk_points", "mitigation", "risk_level", "opinion")
RISK_LEVELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
RECOMMENDATIONS = {"recommend": _l("Recommend"), "not_recommend": _l("Do not recommend")}

# Document types (app/services/documents.py) and the stage from which each one can be downloaded.
DOCUMENT_STAGES = {
    "intention_letter": "review", "committee_resolution": "confirmation", "confirmation_letter": "fee_registration",
    "guarantee_contract": "contract", "counter_contract": "contract", "loan_notice": "loan_confirmation",
}
DOCUMENT_LABELS = {
    "intention_letter": _l("Intention letter"), "committee_resolution": _l("Company resolution"),
    "confirmation_letter": _l("Confirmation letter"), "guarantee_contract": _l("Guarantee contract"),
    "counter_contract": _l("Counter-guarantee contract"), "loan_notice": _l("Loan notice"),
    "investigation_report": _l("Due-diligence report"), "risk_report": _l("Risk assessment report"),
}
# Numbering rules this module uses (kind, name, prefix, date part, width); seeded by ensure_reference().
NUMBERING_RULES = [
    ("guarantee", "担保业务编号", "DB", "yyyymm", 4),
    ("counter_contract", "反担保合同编号", "FDB", "yyyy", 5),
    ("resolution", "公司决议编号", "JY", "yyyy", 4),
]
DOC_NUMBER_KINDS = {"intention_letter": "letter", "confirmation_letter": "letter", "loan_notice": "letter",
                    "committee_resolution": "resolution"}

MAX_MONEY = Decimal("9999999999999999.99")
CENT = Decimal("0.01")


def _session():
    from app.extensions import db

    return db.session


def stage_index(stage: str) -> int:
    return STAGES.index(stage)


def stage_label(stage) -> str:
    return str(STAGE_LABELS.get(stage, stage or ""))


# --- input parsing ------------------------------------------------------------------------------------

def _money(value, field, label, *, required=True, positive=True) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    if isinstance(value, bool) or isinstance(value, float) and value != value:
        raise ValidationError(gettext("%(label)s must be an amount.", label=label), field)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("%(label)s must be an amount.", label=label), field) from None
    if not amount.is_finite() or abs(amount) > MAX_MONEY:
        raise ValidationError(gettext("%(label)s must be an amount.", label=label), field)
    if amount != amount.quantize(CENT):
        raise ValidationError(gettext("%(label)s has at most two decimal places.", label=label), field)
    if positive and amount <= 0:
        raise ValidationError(gettext("%(label)s must be greater than zero.", label=label), field)
    return amount


def _rate(value, field, label, *, required=True) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("%(label)s must be a rate such as 0.02 for 2%%.", label=label), field) from None
    if not rate.is_finite() or rate <= 0 or rate > 1 or rate != rate.quantize(Decimal("0.000001")):
        raise ValidationError(gettext("%(label)s must be a rate such as 0.02 for 2%%.", label=label), field)
    return rate


def _int(value, field, label) -> int:
    if isinstance(value, bool):
        raise ValidationError(gettext("%(label)s must be a whole number.", label=label), field)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise ValidationError(gettext("%(label)s must be a whole number.", label=label), field) from None
    if not 1 <= number <= 600:
        raise ValidationError(gettext("%(label)s must be between 1 and 600.", label=label), field)
    return number


def _id(value, field, label, *, required=True) -> int | None:
    if value in (None, ""):
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) or isinstance(value, bool) else value
    except (TypeError, ValueError):
        raise ValidationError(gettext("Not a valid choice."), field) from None
    if isinstance(value, bool) or not 0 < number < 2 ** 31:
        raise ValidationError(gettext("Not a valid choice."), field)
    return number


def _date(value, field, label, *, required=True) -> date | None:
    if value in (None, ""):
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValidationError(gettext("%(label)s must be a date (YYYY-MM-DD).", label=label), field) from None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates


def _text(value, limit, field, label, *, required=False) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if not text:
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    if len(text) > limit:
        raise ValidationError(gettext("%(label)s is too long (at most %(max)s characters).", label=label,
                                      max=limit), field)
    if _UNSTORABLE.search(text):
        raise ValidationError(gettext("The text contains characters that cannot be stored."), field)
    return text


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "y", "yes", "on")
    return bool(value)


def _choice(value, choices, field, label, *, required=True):
    if value in (None, ""):
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    if value not in choices:
        raise ValidationError(gettext("%(label)s: not a valid choice.", label=label), field)
    return value


def money_text(value) -> str:
    return f"{Decimal(value):,.2f}" if value is not None else ""


def percent_text(rate) -> str:
    if rate is None:
        return ""
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.0001')).normalize():f}%"


add_months = fees.add_months


# --- loading with the row lock ------------------------------------------------------------------------

def get(guarantee_id, *, lock=False) -> Guarantee:
    """The guarantee (404 when missing or outside the current user's data scope); `lock` takes the row lock."""
    from app.services.data_scope import ensure_visible

    pk = _id(guarantee_id, "id", "id")
    query = select(Guarantee).where(Guarantee.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = _session().execute(query).scalar()
    if item is None:
        raise NotFound(gettext("The guarantee does not exist."))
    return ensure_visible(item)


def _closed_message(item) -> str:
    return gettext("The guarantee %(code)s is %(status)s: nothing more can be done with it.", code=item.code,
                   status=str(STATUS_LABELS.get(item.status, item.status)))


def _at(guarantee_id, *stages) -> Guarantee:
    """Lock the guarantee and make sure it is active and at one of `stages` (else a clear refusal)."""
    item = get(guarantee_id, lock=True)
    if item.status != "active":
        raise Conflict(_closed_message(item))
    if item.stage not in stages:
        raise Conflict(gettext(
            "The guarantee %(code)s is at the stage \"%(stage)s\"; this action belongs to the stage \"%(expected)s\".",
            code=item.code, stage=stage_label(item.stage), expected=" / ".join(stage_label(s) for s in stages)))
    return item


def _no_open_approval(item):
    if item.approval_status == "pending":
        raise Conflict(gettext("The guarantee %(code)s is under approval; wait for the decision.", code=item.code))


def _history(item, action, user_id, comment=None, from_stage=None, to_stage=None):
    from app.services import business_date

    entry = StageHistory(guarantee=item, from_stage=from_stage or item.stage, to_stage=to_stage or item.stage,
                         action=action, comment=(comment or "")[:1000] or None, user_id=user_id,
                         business_date=business_date.today())  # done here, never backfilled
    _session().add(entry)
    return entry


def _joined(*parts) -> str | None:
    return " ".join(p for p in parts if p) or None


_stage_listeners: list = []


def register_stage_listener(listener) -> None:
    """`listener(guarantee)` runs after every move forward, inside the moving transaction (the portal's notices)."""
    if listener not in _stage_listeners:
        _stage_listeners.append(listener)


def _advance(item, action, user_id, comment=None):
    """Move to the next stage, exactly one step forward; the only place `stage` grows."""
    position = stage_index(item.stage)
    target = STAGES[position + 1]
    _history(item, action, user_id, comment, from_stage=item.stage, to_stage=target)
    item.stage = target
    item.stage_changed_at = datetime.now()
    _session().flush()
    for listener in _stage_listeners:
        listener(item)
    return item


# --- application (BIZ-3, BIZ-9, BIZ-10) -----------------------------------------------------------------

def _counter_kinds() -> dict:
    """BIZ-10 counter-guarantee kinds (app/services/products.py): code -> translated label."""
    from app.services import products

    return {code: str(products.COUNTER_KIND_LABELS.get(code, name)) for code, name in products.COUNTER_KINDS.items()}


def _load(model, pk, field, message):
    item = _session().get(model, pk) if pk is not None else None
    if item is None:
        raise ValidationError(message, field)
    return item


def _parse_measures(raw, customer_id) -> list[dict]:
    from models.customers import Customer
    from app.services import customers as customer_rules
    from app.services.data_scope import is_visible

    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        raise ValidationError(gettext("The counter-guarantee measures must be a list."), "measures")
    if len(raw) > 50:
        raise ValidationError(gettext("At most %(max)s counter-guarantee measures.", max=50), "measures")
    kinds = _counter_kinds()
    measures = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ValidationError(gettext("The counter-guarantee measures must be a list."), "measures")
        label = gettext("Counter-guarantee measure %(n)s", n=i)
        kind = _choice(entry.get("kind"), kinds, "measures", gettext("%(label)s: kind", label=label))
        description = _text(entry.get("description"), 500, "measures", label)
        value = _money(entry.get("value"), "measures", gettext("%(label)s: value", label=label), required=False)
        guarantor_id = _id(entry.get("guarantor_id"), "measures", label, required=False)
        guarantor = None
        if kind == "surety":
            if guarantor_id is None:
                raise ValidationError(gettext("%(label)s: a surety names the guarantor customer.", label=label),
                                      "measures")
            guarantor = _session().get(Customer, guarantor_id)
            if guarantor is None or not is_visible(guarantor):
                raise ValidationError(gettext("%(label)s: the guarantor customer does not exist.", label=label),
                                      "measures")
            if guarantor.id == customer_id:
                raise ValidationError(gettext("%(label)s: the applicant cannot be its own guarantor.", label=label),
                                      "measures")
            try:
                customer_rules.ensure_may_apply(guarantor)
            except ValidationError as ex:
                raise ValidationError(f"{label}: {ex.message}", "measures") from None
        elif guarantor_id is not None:
            raise ValidationError(gettext("%(label)s: only a surety names a guarantor customer.", label=label),
                                  "measures")
        if kind in ("pledge", "mortgage", "lien") and not description:
            raise ValidationError(gettext("%(label)s: describe the pledged or mortgaged item.", label=label), "measures")
        if kind in ("pledge", "mortgage", "deposit") and value is None:
            raise ValidationError(gettext("%(label)s: the value is required.", label=label), "measures")
        measures.append({"kind": kind, "description": description, "value": value, "guarantor": guarantor})
    return measures


def _parse_fee_items(raw, amount, fee_rate) -> list[dict]:
    if raw is None or raw == []:
        # Without a plan the guarantee fee is charged once, at the application's rate.
        raw = [{"fee_type": "guarantee", "basis": "ratio", "rate": fee_rate, "frequency": "one_off"}]
    if not isinstance(raw, (list, tuple)):
        raise ValidationError(gettext("The fee plan must be a list."), "fee_items")
    if len(raw) > 20:
        raise ValidationError(gettext("At most %(max)s fee items.", max=20), "fee_items")
    items = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ValidationError(gettext("The fee plan must be a list."), "fee_items")
        label = gettext("Fee item %(n)s", n=i)
        fee_type = _choice(entry.get("fee_type"), FEE_TYPES, "fee_items", gettext("%(label)s: fee", label=label))
        basis = _choice(entry.get("basis"), FEE_BASES, "fee_items", gettext("%(label)s: basis", label=label))
        frequency = _choice(entry.get("frequency"), FREQUENCIES, "fee_items",
                            gettext("%(label)s: collection", label=label))
        rate = fixed = None
        if basis == "ratio":
            rate = _rate(entry.get("rate") if entry.get("rate") not in (None, "") else
                         (fee_rate if fee_type == "guarantee" else None), "fee_items",
                         gettext("%(label)s: rate", label=label))
            if fee_type == "guarantee" and rate != fee_rate:
                raise ValidationError(gettext(
                    "%(label)s: the guarantee fee by ratio uses the application's fee rate %(rate)s.",
                    label=label, rate=percent_text(fee_rate)), "fee_items")
        else:
            fixed = _money(entry.get("amount"), "fee_items", gettext("%(label)s: amount", label=label))
        note = _text(entry.get("note"), 200, "fee_items", label)
        items.append({"fee_type": fee_type, "basis": basis, "rate": rate, "amount": fixed,
                      "principal": amount if basis == "ratio" else None, "frequency": frequency, "note": note})
    return items


def _row(row, name, index):
    if isinstance(row, dict):
        return row[name]
    if hasattr(row, name):
        return getattr(row, name)
    return row[index]


def build_schedule(item, start: date) -> list[FeeScheduleRow]:
    """(Re)generate the stored fee schedule of `item` from its fee plan (fees.build_schedule)."""
    plan = [{"fee_type": f.fee_type, "basis": f.basis, "rate": f.rate, "amount": f.amount,
             "principal": f.principal if f.principal is not None else item.amount, "frequency": f.frequency}
            for f in item.fee_items]
    rows = fees.build_schedule(plan, start, item.term_months)
    if any(r.received for r in item.schedule):
        raise Conflict(gettext("Fees have been received already; the schedule can no longer be regenerated."))
    item.schedule.clear()
    _session().flush()
    for row in rows:
        item.schedule.append(FeeScheduleRow(
            due_date=_row(row, "due_date", 0), fee_type=_row(row, "fee_type", 1),
            amount=Decimal(_row(row, "amount", 2)).quantize(CENT, ROUND_HALF_UP),
            period_from=_row(row, "period_from", 3), period_to=_row(row, "period_to", 4), received=Decimal("0")))
    _session().flush()
    return item.schedule


def _parse_application(data: dict) -> dict:
    from models.customers import Customer
    from models.products import CooperatingBank, Product
    from app.services.data_scope import is_visible

    if not isinstance(data, dict):
        raise ValidationError(gettext("The request body must be a JSON object."))
    customer_id = _id(data.get("customer_id"), "customer_id", gettext("Customer"))
    customer = _session().get(Customer, customer_id)
    if customer is None or not is_visible(customer):
        raise ValidationError(gettext("The customer does not exist."), "customer_id")
    product = _load(Product, _id(data.get("product_id"), "product_id", gettext("Product")), "product_id",
                    gettext("The product does not exist."))
    bank = _load(CooperatingBank, _id(data.get("bank_id"), "bank_id", gettext("Lending bank")), "bank_id",
                 gettext("The bank does not exist."))
    amount = _money(data.get("amount"), "amount", gettext("Guarantee amount"))
    term = _int(data.get("term_months"), "term_months", gettext("Term (months)"))
    fee_rate = _rate(data.get("fee_rate"), "fee_rate", gettext("Fee rate"))
    return {
        "customer": customer, "product": product, "bank": bank, "amount": amount, "term_months": term,
        "fee_rate": fee_rate,
        "purpose": _text(data.get("purpose"), 500, "purpose", gettext("Purpose"), required=True),
        "repayment_method": _choice(data.get("repayment_method"), REPAYMENT_METHODS, "repayment_method",
                                    gettext("Repayment method")),
        "green_channel": _bool(data.get("green_channel")),
        "note": _text(data.get("note"), 2000, "note", gettext("Note")),
        "measures": _parse_measures(data.get("measures"), customer.id),
        "fee_items": _parse_fee_items(data.get("fee_items"), amount, fee_rate),
    }


def _check_application(item, parsed):
    """The rules an application meets when saved and again when submitted."""
    from app.services import banks, customers as customer_rules, products

    customer_rules.ensure_may_apply(parsed["customer"])
    products.check_terms(parsed["product"], parsed["amount"], parsed["term_months"], parsed["fee_rate"])
    if hasattr(products, "check_counter_kinds"):
        products.check_counter_kinds(parsed["product"], [m["kind"] for m in parsed["measures"]])
    banks.check_line(parsed["bank"], parsed["amount"], exclude_guarantee_id=item.id if item is not None else None)


def _fill(item, parsed, user_id):
    from app.services import business_date

    for key in ("customer", "product", "bank", "amount", "term_months", "fee_rate", "purpose", "repayment_method",
                "green_channel", "note"):
        setattr(item, key, parsed[key])
    item.measures.clear()
    item.fee_items.clear()
    _session().flush()
    for m in parsed["measures"]:
        item.measures.append(CounterMeasure(kind=m["kind"], description=m["description"], value=m["value"],
                                            guarantor=m["guarantor"]))
    for f in parsed["fee_items"]:
        item.fee_items.append(FeePlanItem(**f))
    _session().flush()
    build_schedule(item, item.apply_date or business_date.today())


def _department_of(user_id):
    from models.system import Employee

    if user_id is None:
        return None
    return _session().execute(select(Employee.department_id).where(Employee.user_id == user_id)).scalar()


def create_application(data: dict, user_id) -> Guarantee:
    """A new application (stage draft) with its measures, fee plan and generated schedule.
    `data`: customer_id, product_id, bank_id, amount, term_months, fee_rate, purpose, repayment_method,
    green_channel, note, measures [{kind, description, value, guarantor_id}], fee_items [{fee_type, basis, rate,
    amount, frequency, note}]. The account manager is `user_id`. The caller commits."""
    from app.services import business_date, numbering

    parsed = _parse_application(data)
    _check_application(None, parsed)
    today = business_date.today()
    item = Guarantee(code=numbering.next_number("guarantee"), stage="draft", status="active", approval_status="none",
                     contract_status="none", apply_date=today, balance=Decimal("0"), backfilled=False,
                     manager_id=user_id, owner_id=user_id, department_id=_department_of(user_id))
    _session().add(item)
    _fill(item, parsed, user_id)
    _history(item, "created", user_id, from_stage="draft", to_stage="draft")
    _session().flush()
    return item


def update_application(guarantee_id, data: dict, user_id) -> Guarantee:
    """Change an application while it is still a draft (measures and fee plan are replaced)."""
    item = _at(guarantee_id, "draft")
    parsed = _parse_application(data)
    _check_application(item, parsed)
    _fill(item, parsed, user_id)
    _history(item, "updated", user_id)
    return item


def compliance_results(item, stage="submission"):
    from app.services import compliance

    return compliance.evaluate(item, stage)


def submit_application(guarantee_id, user_id, comment=None) -> Guarantee:
    """Draft → due-diligence investigation: terms, line, blacklist and the regulatory checks (BIZ-15)."""
    from app.services import compliance

    item = _at(guarantee_id, "draft")
    parsed = {"customer": item.customer, "product": item.product, "bank": item.bank, "amount": item.amount,
              "term_months": item.term_months, "fee_rate": item.fee_rate,
              "measures": [{"kind": m.kind} for m in item.measures]}
    if not item.measures:
        raise ValidationError(gettext("Add at least one counter-guarantee measure."), "measures")
    _check_application(item, parsed)
    compliance.enforce(item, "submission")
    item.submitted_at = datetime.now()
    return _advance(item, "submitted", user_id, comment)


def withdraw_application(guarantee_id, user_id, reason) -> Guarantee:
    """The applicant gives up (before the contracts): the guarantee is closed as withdrawn."""
    reason = _text(reason, 500, "reason", gettext("Reason"), required=True)
    item = _at(guarantee_id, *STAGES[:STAGES.index("contract")])
    _no_open_approval(item)
    _history(item, "withdrawn", user_id, reason)
    item.status = "withdrawn"
    _session().flush()
    return item


# --- stage documents ---------------------------------------------------------------------------------

def document(item, doc_type) -> StageDocument | None:
    return next((d for d in item.documents if d.doc_type == doc_type), None)


def _report(item, doc_type, fields, required, content, user_id):
    if not isinstance(content, dict):
        raise ValidationError(gettext("The request body must be a JSON object."))
    clean = {}
    for key, label in fields.items():
        clean[key] = _text(content.get(key), 4000, key, str(label), required=key in required)
    doc = document(item, doc_type)
    if doc is None:
        doc = StageDocument(doc_type=doc_type)
        item.documents.append(doc)
    from app.services import business_date

    doc.content = clean
    doc.doc_date = business_date.today()
    _history(item, f"{doc_type}_saved", user_id)
    _session().flush()
    return doc


def save_investigation_report(guarantee_id, content: dict, user_id) -> StageDocument:
    """保前调查报告 (BIZ-4): the account manager's due-diligence findings; `recommendation` recommend/not."""
    item = _at(guarantee_id, "investigation")
    if isinstance(content, dict):
        _choice(content.get("recommendation"), RECOMMENDATIONS, "recommendation", gettext("Recommendation"))
    fields = {**INVESTIGATION_FIELDS, "recommendation": _l("Recommendation")}
    return _report(item, "investigation_report", fields, INVESTIGATION_REQUIRED + ("recommendation",), content,
                   user_id)


def save_risk_report(guarantee_id, content: dict, user_id) -> StageDocument:
    """风险管控报告 (BIZ-6): written by the risk officer before the risk approval."""
    item = _at(guarantee_id, "risk")
    _no_open_approval(item)
    if isinstance(content, dict):
        _choice(content.get("risk_level"), RISK_LEVELS, "risk_level", gettext("Risk level"))
    return _report(item, "risk_report", RISK_FIELDS, RISK_REQUIRED, content, user_id)


def _numbered_document(item, doc_type, user_id, content=None) -> StageDocument:
    from app.services import business_date, numbering

    doc = document(item, doc_type)
    if doc is None:
        doc = StageDocument(doc_type=doc_type)
        item.documents.append(doc)
    if not doc.number:
        doc.number = numbering.next_number(DOC_NUMBER_KINDS[doc_type])
    doc.doc_date = business_date.today()
    doc.content = content
    _session().flush()
    return doc


# --- approvals (the approval engine) ---------------------------------------------------------------------------

def _approval():
    from app.services import approval

    return approval


def _applicable_steps(kind, item) -> list:
    """The steps of the flow the engine would match for `item` that apply to it (flows are data: a step with a
    condition such as green_channel = no is left out for a green-channel application)."""
    approval = _approval()
    attrs = approval_attributes(item)
    flow = approval.match_flow(kind, attrs)
    return [s for s in flow.steps if approval.condition_matches(s, attrs)]


def _submit_approval(item, user_id, comment=None):
    kind = KIND_OF_STAGE[item.stage]
    if not _applicable_steps(kind, item):
        # No step of the flow applies (e.g. the green channel skips the review): the stage passes as approved,
        # and the history says why.
        stage = item.stage
        item.approval_status = "approved"
        number = _numbered_document(item, "committee_resolution", user_id).number if stage == "committee" else None
        return _advance(item, f"{stage}_skipped", user_id, _joined(number, comment))
    item.approval_status = "pending"
    _history(item, "approval_submitted", user_id, comment)
    _session().flush()
    _approval().submit(kind, item, user_id, comment or "")
    return item


def submit_for_acceptance(guarantee_id, user_id, comment=None) -> Guarantee:
    """Due-diligence report done → acceptance approval (受理审批)."""
    item = _at(guarantee_id, "investigation")
    doc = document(item, "investigation_report")
    if doc is None or not doc.content:
        raise ValidationError(gettext("Write the due-diligence report first."), "investigation_report")
    _advance(item, "sent_to_acceptance", user_id, comment)
    return _submit_approval(item, user_id, comment)


def issue_intention_letter(guarantee_id, user_id, comment=None) -> Guarantee:
    """意向函 (BIZ-5) to the lending bank, numbered; then the review approval (评审审批) starts."""
    item = _at(guarantee_id, "intention")
    number = _numbered_document(item, "intention_letter", user_id).number
    _advance(item, "intention_letter_issued", user_id, _joined(number, comment))
    return _submit_approval(item, user_id, comment)


def submit_risk_approval(guarantee_id, user_id, comment=None) -> Guarantee:
    """Risk report written → risk approval (风险管控审批)."""
    item = _at(guarantee_id, "risk")
    _no_open_approval(item)
    doc = document(item, "risk_report")
    if doc is None or not doc.content:
        raise ValidationError(gettext("Write the risk assessment report first."), "risk_report")
    return _submit_approval(item, user_id, comment)


def submit_to_committee(guarantee_id, user_id, comment=None) -> Guarantee:
    """Before the committee the regulatory checks run again (BIZ-15); then 审保会 + 总经理签批."""
    from app.services import banks, compliance

    item = _at(guarantee_id, "committee")
    _no_open_approval(item)
    banks.check_line(item.bank, item.amount, exclude_guarantee_id=item.id)
    compliance.enforce(item, "committee")
    return _submit_approval(item, user_id, comment)


def _deciding_user(instance):
    """Who took the final action (the engine's timeline), else whoever acts in this request."""
    if instance is not None and getattr(instance, "id", None) is not None:
        from models.approval import ApprovalAction

        user_id = _session().execute(select(ApprovalAction.acted_by_id).where(
            ApprovalAction.instance_id == instance.id, ApprovalAction.acted_by_id.is_not(None))
            .order_by(ApprovalAction.id.desc()).limit(1)).scalar()
        if user_id is not None:
            return user_id
    from app.audit import current_actor

    return current_actor()[0]


def on_approval_decided(item, outcome, instance=None):
    """Called by the approval engine inside the deciding transaction: approved → next stage, rejected → the
    guarantee is closed as rejected, withdrawn → back to before the submission (so it can be resubmitted)."""
    kind = getattr(instance, "kind", None)
    stage = APPROVAL_KINDS.get(kind) if kind else item.stage
    locked = _session().execute(select(Guarantee).where(Guarantee.id == item.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.status != "active" or locked.stage != stage:
        raise Conflict(gettext(
            "The guarantee %(code)s is at the stage \"%(stage)s\"; this action belongs to the stage \"%(expected)s\".",
            code=locked.code, stage=stage_label(locked.stage), expected=stage_label(stage)))
    user_id = _deciding_user(instance)
    if outcome == "approved":
        locked.approval_status = "approved"
        comment = None
        if stage == "committee":
            comment = _numbered_document(locked, "committee_resolution", user_id).number
        _advance(locked, f"{stage}_approved", user_id, comment)
    elif outcome == "rejected":
        locked.approval_status = "rejected"
        _history(locked, f"{stage}_rejected", user_id)
        locked.status = "rejected"
    elif outcome == "withdrawn":
        locked.approval_status = "none"
        if stage in ("acceptance", "review"):
            # The submission itself moved the stage on: step back so the item can be sent again.
            back = STAGES[stage_index(stage) - 1]
            _history(locked, f"{stage}_withdrawn", user_id, from_stage=stage, to_stage=back)
            locked.stage = back
            locked.stage_changed_at = datetime.now()
        else:
            _history(locked, f"{stage}_withdrawn", user_id)
    _session().flush()
    return locked


def approval_attributes(item) -> dict:
    """What the engine's flow conditions read (amount ranges, product, customer grade, green channel)."""
    grade = getattr(item.customer, "assessment_grade", None) if item.customer is not None else None
    return {"amount": item.amount, "product_code": item.product.code if item.product is not None else None,
            "customer_grade": grade, "green_channel": bool(item.green_channel)}


def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("GuaranteeView.page", pk=item.id)
    except RuntimeError:  # outside a request (CLI, Celery)
        return f"/guarantee/page/{item.id}"


# Default flows (administrators change them in the flow designer): acceptance and review by the risk officer
# (the review step does not apply on the green channel, so a green-channel application passes it);
# the risk report, written and submitted by the risk officer, approved by the general manager (four eyes);
# the committee vote of 审保会委员 followed by the general manager's signature (公司决议).
DEFAULT_FLOWS = {
    "guarantee.acceptance": ("担保受理审批", [
        {"name": "风控受理审查", "mode": "single", "post_code": "RISK", "role": "风控专员"}]),
    "guarantee.review": ("担保评审审批", [
        {"name": "风控评审", "mode": "single", "post_code": "RISK", "role": "风控专员",
         "condition": {"green_channel": False}}]),
    "guarantee.risk": ("风险管控审批", [
        {"name": "总经理审批风险管控报告", "mode": "single", "post_code": "GM", "role": "总经理"}]),
    "guarantee.committee": ("审保会决议", [
        {"name": "审保会表决", "mode": "committee", "post_code": "COMMITTEE", "role": "审保会委员"},
        {"name": "总经理签批", "mode": "single", "post_code": "GM", "role": "总经理"}]),
}

_registered = False


def register_approval_kinds() -> None:
    """Tell the approval engine about the four guarantee approvals (idempotent, no database access)."""
    global _registered
    if _registered:
        return
    approval = _approval()
    for kind in APPROVAL_KINDS:
        approval.register_kind(kind, label=APPROVAL_KIND_LABELS[kind], model=Guarantee,
                               attributes=approval_attributes, on_decided=on_approval_decided, url=approval_url)
    _registered = True


def ensure_reference() -> None:
    """Numbering rules and default approval flows of the guarantee business (idempotent; run at every start)."""
    from models.system import NumberingRule

    session = _session()
    have = set(session.execute(select(NumberingRule.kind)).scalars())
    for kind, name, prefix, date_format, width in NUMBERING_RULES:
        if kind not in have:
            session.add(NumberingRule(kind=kind, name=name, prefix=prefix, date_format=date_format, seq_width=width))
    session.flush()
    register_approval_kinds()
    approval = _approval()
    for kind, (name, steps) in DEFAULT_FLOWS.items():
        approval.ensure_default_flow(kind, name, steps)
    session.flush()


# --- confirmation, fees, contracts (BIZ-7, BIZ-9, BIZ-11) ---------------------------------------------

def issue_confirmation_letter(guarantee_id, user_id, comment=None) -> Guarantee:
    """担保确认函 (BIZ-7) after the company resolution; then the fees are registered."""
    item = _at(guarantee_id, "confirmation")
    number = _numbered_document(item, "confirmation_letter", user_id).number
    return _advance(item, "confirmation_letter_issued", user_id, _joined(number, comment))


def register_fees(guarantee_id, user_id, start_date=None, comment=None) -> Guarantee:
    """收费登记: the fee schedule is fixed from the expected start date; the contracts are drafted and numbered
    (the guarantee contract with the bank, one counter-guarantee contract per measure that needs one)."""
    from app.services import business_date, numbering

    item = _at(guarantee_id, "fee_registration")
    start = _date(start_date, "start_date", gettext("Start date"), required=False) or business_date.today()
    if not item.fee_items:
        raise ValidationError(gettext("The fee plan is empty."), "fee_items")
    build_schedule(item, start)
    note = gettext("Start date %(date)s", date=start.isoformat())
    _advance(item, "fees_registered", user_id, f"{note} {comment}" if comment else note)
    end = fees.term_end(start, item.term_months)
    item.contracts.append(GuaranteeContract(kind="guarantee", number=numbering.next_number("contract"),
                                            counterparty=item.bank.name, status="draft", start_date=start,
                                            end_date=end))
    for measure in item.measures:
        if measure.kind not in CONTRACT_MEASURES:
            continue
        party = measure.guarantor.name if measure.guarantor is not None else item.customer.name
        item.contracts.append(GuaranteeContract(kind="counter", measure=measure, counterparty=party, status="draft",
                                                number=numbering.next_number("counter_contract"), start_date=start,
                                                end_date=end))
    item.contract_status = "draft"
    _session().flush()
    return item


def _contract(contract_id) -> tuple[Guarantee, GuaranteeContract]:
    pk = _id(contract_id, "contract_id", gettext("Contract"))
    contract = _session().get(GuaranteeContract, pk)
    if contract is None:
        raise NotFound(gettext("The contract does not exist."))
    item = _at(contract.guarantee_id, "contract")
    _session().refresh(contract)
    return item, contract


def _refresh_contract_status(item):
    statuses = {c.status for c in item.contracts}
    item.contract_status = ("signed" if statuses == {"signed"} else
                            "reviewed" if statuses and statuses <= {"reviewed", "signed"} else "draft")


def review_contract(contract_id, user_id, comment=None) -> GuaranteeContract:
    """反担保合同审查: the risk officer reviews a counter-guarantee contract (never the account manager who
    handles the guarantee)."""
    item, contract = _contract(contract_id)
    if contract.kind != "counter":
        raise ValidationError(gettext("Only counter-guarantee contracts are reviewed."), "contract_id")
    if contract.status != "draft":
        raise Conflict(gettext("The contract %(number)s has been reviewed already.", number=contract.number))
    if user_id is not None and user_id in (item.manager_id, item.created_by_id):
        raise ValidationError(gettext("The account manager of a guarantee does not review its contracts."),
                              "contract_id")
    contract.status = "reviewed"
    contract.reviewed_by_id = user_id
    contract.reviewed_at = datetime.now()
    contract.review_comment = _text(comment, 500, "comment", gettext("Comment"))
    _refresh_contract_status(item)
    _history(item, "contract_reviewed", user_id, contract.number)
    _session().flush()
    return contract


def sign_contract(contract_id, user_id, signed_on=None, start_date=None, end_date=None) -> GuaranteeContract:
    """Record the signing of a contract (BIZ-11: signing date and term). Counter contracts need their review."""
    from app.services import business_date

    item, contract = _contract(contract_id)
    if contract.status == "signed":
        raise Conflict(gettext("The contract %(number)s is signed already.", number=contract.number))
    if contract.kind == "counter" and contract.status != "reviewed":
        raise ValidationError(gettext("The counter-guarantee contract %(number)s must be reviewed before signing.",
                                      number=contract.number), "contract_id")
    today = business_date.today()
    signed = _date(signed_on, "signed_on", gettext("Signing date"), required=False) or today
    if signed > today:
        raise ValidationError(gettext("The signing date cannot be after the business date."), "signed_on")
    start = _date(start_date, "start_date", gettext("Start date"), required=False) or contract.start_date or signed
    end = _date(end_date, "end_date", gettext("End date"), required=False) or fees.term_end(start, item.term_months)
    if end <= start:
        raise ValidationError(gettext("The end date must be after the start date."), "end_date")
    contract.signed_on, contract.start_date, contract.end_date, contract.status = signed, start, end, "signed"
    _refresh_contract_status(item)
    _history(item, "contract_signed", user_id, contract.number)
    _session().flush()
    return contract


def register_measure(measure_id, user_id, registered_on=None) -> CounterMeasure:
    """The pledge or mortgage rights are registered (抵质押登记) — required before the contracts are complete."""
    from app.services import business_date

    pk = _id(measure_id, "measure_id", gettext("Counter-guarantee measure"))
    measure = _session().get(CounterMeasure, pk)
    if measure is None:
        raise NotFound(gettext("The counter-guarantee measure does not exist."))
    item = _at(measure.guarantee_id, "contract")
    if measure.kind not in REGISTERED_MEASURES:
        raise ValidationError(gettext("Only pledges and mortgages are registered."), "measure_id")
    if measure.registered:
        raise Conflict(gettext("The measure is registered already."))
    on = _date(registered_on, "registered_on", gettext("Registration date"), required=False) or business_date.today()
    if on > business_date.today():
        raise ValidationError(gettext("The registration date cannot be after the business date."), "registered_on")
    measure.registered, measure.registered_on = True, on
    _history(item, "measure_registered", user_id, measure.description)
    _session().flush()
    return measure


def complete_contracts(guarantee_id, user_id, comment=None) -> Guarantee:
    """All contracts signed and the pledge/mortgage rights registered → fee collection."""
    item = _at(guarantee_id, "contract")
    unsigned = [c.number for c in item.contracts if c.status != "signed"]
    if not item.contracts or unsigned:
        raise ValidationError(gettext("These contracts are not signed yet: %(numbers)s.",
                                      numbers=", ".join(unsigned)), "contracts")
    unregistered = [m.description or m.kind for m in item.measures if m.kind in REGISTERED_MEASURES
                    and not m.registered]
    if unregistered:
        raise ValidationError(gettext("These pledges or mortgages are not registered yet: %(items)s.",
                                      items=", ".join(unregistered)), "measures")
    item.contract_status = "signed"
    return _advance(item, "contracts_signed", user_id, comment)


# --- fee collection, loan notice, loan confirmation (BIZ-12) -------------------------------------------

FEE_STAGES = ("fee_collection", "loan_notice", "loan_confirmation", "in_force")


def collect_fee(guarantee_id, user_id, schedule_id, amount, received_on=None, method="transfer",
                reference=None) -> FeeReceipt:
    """收费: money received against a row of the fee schedule; recorded for the ledger as a business financial
    event (kind fee_received, finance reviews it into a voucher)."""
    from app.services import business_date, ledger_events

    item = _at(guarantee_id, *FEE_STAGES)
    row_id = _id(schedule_id, "schedule_id", gettext("Fee due"))
    row = next((r for r in item.schedule if r.id == row_id), None)
    if row is None:
        raise ValidationError(gettext("Choose a fee of this guarantee's schedule."), "schedule_id")
    value = _money(amount, "amount", gettext("Amount received"))
    open_amount = row.amount - (row.received or 0)
    if open_amount <= 0:
        raise Conflict(gettext("This fee has been received in full."))
    if value > open_amount:
        raise ValidationError(gettext("The amount exceeds what is still due on this fee: %(due)s.",
                                      due=money_text(open_amount)), "amount")
    today = business_date.today()
    on = _date(received_on, "received_on", gettext("Date received"), required=False) or today
    if on > today:
        raise ValidationError(gettext("The date received cannot be after the business date."), "received_on")
    method = _choice(method or "transfer", PAYMENT_METHODS, "method", gettext("Payment method"))
    receipt = FeeReceipt(guarantee=item, schedule_id=row.id, fee_type=row.fee_type, amount=value, received_on=on,
                         method=method, reference=_text(reference, 60, "reference", gettext("Reference")),
                         received_by_id=user_id)
    _session().add(receipt)
    row.received = (row.received or 0) + value
    _session().flush()
    event = ledger_events.record_event(
        "fee_received", value, on, "fee_receipt", str(receipt.id), customer_id=item.customer_id,
        department_id=item.department_id, project_code=item.code,
        summary=gettext("%(fee)s of %(code)s", fee=str(FEE_TYPES.get(row.fee_type, row.fee_type)), code=item.code),
        details={"fee_type": row.fee_type, "guarantee_id": str(item.id)})
    receipt.event_id = event.id
    _history(item, "fee_collected", user_id, f"{FEE_TYPES.get(row.fee_type, row.fee_type)} {money_text(value)}")
    _session().flush()
    return receipt


def fees_due_unpaid(item) -> list[FeeScheduleRow]:
    from app.services import business_date

    today = business_date.today()
    first = min((r.due_date for r in item.schedule), default=None)
    # Due by today, and at least the first instalment of the plan: no loan before the upfront fee is paid.
    return [r for r in item.schedule if (r.due_date <= today or r.due_date == first) and r.received < r.amount]


def finish_fee_collection(guarantee_id, user_id, comment=None) -> Guarantee:
    item = _at(guarantee_id, "fee_collection")
    unpaid = fees_due_unpaid(item)
    if unpaid:
        raise ValidationError(gettext("These fees are still unpaid: %(items)s.", items=", ".join(
            f"{r.due_date.isoformat()} {FEE_TYPES.get(r.fee_type, r.fee_type)} {money_text(r.amount - r.received)}"
            for r in unpaid)), "fees")
    return _advance(item, "fees_collected", user_id, comment)


def issue_loan_notice(guarantee_id, user_id, comment=None) -> Guarantee:
    """放款通知单 to the bank, numbered."""
    item = _at(guarantee_id, "loan_notice")
    number = _numbered_document(item, "loan_notice", user_id).number
    return _advance(item, "loan_notice_issued", user_id, _joined(number, comment))


def confirm_loan(guarantee_id, user_id, loan_number, loan_amount, loan_date=None, comment=None) -> Guarantee:
    """The bank confirms the loan: number, amount (≤ the guarantee amount) and date → in force, with the
    balance (outstanding liability) and the due date set."""
    from app.services import banks, business_date

    item = _at(guarantee_id, "loan_confirmation")
    number = _text(loan_number, 50, "loan_number", gettext("Loan number"), required=True)
    amount = _money(loan_amount, "loan_amount", gettext("Loan amount"))
    if amount > item.amount:
        raise ValidationError(gettext("The loan amount %(loan)s exceeds the guarantee amount %(amount)s.",
                                      loan=money_text(amount), amount=money_text(item.amount)), "loan_amount")
    today = business_date.today()
    on = _date(loan_date, "loan_date", gettext("Loan date"), required=False) or today
    if on > today:
        raise ValidationError(gettext("The loan date cannot be after the business date."), "loan_date")
    banks.check_line(item.bank, amount, exclude_guarantee_id=item.id)
    item.loan_number, item.loan_amount, item.loan_date = number, amount, on
    item.due_date = add_months(on, item.term_months)
    item.balance = amount
    return _advance(item, "loan_confirmed", user_id, comment)


# --- documents (documents.render_docx / render_pdf) -----------------------------------------------------------

def _kind_names() -> dict:
    from models.products import COUNTER_KINDS

    return COUNTER_KINDS


def _date_cn(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def _amount_words(value) -> str:
    try:
        from app.services.documents import amount_in_words
    except ImportError:
        amount_in_words = None
    if amount_in_words is not None:
        return amount_in_words(Decimal(value))
    import cn2an

    return cn2an.an2cn(str(Decimal(value).quantize(CENT)), "rmb")


def document_available(item, doc_type) -> bool:
    """A document can be downloaded once its stage has been reached (and the guarantee was not rejected before).
    A backfilled guarantee came in force outside the system: it issued no letters here."""
    stage = DOCUMENT_STAGES.get(doc_type)
    if stage is None or item.backfilled:
        return False
    return stage_index(item.stage) >= stage_index(stage)


def guarantee_document_context(item, doc_type, contract=None) -> dict:
    """The context of the document templates (the variables of app/services/documents.DOC_TYPES)."""
    from app.services import business_date
    from models.system import CompanyInfo

    company = _session().execute(select(CompanyInfo).order_by(CompanyInfo.id)).scalar()
    customer = item.customer
    main = next((c for c in item.contracts if c.kind == "guarantee"), None)
    start = (main.start_date if main is not None and main.start_date else None) or item.loan_date or item.apply_date
    end = (main.end_date if main is not None and main.end_date else None) or item.due_date or (
        add_months(start, item.term_months) if start else None)
    if doc_type in ("guarantee_contract", "counter_contract"):
        if contract is None:
            contract = main if doc_type == "guarantee_contract" else next(
                (c for c in item.contracts if c.kind == "counter"), None)
        number = contract.number if contract is not None else ""
        doc_date = contract.signed_on if contract is not None and contract.signed_on else business_date.today()
    else:
        doc = document(item, doc_type)
        number = doc.number if doc is not None else ""
        doc_date = doc.doc_date if doc is not None and doc.doc_date else business_date.today()
    measures = item.measures
    if doc_type == "counter_contract" and contract is not None and contract.measure is not None:
        measures = [contract.measure]
    return {
        "company": {"name": company.name if company else ""},
        "customer": {"name": customer.name, "id_number": customer.id_number, "address": customer.address or "",
                     "legal_rep": customer.legal_representative or ""},
        "bank": {"name": item.bank.name},
        "product": {"name": item.product.name},
        "guarantee": {"code": item.code, "amount": money_text(item.amount),
                      "amount_words": _amount_words(item.amount), "term_months": item.term_months,
                      "start_date": _date_cn(start), "end_date": _date_cn(end), "fee_rate": percent_text(item.fee_rate),
                      "purpose": item.purpose or ""},
        # letters are Chinese documents: the kind's Chinese name (models.products.COUNTER_KINDS)
        "counter_measures": [{"kind": _kind_names().get(m.kind, m.kind), "description": m.description or (
            m.guarantor.name if m.guarantor is not None else ""), "value": money_text(m.value) if m.value else ""}
            for m in measures],
        "loan": {"number": item.loan_number or "", "amount": money_text(item.loan_amount) if item.loan_amount else "",
                 "date": _date_cn(item.loan_date)},
        "contract": {"number": number, "counterparty": contract.counterparty if contract is not None else ""},
        "doc": {"number": number, "date": _date_cn(doc_date)},
    }


def render_document(guarantee_id, doc_type, fmt="docx", contract_id=None) -> tuple[bytes, str]:
    """The document file (bytes, file name) — refused before its stage."""
    from app.services import documents

    item = get(guarantee_id)
    if doc_type not in DOCUMENT_STAGES:
        raise NotFound(gettext("The page or record does not exist."))
    if not document_available(item, doc_type):
        raise Conflict(gettext("The %(doc)s is available from the stage \"%(stage)s\" on.",
                               doc=str(DOCUMENT_LABELS[doc_type]), stage=stage_label(DOCUMENT_STAGES[doc_type])))
    contract = None
    if contract_id is not None:
        cid = _id(contract_id, "contract_id", gettext("Contract"))
        contract = next((c for c in item.contracts if c.id == cid), None)
        if contract is None or f"{contract.kind}_contract" != doc_type:
            raise NotFound(gettext("The contract does not exist."))
    context = guarantee_document_context(item, doc_type, contract)
    if fmt == "pdf":
        data, ext = documents.render_pdf(doc_type, context), "pdf"
    else:
        data, ext = documents.render_docx(doc_type, context), "docx"
    name = f"{DOCUMENT_LABELS[doc_type]}-{context['doc']['number'] or item.code}.{ext}"
    return data, name


# --- what a screen shows ---------------------------------------------------------------------------------

ACTION_LABELS = {
    "created": _l("Application created"), "updated": _l("Application changed"), "submitted": _l("Application submitted"),
    "withdrawn": _l("Application withdrawn"), "investigation_report_saved": _l("Due-diligence report saved"),
    "sent_to_acceptance": _l("Sent to acceptance approval"), "approval_submitted": _l("Approval started"),
    "intention_letter_issued": _l("Intention letter issued"), "risk_report_saved": _l("Risk assessment report saved"),
    "committee_resolution_issued": _l("Company resolution numbered"),
    "confirmation_letter_issued": _l("Confirmation letter issued"), "fees_registered": _l("Fees registered"),
    "contract_reviewed": _l("Counter-guarantee contract reviewed"), "contract_signed": _l("Contract signed"),
    "measure_registered": _l("Pledge or mortgage registered"), "contracts_signed": _l("Contracts complete"),
    "fee_collected": _l("Fee received"), "fees_collected": _l("Fee collection complete"),
    "loan_notice_issued": _l("Loan notice issued"), "loan_confirmed": _l("Loan confirmed by the bank"),
    "backfilled": _l("Backfilled"),
}
_OUTCOME_LABELS = {"approved": _l("%(stage)s: approved"), "rejected": _l("%(stage)s: rejected"),
                   "withdrawn": _l("%(stage)s: withdrawn"), "skipped": _l("%(stage)s: no step applies, passed")}


def action_label(action) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    stage, _, outcome = (action or "").rpartition("_")
    if stage in KIND_OF_STAGE and outcome in _OUTCOME_LABELS:
        return str(_OUTCOME_LABELS[outcome]) % {"stage": stage_label(stage)}
    return action or ""
