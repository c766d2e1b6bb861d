"""Online financing portal for enterprise customers (PORTAL-1, PORTAL-2, PORTAL-3).

An enterprise user is a FAB user holding only PORTAL_ROLE, a role with no permission at all: what it may do
is decided here and in views/portal.py, and `is_portal_user` is what the request guard (views/portal.py)
uses to keep such a user off every staff screen and API. One login per company (PortalCompany.user_id).

Flow: register (company, credit code, contact, password under the staff password policy) → staff verify
(approve links the company to its corporate customer, found by credit code or created, whose account
manager then handles its needs; reject says why) → the verified company sends financing needs, each one a
draft guarantee application (guarantees.create_application) of that account manager → the account manager
accepts it (guarantees.submit_application) and the business goes on in the staff system; the company sees
the stage in its own words, notices and the letters it may download, and its margin deposits.

Every function is one operation; the caller commits (except where an attachment upload commits itself).
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from stdnum.cn import uscc

from app.errors import Conflict, NotFound, ValidationError
from models.portal import PortalCompany, PortalNeed, PortalNotice

PORTAL_ROLE = "企业用户"  # data, like the other role names (app/permissions.py)
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{4,64}")
NEED_ATTACHMENT = "portal_need"  # attachments sub-record type: the files of a need, on the customer's file
ATTACHMENT_CATEGORY = "OTHER"

# What the company reads instead of the internal stages (no internal opinions, no approval details).
PUBLIC_STAGES = {
    "submitted": _l("Submitted, awaiting acceptance"), "review": _l("Under review"),
    "approved": _l("Approved, completing formalities"), "in_force": _l("Guarantee in force"),
    "completed": _l("Completed"), "declined": _l("Not approved"), "withdrawn": _l("Withdrawn"),
}
COMPANY_STATUS_LABELS = {"pending": _l("Awaiting verification"), "verified": _l("Verified"),
                         "rejected": _l("Not verified")}
NOTICE_LABELS = {
    "registration_approved": _l("Registration verified"), "registration_rejected": _l("Registration not verified"),
    "documents_requested": _l("Documents requested"), "approved": _l("Application approved"),
    "letter_ready": _l("Letter ready for download"),
}
# Letters addressed to the company that it downloads once their stage is reached (guarantees.DOCUMENT_STAGES).
PORTAL_LETTERS = ("intention_letter", "confirmation_letter", "loan_notice")
MARGIN_KINDS = {"margin_received": _l("Deposit received"), "margin_refunded": _l("Deposit refunded")}
MARGIN_STATUS_LABELS = {"pending": _l("Being recorded"), "vouchered": _l("Recorded")}


def _session():
    from app.extensions import db

    return db.session


def _text(value, limit, field, *, required=True) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if "\x00" in value:
        raise ValidationError(gettext("Not a valid value."), field)
    if required and not value:
        raise ValidationError(gettext("This field is required."), field)
    if len(value) > limit:
        raise ValidationError(gettext("At most %(max)s characters.", max=limit), field)
    return value or None


# --- who is an enterprise user --------------------------------------------------------------------------

def is_portal_user(user) -> bool:
    """True for a user holding the portal role (whatever else an administrator gave it: it stays fenced)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return any(role.name == PORTAL_ROLE for role in (getattr(user, "roles", None) or []))


def ensure_portal_role():
    """The portal role exists and holds no permission (not even the staff self-service ones). No commit."""
    from app.extensions import appbuilder

    sm = appbuilder.sm
    role = sm.find_role(PORTAL_ROLE)
    if role is None:
        role = sm.role_model(name=PORTAL_ROLE)
        _session().add(role)
    if role.permissions:
        role.permissions = []
    _session().flush()
    return role


def company_of(user) -> PortalCompany:
    company = _session().execute(select(PortalCompany).where(PortalCompany.user_id == user.id)).scalar()
    if company is None:
        raise NotFound(gettext("The page or record does not exist."))
    return company


def require_verified(company) -> None:
    if company.status != "verified":
        raise Conflict(gettext("Your registration has not been verified yet: this is possible once it is."))


# --- registration (PORTAL-1) ----------------------------------------------------------------------------

def check_credit_code(value) -> str:
    code = (value or "").strip().upper()
    if not code:
        raise ValidationError(gettext("This field is required."), "credit_code")
    if not uscc.is_valid(code):
        raise ValidationError(gettext("The unified social credit code is not valid."), "credit_code")
    return code


