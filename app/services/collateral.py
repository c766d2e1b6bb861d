"""Collateral (押品管理, COL-1..4): registry, certificates and the vault, valuations, monitoring, coverage.

* Registry (COL-1): `register` / `update` a collateral item of a customer's business; the owner is the customer
  or a third party; kind-specific fields are defined by the administrator (CollateralFieldDef, checked like the
  customer elements of app/services/customer_extras.py); `link_measure` ties it to a counter-guarantee measure
  of an application (biz_counter_measure.collateral_id), which makes it "pledged".
* Certificates (权证) and the vault (COL-2): `add_certificate`; `check_in` (入库) and `give_back` (归还 of a lent
  certificate) move at once; lending (借阅) and taking out (出库) are requests (`request_out`) that go through the
  approval engine (kind "collateral.certificate_out") — the certificate leaves the vault only when the flow
  approves. Every movement is kept, so where a certificate is is always answered by its status and location.
* Valuation and monitoring (COL-3): `add_valuation` keeps the history and moves the collateral's value (the latest
  appraisal by date); `add_monitoring` records a report and schedules the next one. `coverage(guarantee_id)` is
  the appraised value of the collateral securing a guarantee over its balance; `mortgage_rate(collateral)` the
  balance secured over the value (抵押率). A new valuation re-checks the coverage warning at once.
* Release (POST-8): `queue_certificates_for_return(guarantee_id, user_id)` ends the collateral that secured only
  this guarantee and asks for the approval to return its certificates from the vault to the owner.

Like the other services this one never commits: the caller commits or rolls back.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, NotFound, ValidationError
from app.services.products import MAX_AMOUNT, to_decimal
from models.collateral import (
    CERTIFICATE_STATUSES, FIELD_TYPES, KINDS, MOVE_ACTIONS, MOVE_STATUSES, OWNER_TYPES, STATUSES,
    CertificateMovement, Collateral, CollateralCertificate, CollateralFieldDef, CollateralMonitoring,
    CollateralValuation,
)

ZERO = Decimal("0.00")
APPROVAL_KIND = "collateral.certificate_out"
NUMBERING_RULE = ("collateral", "押品编号", "YP", "yyyy", 5)

KIND_LABELS = {
    "real_estate": _l("Real estate"), "vehicle": _l("Vehicle"), "equipment": _l("Machinery and equipment"),
    "inventory": _l("Inventory"), "equity": _l("Equity"), "receivable": _l("Receivables"),
    "deposit": _l("Deposit"), "intellectual_property": _l("Intellectual property"), "other": _l("Other"),
}
# 抵押率上限 proposed for a new item of the kind (the registrar may change it).
DEFAULT_MORTGAGE_RATES = {
    "real_estate": "0.70", "vehicle": "0.50", "equipment": "0.50", "inventory": "0.50", "equity": "0.50",
    "receivable": "0.70", "deposit": "1.00", "intellectual_property": "0.30", "other": "0.50",
}
OWNER_TYPE_LABELS = {"customer": _l("The customer"), "third_party": _l("A third party")}
STATUS_LABELS = {"registered": _l("Registered"), "pledged": _l("Pledged"), "released": _l("Released"),
                 "disposed": _l("Disposed")}
CERTIFICATE_STATUS_LABELS = {"registered": _l("Not yet in the vault"), "in_vault": _l("In the vault"),
                             "lent": _l("Lent out"), "out": _l("Out of the vault")}
MOVE_ACTION_LABELS = {"in": _l("Into the vault"), "lend": _l("Lending"), "back": _l("Returned to the vault"),
                      "out": _l("Out of the vault")}
MOVE_STATUS_LABELS = {"pending": _l("Under approval"), "done": _l("Done"), "rejected": _l("Rejected"),
                      "withdrawn": _l("Withdrawn")}
PURPOSE_LABELS = {"release_return": _l("Return to the owner at release"), "disposal": _l("Disposal"),
                  "other": _l("Other")}
CONDITION_LABELS = {"normal": _l("Normal"), "attention": _l("Needs attention"), "abnormal": _l("Abnormal")}
FIELD_KIND_LABELS = {"all": _l("Every kind"), **KIND_LABELS}
FIELD_TYPE_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"), "choice": _l("Choice")}
assert set(KIND_LABELS) == set(KINDS) and set(STATUS_LABELS) == set(STATUSES)
assert set(CERTIFICATE_STATUS_LABELS) == set(CERTIFICATE_STATUSES) and set(MOVE_ACTION_LABELS) == set(MOVE_ACTIONS)
assert set(MOVE_STATUS_LABELS) == set(MOVE_STATUSES) and set(OWNER_TYPE_LABELS) == set(OWNER_TYPES)
assert set(FIELD_TYPE_LABELS) == set(FIELD_TYPES)

# Counter-guarantee measures that hold property (a surety or a credit measure has no collateral).
SECURED_MEASURES = ("mortgage", "pledge", "lien", "deposit")
IN_USE = ("registered", "pledged")  # collateral that still secures something (or may)

# Default flow of taking a certificate out of the vault (administrators change it in the flow designer): the
# department head, then the general manager; the engine keeps the requester out of both steps.
DEFAULT_FLOW = ("权证出库审批", [
    {"name": "部门负责人审核", "mode": "single", "post_code": "DEPT_HEAD", "role": "部门负责人"},
    {"name": "总经理审批", "mode": "single", "post_code": "GM", "role": "总经理"},
])


def _session():
    from app.extensions import db

    return db.session


def _today() -> date:
    from app.services import business_date

    return business_date.today()


def _approval():
    from app.services import approval

    return approval


# --- reference data and the approval kind ------------------------------------------------------------------

def approval_url(item: CertificateMovement) -> str:
    collateral_id = item.certificate.collateral_id if item.certificate is not None else 0
    from flask import url_for

    try:
        return url_for("CollateralView.page", pk=collateral_id)
    except RuntimeError:  # outside a request (CLI, Celery)
        return f"/collateral/page/{collateral_id}"


def approval_attributes(item: CertificateMovement) -> dict:
    collateral = item.certificate.collateral if item.certificate is not None else None
    return {"amount": collateral.value if collateral is not None else None}


def on_approval_decided(item: CertificateMovement, outcome: str, instance=None) -> None:
    """Called by the approval engine inside the deciding action's transaction: approved → the certificate leaves
    the vault (lent or out); rejected / withdrawn → the request ends and the certificate stays."""
    if item is None:
        return
    move = _session().execute(select(CertificateMovement).where(CertificateMovement.id == item.id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()
    if move.status != "pending":
        raise Conflict(gettext("This certificate request is already decided."))
    move.decided_at = datetime.now()
    if outcome != "approved":
        move.status = "rejected" if outcome == "rejected" else "withdrawn"
        _session().flush()
        return
    cert = _certificate(move.certificate_id, lock=True, check_scope=False)
    if cert.status != "in_vault":
        raise Conflict(gettext("The certificate %(number)s is not in the vault (%(status)s).", number=cert.number,
                               status=str(CERTIFICATE_STATUS_LABELS[cert.status])))
    cert.status = "lent" if move.action == "lend" else "out"
    cert.holder = move.recipient
    cert.due_back = move.due_back if move.action == "lend" else None
    if move.action == "out":
        cert.return_queued = False
    move.status = "done"
    move.done_on = _today()
    _session().flush()


def register_approval_kind() -> None:
    """Tell the approval engine about certificate requests (idempotent, no database access)."""
    _approval().register_kind(APPROVAL_KIND, label=_l("Certificate out of the vault"), model=CertificateMovement,
                              attributes=approval_attributes, on_decided=on_approval_decided, url=approval_url)


register_approval_kind()  # the engine must know the kind wherever an approval of it is acted on


def ensure_reference() -> None:
    """Numbering rule and the default approval flow (idempotent; reference data and the first use call it)."""
    from models.system import NumberingRule

    session = _session()
    if session.execute(select(NumberingRule.id).where(NumberingRule.kind == NUMBERING_RULE[0]).limit(1)).first() is None:
        kind, name, prefix, date_format, width = NUMBERING_RULE
        session.add(NumberingRule(kind=kind, name=name, prefix=prefix, date_format=date_format, seq_width=width))
        session.flush()
    register_approval_kind()
    _approval().ensure_default_flow(APPROVAL_KIND, *DEFAULT_FLOW)


# --- input helpers ---------------------------------------------------------------------------------------

def _id(value, message) -> int:
    """A record id from a URL, form or JSON; anything else (or out of the INTEGER range) is a 404."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value < 2**31:
            raise NotFound(message)
        return value
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise NotFound(message)
    return int(text)