def _check_password(password, confirm) -> None:
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.services.login_policy import check_password_complexity

    if not password:
        raise ValidationError(gettext("This field is required."), "password")
    try:
        check_password_complexity(password)
    except PasswordComplexityValidationError as ex:
        raise ValidationError(str(ex), "password") from None
    if password != confirm:
        raise ValidationError(gettext("The two passwords do not match."), "confirm")


def _check_company(data: dict, exclude_id=None) -> dict:
    from app.services import customers as customer_rules

    values = {
        "name": _text(data.get("name"), 200, "name"),
        "credit_code": check_credit_code(data.get("credit_code")),
        "contact_name": _text(data.get("contact_name"), 50, "contact_name"),
        "contact_phone": _text(data.get("contact_phone"), 30, "contact_phone"),
        "email": _text(data.get("email"), 120, "email"),
    }
    customer_rules.check_mobile(values["contact_phone"], "contact_phone")
    customer_rules.check_email(values["email"], "email")
    # One account per company: a code already registered (and not turned down) is refused.
    clash = _session().execute(select(PortalCompany.id).where(
        PortalCompany.credit_code == values["credit_code"], PortalCompany.status != "rejected",
        PortalCompany.id != (exclude_id or 0))).first()
    if clash:
        raise ValidationError(gettext("This company is already registered. Log in with its account."), "credit_code")
    return values


def register(data: dict) -> PortalCompany:
    """A new enterprise account awaiting verification. Everything is checked before the user is created.
    `data`: name, credit_code, contact_name, contact_phone, email, username, password, confirm."""
    from app.extensions import appbuilder

    values = _check_company(data)
    username = (data.get("username") or "").strip()
    if not USERNAME.fullmatch(username):
        raise ValidationError(gettext("The user name has 4 to 64 letters, digits or . _ @ -."), "username")
    _check_password(data.get("password"), data.get("confirm"))
    sm = appbuilder.sm
    if sm.find_user(username=username) is not None:
        raise ValidationError(gettext("This user name is taken."), "username")
    if sm.find_user(email=values["email"]) is not None:
        raise ValidationError(gettext("This e-mail address is already used by another account."), "email")
    role = ensure_portal_role()
    user = sm.add_user(username, values["contact_name"], "", values["email"], [role], data["password"])
    if not user:  # a concurrent registration took the name or e-mail in between
        raise Conflict(gettext("This user name is taken."))
    company = PortalCompany(user_id=user.id, status="pending", **values)
    _session().add(company)
    _session().flush()
    return company


def resubmit(company: PortalCompany, data: dict) -> PortalCompany:
    """A turned-down company corrects its details and asks for verification again."""
    if company.status != "rejected":
        raise Conflict(gettext("Only a registration that was not verified can be sent again."))
    for key, value in _check_company(data, exclude_id=company.id).items():
        setattr(company, key, value)
    company.status, company.reject_reason = "pending", None
    _session().flush()
    return company


# --- verification by staff ------------------------------------------------------------------------------

def _locked_company(company_id) -> PortalCompany:
    try:
        pk = int(company_id)
    except (TypeError, ValueError):
        raise NotFound(gettext("The page or record does not exist.")) from None
    company = _session().execute(select(PortalCompany).where(PortalCompany.id == pk).with_for_update()
                                 .execution_options(populate_existing=True)).scalar()
    if company is None:
        raise NotFound(gettext("The page or record does not exist."))
    return company


def _pending(company_id) -> PortalCompany:
    company = _locked_company(company_id)
    if company.status != "pending":
        raise Conflict(gettext("This registration was already decided (%(status)s).",
                               status=str(COMPANY_STATUS_LABELS[company.status])))
    return company


def _customer_for(company, staff_id):
    """The corporate customer with the company's credit code, or a new one managed by the verifying staff."""
    from app.extensions import appbuilder
    from app.services import customers as customer_rules, numbering
    from app.services.data_scope import user_department_id
    from models.customers import Customer

    customer = _session().execute(select(Customer).where(
        Customer.id_type == "USCC", Customer.id_number == company.credit_code)).scalar()
    if customer is not None:
        if customer.kind != "corporate":
            raise Conflict(gettext("The credit code belongs to a customer that is not a company."))
        if customer.manager_id is None:
            customer.manager_id = customer.owner_id = staff_id
        customer_rules.ensure_may_apply(customer)
        return customer
    customer = Customer(kind="corporate", name=company.name, id_type="USCC", id_number=company.credit_code,
                        phone=company.contact_phone, email=company.email, direct="direct",
                        manager=_session().get(appbuilder.sm.user_model, staff_id), owner_id=staff_id,
                        department_id=user_department_id(staff_id))
    customer_rules.validate_customer(customer)
    customer.code = numbering.next_number("customer")
    _session().add(customer)
    _session().flush()
    return customer


def approve_registration(company_id, staff_id) -> PortalCompany:
    company = _pending(company_id)
    company.customer = _customer_for(company, staff_id)
    company.status, company.verified_by_id, company.verified_at = "verified", staff_id, datetime.now()
    _notice(company, "registration_approved", key="registration", message=None)
    _session().flush()
    return company


def reject_registration(company_id, staff_id, reason) -> PortalCompany:
    reason = _text(reason, 500, "reason")
    company = _pending(company_id)
    company.status, company.reject_reason = "rejected", reason
    company.verified_by_id, company.verified_at = staff_id, datetime.now()
    _notice(company, "registration_rejected", message=reason)
    _session().flush()
    return company


def pending_registrations(limit=200) -> list[PortalCompany]:
    return list(_session().execute(select(PortalCompany).where(PortalCompany.status == "pending")
                                   .order_by(PortalCompany.id).limit(limit)).scalars())


def recent_registrations(limit=50) -> list[PortalCompany]:
    return list(_session().execute(select(PortalCompany).where(PortalCompany.status != "pending")
                                   .order_by(PortalCompany.verified_at.desc(), PortalCompany.id.desc())
                                   .limit(limit)).scalars())


# --- notices --------------------------------------------------------------------------------------------

def _notice(company, kind, *, key=None, message=None, need=None) -> None:
    _session().add(PortalNotice(company_id=company.id, kind=kind, key=key, message=message,
                                need_id=need.id if need is not None else None))


def _business_notices(need) -> list[tuple[str, str, str | None]]:
    """(kind, key, doc type) of every notice the need's guarantee has reached."""
    from app.services import guarantees

    g = need.guarantee
    if g.status in ("rejected", "withdrawn"):
        return []
    out = []
    if guarantees.stage_index(g.stage) >= guarantees.stage_index("confirmation"):
        out.append(("approved", f"approved:{need.id}", None))
    for doc_type in PORTAL_LETTERS:
        if guarantees.document_available(g, doc_type):
            out.append(("letter_ready", f"letter:{need.id}:{doc_type}", doc_type))
    return out


def _on_stage_changed(guarantee) -> None:
    """A guarantee moved on: write the notices its portal need has reached (each once), in the same
    transaction as the move, so that reading the portal never writes."""
    need = _session().execute(select(PortalNeed).where(PortalNeed.guarantee_id == guarantee.id)).scalar()
    if need is None:
        return
    have = set(_session().execute(select(PortalNotice.key).where(
        PortalNotice.company_id == need.company_id, PortalNotice.key.is_not(None))).scalars())
    for kind, key, doc_type in _business_notices(need):
        if key not in have:
            _notice(need.company, kind, key=key, need=need, message=doc_type)


def notices(company, limit=30) -> list[dict]:
    from app.services import guarantees

    rows = _session().execute(select(PortalNotice).where(PortalNotice.company_id == company.id)
                              .order_by(PortalNotice.id.desc()).limit(limit)).scalars()
    by_need = {n.id: n for n in needs_of(company)}
    out = []
    for n in rows:
        need = by_need.get(n.need_id)
        text = n.message or ""
        if n.kind == "letter_ready" and n.message in guarantees.DOCUMENT_LABELS:
            text = str(guarantees.DOCUMENT_LABELS[n.message])
        out.append({"notice": n, "label": str(NOTICE_LABELS.get(n.kind, n.kind)), "text": text, "need": need})
    return out


# --- financing needs ------------------------------------------------------------------------------------

def needs_of(company) -> list[PortalNeed]:
    return list(_session().execute(select(PortalNeed).where(PortalNeed.company_id == company.id)
                                   .order_by(PortalNeed.id.desc())).scalars())


def need_of(company, need_id) -> PortalNeed:
    """The company's need; another company's (or a missing) id is the same 404."""
    try:
        pk = int(need_id)
    except (TypeError, ValueError):
        raise NotFound(gettext("The page or record does not exist.")) from None
    need = _session().execute(select(PortalNeed).where(PortalNeed.id == pk,
                                                        PortalNeed.company_id == company.id)).scalar()
    if need is None:
        raise NotFound(gettext("The page or record does not exist."))
    return need