def _text(value, limit, field, label, required=False):
    from views.api_support import storable

    if value is not None and not isinstance(value, (str, int, float, Decimal)):
        raise ValidationError(gettext("%(label)s: the value is not valid.", label=label), field)
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise ValidationError(gettext("%(label)s is required.", label=label), field)
    if len(text) > limit:
        raise ValidationError(gettext("%(label)s is too long (at most %(n)d characters).", label=label, n=limit),
                              field)
    if text and not storable(text):
        raise ValidationError(gettext("The text contains characters that cannot be stored."), field)
    return text or None


def _date(value, field, label, required=False) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=label), field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(gettext("%(label)s is not a valid date (YYYY-MM-DD).", label=label), field) from None


def _amount(value, field, label, required=True) -> Decimal | None:
    if value in (None, "") and not required:
        return None
    amount = to_decimal(value, field, label)
    if amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(ZERO):
        raise ValidationError(gettext("%(label)s must be an amount above zero in yuan and fen.", label=label), field)
    return amount


def _rate(value, field, label) -> Decimal | None:
    if value in (None, ""):
        return None
    rate = to_decimal(value, field, label)
    if rate <= 0 or rate > 1 or rate != rate.quantize(Decimal("0.000001")):
        raise ValidationError(gettext("%(label)s must be a fraction above 0 and at most 1 (0.7 = 70%%).",
                                      label=label), field)
    return rate


def _months(value, field, label) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 60:
        raise ValidationError(gettext("%(label)s must be a whole number of months from 1 to 60.", label=label), field)
    return int(text)


def _add_months(day: date, months: int) -> date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


# --- kind-specific fields (configured like the customer elements) --------------------------------------------

def field_defs(kind: str | None = None, enabled_only: bool = True) -> list[CollateralFieldDef]:
    """The administrator's fields of a kind (and those of every kind), in display order."""
    query = select(CollateralFieldDef).order_by(CollateralFieldDef.sort_order, CollateralFieldDef.id)
    if enabled_only:
        query = query.where(CollateralFieldDef.enabled.is_(True))
    if kind is not None:
        query = query.where(CollateralFieldDef.kind.in_(("all", kind)))
    return list(_session().execute(query).scalars())


def validate_field_def(item: CollateralFieldDef) -> None:
    """Screen and API check of a field definition."""
    import re

    from app.services.reference import dict_choices

    item.code = (item.code or "").strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", item.code):
        raise ValidationError(gettext("The code must start with a letter and hold only lower-case letters, "
                                      "digits and underscores (at most 40)."), "code")
    with _session().no_autoflush:
        clash = _session().execute(select(CollateralFieldDef.id).where(
            CollateralFieldDef.code == item.code, CollateralFieldDef.id != (item.id or 0))).scalar()
    if clash is not None:
        raise ValidationError(gettext("Another field already has this code."), "code")
    item.label = (item.label or "").strip()
    if not item.label:
        raise ValidationError(gettext("Enter the label users see."), "label")
    if item.kind not in FIELD_KIND_LABELS:
        raise ValidationError(gettext("Choose the collateral kind the field applies to."), "kind")
    if item.field_type not in FIELD_TYPES:
        raise ValidationError(gettext("Choose the field type."), "field_type")
    if item.field_type == "choice":
        if not item.dict_type or not dict_choices(item.dict_type):
            raise ValidationError(gettext("A choice field needs a dictionary with entries."), "dict_type")
    else:
        item.dict_type = None