def public_stage(guarantee) -> str:
    """The stage key the company reads (PUBLIC_STAGES)."""
    from app.services import guarantees

    if guarantee.status == "withdrawn":
        return "withdrawn"
    if guarantee.status == "rejected":
        return "declined"
    if guarantee.stage == "draft":
        return "submitted"
    if guarantee.stage == "released" or guarantee.status == "released":
        return "completed"
    if guarantee.stage == "in_force":
        return "in_force"
    if guarantees.stage_index(guarantee.stage) >= guarantees.stage_index("confirmation"):
        return "approved"
    return "review"


def public_stage_label(guarantee) -> str:
    return str(PUBLIC_STAGES[public_stage(guarantee)])


def choices():
    """Products and banks a company may choose (active ones)."""
    from models.products import CooperatingBank, Product

    products = list(_session().execute(select(Product).where(Product.active.is_(True)).order_by(Product.name)).scalars())
    banks = list(_session().execute(select(CooperatingBank).where(CooperatingBank.active.is_(True))
                                    .order_by(CooperatingBank.name)).scalars())
    return products, banks


def counter_kind_choices() -> list[tuple[str, str]]:
    from app.services.guarantees import _counter_kinds

    return [(code, label) for code, label in _counter_kinds().items() if code != "surety"]


def submit_need(company, data: dict) -> PortalNeed:
    """A verified company's need becomes a draft application of the company's account manager.
    `data`: product_id, bank_id, amount, term_months, purpose, repayment_method, and optionally the
    counter-guarantee offered (measure_kind, measure_description, measure_value). The caller commits."""
    from app.extensions import appbuilder
    from app.services import guarantees
    from app.services.data_scope import acting_for
    from models.products import CooperatingBank, Product

    require_verified(company)
    customer = company.customer
    if customer is None or customer.manager_id is None:
        raise Conflict(gettext("No account manager is assigned to your company yet. Please contact us."))
    product = _session().get(Product, _int_id(data.get("product_id"), "product_id"))
    if product is None or not product.active:
        raise ValidationError(gettext("Choose a guarantee product."), "product_id")
    bank = _session().get(CooperatingBank, _int_id(data.get("bank_id"), "bank_id"))
    if bank is None or not bank.active:
        raise ValidationError(gettext("Choose the bank you prefer."), "bank_id")
    measures = []
    if (data.get("measure_kind") or "").strip():
        measures.append({"kind": data.get("measure_kind"), "description": data.get("measure_description"),
                         "value": data.get("measure_value") or None})
    application = {
        "customer_id": customer.id, "product_id": product.id, "bank_id": bank.id, "amount": data.get("amount"),
        "term_months": data.get("term_months"), "fee_rate": product.fee_rate_min,
        "purpose": data.get("purpose"), "repayment_method": data.get("repayment_method") or "lump_sum",
        "green_channel": False, "measures": measures, "fee_items": [],
        "note": gettext("Sent in online by %(company)s (contact %(contact)s, %(phone)s).", company=company.name,
                        contact=company.contact_name, phone=company.contact_phone),
    }
    manager = _session().get(appbuilder.sm.user_model, customer.manager_id)
    # The application is the account manager's: it is created within his data scope, not the company's.
    with acting_for(manager):
        item = guarantees.create_application(application, manager.id)
    need = PortalNeed(company_id=company.id, customer_id=customer.id, guarantee=item, amount=item.amount,
                      term_months=item.term_months, purpose=item.purpose, bank_id=bank.id)
    _session().add(need)
    _session().flush()
    return need


def _int_id(value, field) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(gettext("This field is required."), field) from None


def upload_document(company, need, stream, filename, description=None):
    """Attach a file to the need (the attachment rules of the customer file; commits)."""
    from app.extensions import appbuilder
    from app.services import attachments
    from app.services.data_scope import acting_for

    require_verified(company)
    if need.guarantee.status != "active":
        raise Conflict(gettext("This application is closed: no more documents can be added."))
    manager = _session().get(appbuilder.sm.user_model, need.guarantee.manager_id)
    with acting_for(manager):
        attachment = attachments.store(need.guarantee.customer, stream, filename, ATTACHMENT_CATEGORY,
                                       description, record_type=NEED_ATTACHMENT, record_id=need.id)
    if need.documents_requested:
        need.documents_requested = None
        _session().commit()
    return attachment


def documents_of(need) -> list:
    from models.attachments import Attachment

    return list(_session().execute(select(Attachment).where(
        Attachment.record_type == NEED_ATTACHMENT, Attachment.record_id == need.id).order_by(Attachment.id)).scalars())


def letters_of(need) -> list[tuple[str, str]]:
    """(doc type, label) of the letters the company may download now."""
    from app.services import guarantees

    g = need.guarantee
    if g.status == "rejected":
        return []
    return [(t, str(guarantees.DOCUMENT_LABELS[t])) for t in PORTAL_LETTERS if guarantees.document_available(g, t)]


def render_letter(company, need_id, doc_type, fmt="pdf") -> tuple[bytes, str]:
    from app.extensions import appbuilder
    from app.services import guarantees
    from app.services.data_scope import acting_for

    require_verified(company)
    need = need_of(company, need_id)
    if doc_type not in dict(letters_of(need)):
        raise NotFound(gettext("The page or record does not exist."))
    manager = _session().get(appbuilder.sm.user_model, need.guarantee.manager_id)
    with acting_for(manager):
        return guarantees.render_document(need.guarantee_id, doc_type, "pdf" if fmt == "pdf" else "docx")


# --- staff side: accept a need, ask for documents, risk assessment (PORTAL-3) ----------------------------

def staff_needs(limit=200) -> list[PortalNeed]:
    """The needs whose application the current staff user sees (data scope of the guarantee)."""
    from app.services.data_scope import apply_scope
    from models.business import Guarantee

    query = (select(PortalNeed).join(Guarantee, Guarantee.id == PortalNeed.guarantee_id)
             .order_by(PortalNeed.id.desc()).limit(limit))
    return list(_session().execute(apply_scope(query, Guarantee)).scalars())


def staff_need(need_id) -> PortalNeed:
    from app.services.data_scope import ensure_visible

    try:
        need = _session().get(PortalNeed, int(need_id))
    except (TypeError, ValueError):
        need = None
    if need is None:
        raise NotFound(gettext("The page or record does not exist."))
    ensure_visible(need.guarantee)
    return need


def accept_need(need_id, staff_id) -> PortalNeed:
    """The account manager takes the need on: the draft is submitted (guarantees.submit_application checks
    the terms, the counter-guarantee, the bank line and the regulatory rules)."""
    from app.services import guarantees

    need = staff_need(need_id)
    guarantees.submit_application(need.guarantee_id, staff_id, gettext("Accepted from the online portal."))
    need.accepted_at, need.accepted_by_id = datetime.now(), staff_id
    _session().flush()
    return need


def request_documents(need_id, staff_id, message) -> PortalNeed:
    message = _text(message, 500, "message")
    need = staff_need(need_id)
    if need.guarantee.status != "active":
        raise Conflict(gettext("This application is closed: no more documents can be added."))
    need.documents_requested = message
    _notice(need.company, "documents_requested", message=message, need=need)
    _session().flush()
    return need


def risk_assessment(customer_id) -> dict | None:
    """The customer's current rating from the rating engine (PORTAL-3), for staff only."""
    from models.rating import Rating

    rating = _session().execute(select(Rating).where(Rating.customer_id == customer_id, Rating.is_current.is_(True))
                                .order_by(Rating.id.desc()).limit(1)).scalar()
    if rating is None:
        return None
    return {"grade": rating.grade, "score": rating.score, "rated_on": rating.rated_on, "valid_to": rating.valid_to,
            "model": rating.model.name if rating.model is not None else ""}


# --- margin deposits (PORTAL-2) --------------------------------------------------------------------------

def margins(company) -> dict:
    """The margin deposits and refunds finance recorded for the company's customer (not those it turned down)."""
    from models.ledger import BusinessEvent

    if company.customer_id is None:
        return {"rows": [], "received": Decimal("0"), "refunded": Decimal("0"), "balance": Decimal("0")}
    rows = list(_session().execute(select(BusinessEvent).where(
        BusinessEvent.customer_id == company.customer_id, BusinessEvent.kind.in_(list(MARGIN_KINDS)),
        BusinessEvent.status != "rejected").order_by(BusinessEvent.event_date, BusinessEvent.id)).scalars())
    received = sum((r.amount for r in rows if r.kind == "margin_received"), Decimal("0"))
    refunded = sum((r.amount for r in rows if r.kind == "margin_refunded"), Decimal("0"))
    return {"rows": [{"event": r, "label": str(MARGIN_KINDS[r.kind]),
                      "status": str(MARGIN_STATUS_LABELS.get(r.status, r.status))} for r in rows],
            "received": received, "refunded": refunded, "balance": received - refunded}


def _register() -> None:
    from app.services import guarantees
    from app.services.attachments import register_subrecord

    register_subrecord(NEED_ATTACHMENT, "models.portal:PortalNeed", _l("Online financing need"))
    guarantees.register_stage_listener(_on_stage_changed)


_register()