def _apply_extra(item: Collateral, values) -> None:
    """Check the kind-specific values ({code: raw}) and the required fields of the kind; store them in extra."""
    from app.services.customer_extras import normalise

    if values is not None and not isinstance(values, dict):
        raise ValidationError(gettext("extra must be an object of field codes and values."), "extra")
    defs = {d.code: d for d in field_defs(item.kind)}
    current = dict(item.extra or {})
    for code, raw in (values or {}).items():
        defn = defs.get(code)
        if defn is None:
            raise ValidationError(gettext("Unknown collateral field: %(code)s", code=str(code)[:40]), "extra")
        value = normalise(defn, raw)
        if value is None:
            current.pop(code, None)
        else:
            current[code] = value
    for defn in defs.values():
        if defn.required and not current.get(defn.code):
            raise ValidationError(gettext("%(label)s is required.", label=defn.label), f"extra__{defn.code}")
    item.extra = current or None


def extra_display(item: Collateral) -> list[tuple[str, str]]:
    """(label, value) of the kind-specific fields, for the page."""
    from app.services.customer_extras import display

    values = item.extra or {}
    return [(d.label, display(d, values.get(d.code))) for d in field_defs(item.kind) if values.get(d.code)]


# --- the registry (COL-1) ------------------------------------------------------------------------------------

def get(collateral_id, *, lock=False) -> Collateral:
    """The collateral (404 when missing or outside the current user's data scope); `lock` takes the row lock."""
    from app.services.data_scope import ensure_visible

    pk = _id(collateral_id, gettext("The collateral does not exist."))
    query = select(Collateral).where(Collateral.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = _session().execute(query).scalar()
    if item is None:
        raise NotFound(gettext("The collateral does not exist."))
    return ensure_visible(item)


def _customer(value, field, required=True):
    from app.services.data_scope import ensure_visible
    from models.customers import Customer

    if value in (None, ""):
        if required:
            raise ValidationError(gettext("%(label)s is required.", label=gettext("Customer")), field)
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise ValidationError(gettext("The customer does not exist."), field)
    customer = _session().get(Customer, int(text))
    if customer is None:
        raise ValidationError(gettext("The customer does not exist."), field)
    if field == "customer_id":
        ensure_visible(customer)  # an account manager registers collateral for his own customers only
    return customer


def _fill(item: Collateral, data: dict) -> None:
    """The fields shared by register and update (everything except kind and customer)."""
    item.name = _text(data.get("name"), 200, "name", gettext("Collateral name"), required=True)
    owner_type = str(data.get("owner_type") or "customer")
    if owner_type not in OWNER_TYPES:
        raise ValidationError(gettext("Choose who owns the collateral."), "owner_type")
    item.owner_type = owner_type
    if owner_type == "customer":
        customer = item.customer
        item.owner_customer_id = item.customer_id
        item.owner_name = customer.name
        item.owner_id_number = customer.id_number
    else:
        owner = _customer(data.get("owner_customer_id"), "owner_customer_id", required=False)
        if owner is not None and owner.id == item.customer_id:
            raise ValidationError(gettext("A third-party owner is not the customer itself."), "owner_customer_id")
        item.owner_customer_id = owner.id if owner is not None else None
        item.owner_name = owner.name if owner is not None else _text(
            data.get("owner_name"), 200, "owner_name", gettext("Owner"), required=True)
        item.owner_id_number = owner.id_number if owner is not None else _text(
            data.get("owner_id_number"), 40, "owner_id_number", gettext("Owner's ID number"))
    item.location = _text(data.get("location"), 300, "location", gettext("Location"))
    item.description = _text(data.get("description"), 4000, "description", gettext("Description"))
    rate = _rate(data.get("max_mortgage_rate"), "max_mortgage_rate", gettext("Maximum mortgage rate"))
    item.max_mortgage_rate = rate if rate is not None else Decimal(DEFAULT_MORTGAGE_RATES[item.kind])
    item.insurance_company = _text(data.get("insurance_company"), 200, "insurance_company",
                                   gettext("Insurance company"))
    item.insurance_policy = _text(data.get("insurance_policy"), 60, "insurance_policy", gettext("Insurance policy"))
    item.insurance_expiry = _date(data.get("insurance_expiry"), "insurance_expiry", gettext("Insurance expiry"))
    if item.insurance_expiry is not None and not item.insurance_company:
        raise ValidationError(gettext("Name the insurance company of the policy."), "insurance_company")
    months = _months(data.get("monitor_months"), "monitor_months", gettext("Monitoring interval (months)"))
    if months != item.monitor_months:
        item.monitor_months = months
        last = item.monitorings[0].report_date if item.id and item.monitorings else _today()
        item.next_monitor_date = _add_months(last, months) if months else None
    item.note = _text(data.get("note"), 2000, "note", gettext("Note"))


def _extra_values(data: dict) -> dict | None:
    """Kind-specific values from a nested "extra" object (API) or extra__<code> form fields (screen)."""
    if "extra" in data:
        return data.get("extra")
    values = {k[len("extra__"):]: v for k, v in data.items() if isinstance(k, str) and k.startswith("extra__")}
    return values or None


def register(data: dict, user_id: int) -> Collateral:
    """A new collateral item for a customer the user may see.

    data: name, kind, customer_id, owner_type (customer | third_party), owner_customer_id or owner_name and
    owner_id_number, location, description, max_mortgage_rate, insurance_company / _policy / _expiry,
    monitor_months, note, the kind's fields (extra {code: value} or extra__<code>), optionally a first appraisal
    (agency, valuation_date, value) and measure_id (a counter-guarantee measure it secures)."""
    from app.services import numbering

    data = dict(data or {})
    ensure_reference()
    customer = _customer(data.get("customer_id"), "customer_id")
    kind = str(data.get("kind") or "")
    if kind not in KINDS:
        raise ValidationError(gettext("Choose the kind of collateral."), "kind")
    item = Collateral(kind=kind, customer_id=customer.id, customer=customer, status="registered")
    with _session().no_autoflush:
        _fill(item, data)
        _apply_extra(item, _extra_values(data))
    item.code = numbering.next_number(NUMBERING_RULE[0])
    _session().add(item)
    _session().flush()
    if data.get("value") not in (None, ""):
        add_valuation(item.id, {"agency": data.get("agency"), "valuation_date": data.get("valuation_date"),
                                "value": data.get("value"), "method": data.get("method"),
                                "report_number": data.get("report_number")}, user_id)
    if data.get("measure_id") not in (None, ""):
        link_measure(item.id, data.get("measure_id"), user_id)
    return item


EDITABLE = ("name", "owner_type", "owner_customer_id", "owner_name", "owner_id_number", "location", "description",
            "max_mortgage_rate", "insurance_company", "insurance_policy", "insurance_expiry", "monitor_months", "note")


def editable_values(item: Collateral) -> dict:
    """The registry fields as form values (text; a customer owner leaves the third-party fields empty)."""
    values = {c: getattr(item, c) for c in EDITABLE}
    if item.owner_type == "customer":
        values.update(owner_customer_id=None, owner_name=None, owner_id_number=None)
    return {k: ("" if v is None else (v.isoformat() if isinstance(v, date) else str(v))) for k, v in values.items()}


def update(collateral_id, data: dict, user_id: int) -> Collateral:
    """Change the registry fields (kind and customer stay: they decide the fields and who sees the item)."""
    item = get(collateral_id, lock=True)
    if item.status == "disposed":
        raise Conflict(gettext("A disposed collateral item cannot be changed."))
    # Fields not sent keep their values (an API call may change one field).
    data = {**editable_values(item), **dict(data or {})}
    with _session().no_autoflush:
        _fill(item, data)
        _apply_extra(item, _extra_values(data))
    _session().flush()
    return item


# --- link to counter-guarantee measures ------------------------------------------------------------------

def _measure(measure_id):
    from models.business import CounterMeasure

    pk = _id(measure_id, gettext("The counter-guarantee measure does not exist."))
    measure = _session().execute(select(CounterMeasure).where(CounterMeasure.id == pk).with_for_update()
                                 .execution_options(populate_existing=True)).scalar()
    if measure is None:
        raise NotFound(gettext("The counter-guarantee measure does not exist."))
    return measure


def link_measure(collateral_id, measure_id, user_id: int) -> Collateral:
    """The collateral secures the measure's guarantee (mortgage, pledge, lien, deposit of the same customer)."""
    from app.services.data_scope import ensure_visible

    item = get(collateral_id, lock=True)
    measure = _measure(measure_id)
    guarantee = ensure_visible(measure.guarantee)
    if item.status not in IN_USE:
        raise Conflict(gettext("The collateral %(code)s is %(status)s and secures nothing more.", code=item.code,
                               status=str(STATUS_LABELS[item.status])))
    if measure.kind not in SECURED_MEASURES:
        raise ValidationError(gettext("A counter-guarantee of this kind holds no collateral."), "measure_id")
    if guarantee.customer_id != item.customer_id:
        raise ValidationError(gettext("The measure belongs to another customer's guarantee."), "measure_id")
    if guarantee.status != "active":
        raise Conflict(gettext("The guarantee %(code)s is closed.", code=guarantee.code))
    if measure.collateral_id not in (None, item.id):
        raise Conflict(gettext("The measure is already linked to another collateral item."))
    measure.collateral_id = item.id
    if item.value is not None and measure.value is None:
        measure.value = item.value
    item.status = "pledged"
    _session().flush()
    _check_coverage_now(item)
    return item


def unlink_measure(measure_id, user_id: int) -> None:
    """Take the collateral off a measure of an application not yet in force."""
    from app.services.data_scope import ensure_visible

    measure = _measure(measure_id)
    guarantee = ensure_visible(measure.guarantee)
    if measure.collateral_id is None:
        return
    if guarantee.stage in ("in_force", "released"):
        raise Conflict(gettext("The guarantee %(code)s is in force: its collateral is released only with the "
                               "guarantee.", code=guarantee.code))
    collateral_id = measure.collateral_id
    measure.collateral_id = None
    _session().flush()
    item = _session().get(Collateral, collateral_id)
    if item is not None and item.status == "pledged" and not _linked_measure_ids(item.id):
        item.status = "registered"
    _session().flush()


def _linked_measure_ids(collateral_id) -> list[int]:
    from models.business import CounterMeasure

    return list(_session().execute(select(CounterMeasure.id).where(CounterMeasure.collateral_id == collateral_id))
                .scalars())


def secured_guarantees(collateral_id) -> list:
    """The guarantees (any state) whose measures this collateral secures, newest first."""
    from models.business import CounterMeasure, Guarantee

    return list(_session().execute(
        select(Guarantee).join(CounterMeasure, CounterMeasure.guarantee_id == Guarantee.id)
        .where(CounterMeasure.collateral_id == collateral_id).distinct().order_by(Guarantee.id.desc())).scalars())


def measures_to_link(item: Collateral) -> list:
    """Measures of the customer's active applications that could take this collateral (none linked yet)."""
    from models.business import CounterMeasure, Guarantee

    return list(_session().execute(
        select(CounterMeasure).join(Guarantee, CounterMeasure.guarantee_id == Guarantee.id)
        .where(Guarantee.customer_id == item.customer_id, Guarantee.status == "active",
               CounterMeasure.kind.in_(SECURED_MEASURES), CounterMeasure.collateral_id.is_(None))
        .order_by(CounterMeasure.id.desc()).limit(50)).scalars())


# --- coverage and mortgage rate (COL-3) ------------------------------------------------------------------------

def _secured_pairs():
    """(guarantee_id, collateral_id) once per pair, collateral still in use (a subquery for set-based checks)."""
    from models.business import CounterMeasure

    return (select(CounterMeasure.guarantee_id.label("guarantee_id"),
                   CounterMeasure.collateral_id.label("collateral_id"))
            .join(Collateral, Collateral.id == CounterMeasure.collateral_id)
            .where(Collateral.status.in_(IN_USE)).distinct().subquery())


def collateral_value_of(guarantee_id) -> Decimal | None:
    """The appraised value of the collateral securing the guarantee (None: no collateral)."""
    pairs = _secured_pairs()
    row = _session().execute(
        select(func.count(pairs.c.collateral_id), func.sum(Collateral.value))
        .select_from(pairs).join(Collateral, Collateral.id == pairs.c.collateral_id)
        .where(pairs.c.guarantee_id == guarantee_id)).one()
    if not row[0]:
        return None
    return Decimal(row[1] or 0).quantize(ZERO, rounding=ROUND_HALF_UP)


def coverage(guarantee_id) -> Decimal | None:
    """Collateral value over the guarantee's balance (1.25 = the collateral is worth 125 % of the balance);
    None when the guarantee has no balance or no collateral."""
    from models.business import Guarantee

    guarantee = _session().get(Guarantee, guarantee_id)
    if guarantee is None or not guarantee.balance or guarantee.balance <= 0:
        return None
    value = collateral_value_of(guarantee.id)
    if value is None:
        return None
    return (value / Decimal(guarantee.balance)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def secured_balance(collateral_id) -> Decimal:
    """Balance of the guarantees in force this collateral secures."""
    from models.business import CounterMeasure, Guarantee

    ids = select(CounterMeasure.guarantee_id).where(CounterMeasure.collateral_id == collateral_id)
    total = _session().execute(select(func.sum(Guarantee.balance)).where(
        Guarantee.id.in_(ids), Guarantee.stage == "in_force", Guarantee.status == "active")).scalar()
    return Decimal(total or 0).quantize(ZERO)


def mortgage_rate(item: Collateral) -> Decimal | None:
    """抵押率: the balance in force it secures over its appraised value (None without a value)."""
    if not item.value:
        return None
    return (secured_balance(item.id) / Decimal(item.value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# --- valuations and monitoring (COL-3) ----------------------------------------------------------------------

def add_valuation(collateral_id, data: dict, user_id: int) -> CollateralValuation:
    """An appraisal or revaluation (agency, valuation_date ≤ business date, value, method, report_number, note).
    The latest appraisal by date becomes the collateral's value; the coverage warning is checked at once."""
    data = dict(data or {})
    item = get(collateral_id, lock=True)
    if item.status == "disposed":
        raise Conflict(gettext("A disposed collateral item cannot be changed."))
    agency = _text(data.get("agency"), 200, "agency", gettext("Appraisal agency"), required=True)
    on = _date(data.get("valuation_date") or _today(), "valuation_date", gettext("Valuation date"))
    if on > _today():
        raise ValidationError(gettext("The valuation date is after the business date %(today)s.",
                                      today=_today().isoformat()), "valuation_date")
    value = _amount(data.get("value"), "value", gettext("Appraised value"))
    valuation = CollateralValuation(
        collateral_id=item.id, agency=agency, valuation_date=on, value=value, previous_value=item.value,
        method=_text(data.get("method"), 60, "method", gettext("Valuation method")),
        report_number=_text(data.get("report_number"), 60, "report_number", gettext("Report number")),
        note=_text(data.get("note"), 500, "note", gettext("Note")))
    _session().add(valuation)
    if item.value_date is None or on >= item.value_date:
        item.value = value
        item.value_date = on
    _session().flush()
    _check_coverage_now(item)
    return valuation


def add_monitoring(collateral_id, data: dict, user_id: int) -> CollateralMonitoring:
    """押品监管报告: report_date ≤ business date, condition (normal | attention | abnormal), findings,
    estimated_value (optional); the next report is due monitor_months later."""
    data = dict(data or {})
    item = get(collateral_id, lock=True)
    on = _date(data.get("report_date") or _today(), "report_date", gettext("Report date"))
    if on > _today():
        raise ValidationError(gettext("The report date is after the business date %(today)s.",
                                      today=_today().isoformat()), "report_date")
    condition = str(data.get("condition") or "")
    if condition not in CONDITION_LABELS:
        raise ValidationError(gettext("Choose the condition found."), "condition")
    findings = _text(data.get("findings"), 4000, "findings", gettext("Findings"), required=True)
    report = CollateralMonitoring(
        collateral_id=item.id, report_date=on, condition=condition, findings=findings,
        estimated_value=_amount(data.get("estimated_value"), "estimated_value", gettext("Estimated value"),
                                required=False),
        user_id=user_id)
    if item.monitor_months:
        report.next_date = _add_months(on, item.monitor_months)
        if item.next_monitor_date is None or report.next_date > item.next_monitor_date:
            item.next_monitor_date = report.next_date
    _session().add(report)
    _session().flush()
    return report


def _check_coverage_now(item: Collateral) -> None:
    """A value changed: raise the coverage warning at once for the guarantees in force this collateral secures
    (the rule's threshold and level as the administrator set them), instead of waiting for the day-end."""
    try:
        from app.services import warnings
    except ImportError:  # post-guarantee warnings not installed
        return
    from app.services.collateral_warnings import COVERAGE_LOW, DEFAULT_COVERAGE, _param
    from app.services.products import percent

    if COVERAGE_LOW not in warnings.registered_rules():
        return
    active, _level, params = warnings.rule_config(COVERAGE_LOW)
    if not active:
        return
    ratio = _param(params, "coverage", DEFAULT_COVERAGE)
    for guarantee in secured_guarantees(item.id):
        if not guarantee.in_force:
            continue
        value = coverage(guarantee.id)
        if value is not None and value < ratio:
            warnings.raise_warning(COVERAGE_LOW, f"coverage:{guarantee.id}", guarantee_id=guarantee.id,
                                   message=gettext("The collateral of guarantee %(code)s is worth less than "
                                                   "%(ratio)s of its balance.", code=guarantee.code,
                                                   ratio=percent(ratio)))


# --- certificates and the vault (COL-2) ----------------------------------------------------------------------

def _certificate(certificate_id, *, lock=False, check_scope=True) -> CollateralCertificate:
    from app.services.data_scope import ensure_visible

    pk = _id(certificate_id, gettext("The certificate does not exist."))
    query = select(CollateralCertificate).where(CollateralCertificate.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    cert = _session().execute(query).scalar()
    if cert is None:
        raise NotFound(gettext("The certificate does not exist."))
    return ensure_visible(cert) if check_scope else cert


def get_certificate(certificate_id) -> CollateralCertificate:
    return _certificate(certificate_id)


def add_certificate(collateral_id, data: dict, user_id: int) -> CollateralCertificate:
    """权证: cert_type, number, issuing_authority, registration_date, mortgage_registration_number,
    expiry_date, note. It is recorded outside the vault until checked in."""
    data = dict(data or {})
    item = get(collateral_id, lock=True)
    if item.status not in IN_USE:
        raise Conflict(gettext("The collateral %(code)s is %(status)s: no new certificates.", code=item.code,
                               status=str(STATUS_LABELS[item.status])))
    cert = CollateralCertificate(
        collateral_id=item.id, status="registered",
        cert_type=_text(data.get("cert_type"), 60, "cert_type", gettext("Certificate type"), required=True),
        number=_text(data.get("number"), 80, "number", gettext("Certificate number"), required=True),
        issuing_authority=_text(data.get("issuing_authority"), 200, "issuing_authority",
                                gettext("Issuing authority")),
        registration_date=_date(data.get("registration_date"), "registration_date", gettext("Registration date")),
        mortgage_registration_number=_text(data.get("mortgage_registration_number"), 80,
                                           "mortgage_registration_number", gettext("Mortgage registration number")),
        expiry_date=_date(data.get("expiry_date"), "expiry_date", gettext("Expiry date")),
        note=_text(data.get("note"), 500, "note", gettext("Note")))
    if cert.registration_date and cert.registration_date > _today():
        raise ValidationError(gettext("The registration date is after the business date %(today)s.",
                                      today=_today().isoformat()), "registration_date")
    if cert.expiry_date and cert.registration_date and cert.expiry_date < cert.registration_date:
        raise ValidationError(gettext("The certificate cannot expire before it was registered."), "expiry_date")
    clash = _session().execute(select(CollateralCertificate.id).where(
        CollateralCertificate.cert_type == cert.cert_type, CollateralCertificate.number == cert.number,
        CollateralCertificate.status != "out")).first()
    if clash is not None:
        raise Conflict(gettext("A certificate %(type)s %(number)s is already registered.", type=cert.cert_type,
                               number=cert.number))
    _session().add(cert)
    _session().flush()
    return cert


def renew_certificate(certificate_id, data: dict, user_id: int) -> CollateralCertificate:
    """A renewed or corrected certificate: new expiry date (and registration number / note); an expiry warning
    of the old date stays with the old cause, the new date is a new cause."""
    data = dict(data or {})
    cert = _certificate(certificate_id, lock=True)
    if cert.status == "out":
        raise Conflict(gettext("The certificate %(number)s is out of the vault for good.", number=cert.number))
    expiry = _date(data.get("expiry_date"), "expiry_date", gettext("Expiry date"), required=True)
    if cert.registration_date and expiry < cert.registration_date:
        raise ValidationError(gettext("The certificate cannot expire before it was registered."), "expiry_date")
    cert.expiry_date = expiry
    if data.get("mortgage_registration_number") not in (None, ""):
        cert.mortgage_registration_number = _text(data.get("mortgage_registration_number"), 80,
                                                  "mortgage_registration_number",
                                                  gettext("Mortgage registration number"))
    if data.get("note") not in (None, ""):
        cert.note = _text(data.get("note"), 500, "note", gettext("Note"))
    _session().flush()
    return cert


def _open_request(cert_id) -> CertificateMovement | None:
    return _session().execute(select(CertificateMovement).where(
        CertificateMovement.certificate_id == cert_id, CertificateMovement.status == "pending")).scalar()


def _move(cert, action, user_id, **values) -> CertificateMovement:
    move = CertificateMovement(certificate_id=cert.id, action=action, requested_by_id=user_id,
                               requested_on=_today(), **values)
    _session().add(move)
    return move


def check_in(certificate_id, user_id: int, location) -> CollateralCertificate:
    """入库: a certificate not (or no longer) in the vault is put at `location` (cabinet / shelf)."""
    location = _text(location, 100, "location", gettext("Vault location"), required=True)
    cert = _certificate(certificate_id, lock=True)
    if cert.status not in ("registered", "out"):
        raise Conflict(gettext("The certificate %(number)s cannot be put into the vault: it is %(status)s.",
                               number=cert.number, status=str(CERTIFICATE_STATUS_LABELS[cert.status])))
    if cert.collateral.status not in IN_USE:
        raise Conflict(gettext("The collateral %(code)s is %(status)s: its certificates go back to the owner.",
                               code=cert.collateral.code, status=str(STATUS_LABELS[cert.collateral.status])))
    _move(cert, "in", user_id, status="done", location=location, done_on=_today())
    cert.status, cert.vault_location, cert.holder, cert.due_back = "in_vault", location, None, None
    _session().flush()
    return cert


def give_back(certificate_id, user_id: int, location=None) -> CollateralCertificate:
    """归还: a lent certificate comes back to the vault (its old place unless another is given)."""
    location = _text(location, 100, "location", gettext("Vault location"))
    cert = _certificate(certificate_id, lock=True)
    if cert.status != "lent":
        raise Conflict(gettext("The certificate %(number)s is not lent out (%(status)s).", number=cert.number,
                               status=str(CERTIFICATE_STATUS_LABELS[cert.status])))
    location = location or cert.vault_location
    _move(cert, "back", user_id, status="done", location=location, recipient=cert.holder, done_on=_today())
    cert.status, cert.vault_location, cert.holder, cert.due_back = "in_vault", location, None, None
    _session().flush()
    return cert


def request_out(certificate_id, user_id: int, data: dict) -> CertificateMovement:
    """借阅 (action "lend": recipient, due_back, reason) or 出库 (action "out": recipient, purpose, reason) of a
    certificate in the vault: a request sent to the approval engine; the certificate stays until approved."""
    data = dict(data or {})
    action = str(data.get("action") or "")
    if action not in ("lend", "out"):
        raise ValidationError(gettext("Choose lending or taking out of the vault."), "action")
    recipient = _text(data.get("recipient"), 100, "recipient", gettext("Recipient"), required=True)
    reason = _text(data.get("reason"), 500, "reason", gettext("Reason"), required=True)
    due_back = purpose = None
    if action == "lend":
        due_back = _date(data.get("due_back"), "due_back", gettext("Due back"), required=True)
        if due_back < _today():
            raise ValidationError(gettext("The due date is before the business date %(today)s.",
                                          today=_today().isoformat()), "due_back")
    else:
        purpose = str(data.get("purpose") or "other")
        if purpose not in PURPOSE_LABELS:
            raise ValidationError(gettext("Choose the purpose of taking the certificate out."), "purpose")
    cert = _certificate(certificate_id, lock=True)
    return _request(cert, user_id, action, recipient=recipient, reason=reason, due_back=due_back, purpose=purpose)


def _request(cert, user_id, action, **values) -> CertificateMovement:
    if cert.status != "in_vault":
        raise Conflict(gettext("The certificate %(number)s is not in the vault (%(status)s).", number=cert.number,
                               status=str(CERTIFICATE_STATUS_LABELS[cert.status])))
    if _open_request(cert.id) is not None:
        raise Conflict(gettext("The certificate %(number)s already has a request under approval.",
                               number=cert.number))
    ensure_reference()
    move = _move(cert, action, user_id, status="pending", **values)
    _session().flush()
    title = gettext("%(action)s: %(type)s %(number)s (%(collateral)s)", action=str(MOVE_ACTION_LABELS[action]),
                    type=cert.cert_type, number=cert.number, collateral=cert.collateral.code)
    _approval().submit(APPROVAL_KIND, move, user_id, comment=values.get("reason") or "", title=title)
    return move


def pending_requests(collateral_id) -> list[CertificateMovement]:
    return list(_session().execute(
        select(CertificateMovement).join(CollateralCertificate)
        .where(CollateralCertificate.collateral_id == collateral_id, CertificateMovement.status == "pending")
        .order_by(CertificateMovement.id)).scalars())


def movements_of(collateral_id, limit: int = 200) -> list[CertificateMovement]:
    return list(_session().execute(
        select(CertificateMovement).join(CollateralCertificate)
        .where(CollateralCertificate.collateral_id == collateral_id)
        .order_by(CertificateMovement.id.desc()).limit(limit)).scalars())


def where_is(cert: CollateralCertificate) -> str:
    """Where the certificate is now, in words."""
    if cert.status == "in_vault":
        return gettext("In the vault: %(location)s", location=cert.vault_location or "")
    if cert.status == "lent":
        return gettext("Lent to %(holder)s, due back %(date)s", holder=cert.holder or "",
                       date=cert.due_back.isoformat() if cert.due_back else "")
    if cert.status == "out":
        return gettext("Out of the vault: %(holder)s", holder=cert.holder or "")
    return gettext("Not yet in the vault")


# --- release (POST-8) ----------------------------------------------------------------------------------------

def queue_certificates_for_return(guarantee_id, user_id: int) -> int:
    """The guarantee is released: collateral that secures no other active guarantee is released, and each of its
    certificates is queued for return to the owner — a certificate in the vault gets an out-of-vault request
    (purpose "release_return") in the approval engine. Returns the number of certificates queued."""
    from models.business import CounterMeasure, Guarantee

    others = (select(CounterMeasure.id).join(Guarantee, Guarantee.id == CounterMeasure.guarantee_id)
              .where(CounterMeasure.collateral_id == Collateral.id, Guarantee.id != guarantee_id,
                     Guarantee.status == "active").exists())
    ids = select(CounterMeasure.collateral_id).where(CounterMeasure.guarantee_id == guarantee_id,
                                                     CounterMeasure.collateral_id.is_not(None))
    items = _session().execute(select(Collateral).where(Collateral.id.in_(ids), Collateral.status.in_(IN_USE), ~others)
                               .order_by(Collateral.id).with_for_update()).scalars().all()
    queued = 0
    today = _today()
    reason = gettext("Guarantee released: return to the owner")
    for item in items:
        item.status = "released"
        for cert in _session().execute(select(CollateralCertificate).where(
                CollateralCertificate.collateral_id == item.id, CollateralCertificate.status != "out")
                .order_by(CollateralCertificate.id).with_for_update()).scalars():
            cert.return_queued, cert.return_queued_on = True, today
            queued += 1
            if cert.status == "in_vault" and _open_request(cert.id) is None:
                _request(cert, user_id, "out", recipient=item.owner_name[:100], reason=reason,
                         purpose="release_return")
    _session().flush()
    return queued


def request_return(certificate_id, user_id: int) -> CertificateMovement:
    """The out-of-vault request of a certificate queued for return that was lent at release (back now)."""
    cert = _certificate(certificate_id, lock=True)
    if not cert.return_queued:
        raise Conflict(gettext("The certificate %(number)s is not queued for return.", number=cert.number))
    return _request(cert, user_id, "out", recipient=cert.collateral.owner_name[:100],
                    reason=gettext("Guarantee released: return to the owner"), purpose="release_return")


# --- JSON (REST API) --------------------------------------------------------------------------------------

def _iso(value):
    return value.isoformat() if value is not None else None


def _str(value):
    return str(value) if value is not None else None


def certificate_json(cert: CollateralCertificate) -> dict:
    return {"id": cert.id, "collateral_id": cert.collateral_id, "cert_type": cert.cert_type, "number": cert.number,
            "issuing_authority": cert.issuing_authority, "registration_date": _iso(cert.registration_date),
            "mortgage_registration_number": cert.mortgage_registration_number,
            "expiry_date": _iso(cert.expiry_date), "status": cert.status, "vault_location": cert.vault_location,
            "holder": cert.holder, "due_back": _iso(cert.due_back), "return_queued": bool(cert.return_queued)}


def movement_json(move: CertificateMovement) -> dict:
    return {"id": move.id, "certificate_id": move.certificate_id, "action": move.action, "status": move.status,
            "purpose": move.purpose, "reason": move.reason, "recipient": move.recipient,
            "due_back": _iso(move.due_back), "location": move.location, "requested_by_id": move.requested_by_id,
            "requested_on": _iso(move.requested_on), "done_on": _iso(move.done_on)}


def to_json(item: Collateral) -> dict:
    return {
        "id": item.id, "code": item.code, "name": item.name, "kind": item.kind, "customer_id": item.customer_id,
        "owner_type": item.owner_type, "owner_customer_id": item.owner_customer_id, "owner_name": item.owner_name,
        "location": item.location, "status": item.status, "value": _str(item.value),
        "value_date": _iso(item.value_date), "max_mortgage_rate": _str(item.max_mortgage_rate),
        "mortgage_rate": _str(mortgage_rate(item)), "insurance_company": item.insurance_company,
        "insurance_policy": item.insurance_policy, "insurance_expiry": _iso(item.insurance_expiry),
        "monitor_months": item.monitor_months, "next_monitor_date": _iso(item.next_monitor_date),
        "extra": item.extra or {}, "note": item.note,
        "certificates": [certificate_json(c) for c in item.certificates],
        "guarantee_ids": [g.id for g in secured_guarantees(item.id)],
    }


def _register_warning_rules() -> None:
    from app.services import collateral_warnings

    collateral_warnings.register()


_register_warning_rules()


# --- demo data -----------------------------------------------------------------------------------------------

DEMO_FIELDS = (("building_area", "建筑面积(㎡)", "real_estate", "number"), ("land_use", "土地用途", "real_estate", "text"),
               ("vin", "车架号", "vehicle", "text"), ("plate_number", "车牌号", "vehicle", "text"))


def load_demo_collateral(limit: int = 40) -> int:
    """Demo: kind fields, and a registered collateral item with a certificate in the vault for the mortgage and
    pledge measures of guarantees in force (idempotent: nothing when collateral exists). Returns items made."""
    from models.business import CounterMeasure, Guarantee

    session = _session()
    ensure_reference()
    have = set(session.execute(select(CollateralFieldDef.code)).scalars())
    for order, (code, label, kind, field_type) in enumerate(DEMO_FIELDS):
        if code not in have:
            session.add(CollateralFieldDef(code=code, label=label, kind=kind, field_type=field_type, required=False,
                                           sort_order=order, enabled=True))
    session.flush()
    if session.execute(select(Collateral.id).limit(1)).first() is not None:
        return 0
    rows = session.execute(
        select(CounterMeasure, Guarantee).join(Guarantee, Guarantee.id == CounterMeasure.guarantee_id)
        .where(Guarantee.stage == "in_force", Guarantee.status == "active",
               CounterMeasure.kind.in_(("mortgage", "pledge")), CounterMeasure.collateral_id.is_(None))
        .order_by(Guarantee.id).limit(limit)).all()
    if len(rows) < limit:
        # Backfilled guarantees come without measures: give some of them a mortgage to carry the demo collateral.
        bare = session.execute(
            select(Guarantee).where(Guarantee.stage == "in_force", Guarantee.status == "active",
                                    ~select(CounterMeasure.id).where(CounterMeasure.guarantee_id == Guarantee.id).exists())
            .order_by(Guarantee.id).limit(limit - len(rows))).scalars().all()
        for guarantee in bare:
            measure = CounterMeasure(guarantee_id=guarantee.id, kind="mortgage", description="房产抵押",
                                     value=(Decimal(guarantee.amount) * Decimal("1.5")).quantize(ZERO))
            session.add(measure)
            rows.append((measure, guarantee))
        session.flush()
    made = 0
    for i, (measure, guarantee) in enumerate(rows):
        user_id = guarantee.manager_id
        kind = "real_estate" if measure.kind == "mortgage" else _demo_kind(measure.description, i)
        value = measure.value or (Decimal(guarantee.amount) * Decimal("1.5")).quantize(ZERO)
        data = {"customer_id": guarantee.customer_id, "kind": kind,
                "name": (measure.description or str(KIND_LABELS[kind]))[:200], "agency": "中诚资产评估有限公司",
                "value": str(value), "measure_id": measure.id, "monitor_months": "6"}
        if kind == "real_estate":
            data["extra"] = {"building_area": str(120 + 15 * i), "land_use": "工业用地"}
        item = register(data, user_id)
        cert_type = {"real_estate": "不动产登记证明", "vehicle": "机动车登记证书"}.get(kind, "质押登记通知书")
        cert = add_certificate(item.id, {"cert_type": cert_type, "number": f"DEMO-{item.code}",
                                         "mortgage_registration_number": f"DJ{item.code[-7:]}"}, user_id)
        check_in(cert.id, user_id, f"A柜-{i // 10 + 1:02d}-{i % 10 + 1:02d}")
        made += 1
    session.flush()
    return made


def _demo_kind(description, i) -> str:
    """The kind a demo pledge's description names (应收账款质押 is a receivable), else one in turn."""
    for word, kind in (("应收", "receivable"), ("股权", "equity"), ("车", "vehicle"), ("存单", "deposit"),
                       ("专利", "intellectual_property"), ("设备", "equipment"), ("存货", "inventory")):
        if word in (description or ""):
            return kind
    return ("equity", "receivable", "vehicle")[i % 3]
