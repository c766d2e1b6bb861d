"""Customer rules (CUS-1, 2, 3, 5, 9, 10): identity checks of the customer master record, the checks of
every sub-record, watch lists (blacklist refusal), guarantee partners and joint-guarantee groups.

Screens and REST APIs call the same functions (views `validators`); each raises
app.errors.ValidationError(message, field) before anything is written.
"""
import functools
import re
from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from app.errors import ValidationError

KINDS = ("individual", "corporate")
PERSONAL_ID_TYPES = ("RIC", "PASSPORT", "HKMO", "TW", "OTHER")
CORPORATE_ID_TYPES = ("USCC", "ORG")
WATCH_LISTS = ("vip", "potential", "blacklist")

MOBILE_PHONE = re.compile(r"1[0-9]{10}")  # ASCII digits only: str.isdigit() would accept full-width ones
# Landline: area code 0xx(x), 7–8 digit number, optional extension; or a 400/800 service number.
LANDLINE = re.compile(r"(0[0-9]{2,3}-?)?[1-9][0-9]{6,7}(-[0-9]{1,6})?|[48]00-?[0-9]{3}-?[0-9]{4}")
POST_CODE = re.compile(r"[0-9]{6}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE = re.compile(r"[0-9A-Z]{8}-?[0-9X]")


def _session():
    from app.extensions import db

    return db.session


def no_autoflush(check):
    """Run a validator without autoflush: the item under check is already in the session with its new
    values, and a query (even the business date's) would flush them before the check could refuse them
    (the database's unique constraint would answer instead of the check's message)."""

    @functools.wraps(check)
    def run(item):
        with _session().no_autoflush:
            return check(item)

    return run


def _today() -> date:
    from app.services import business_date

    return business_date.today()


# --- small checks shared by every form ---------------------------------------------------------

def is_org_code(value: str) -> bool:
    """Organisation code (GB 11714): 8 characters and a check character."""
    if not _ORG_CODE.fullmatch(value or ""):
        return False
    body, check = value.replace("-", "")[:8], value[-1]
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS))
    expected = 11 - total % 11
    return check == {10: "X", 11: "0"}.get(expected, str(expected))


def check_mobile(value, field):
    if value and not MOBILE_PHONE.fullmatch(value):
        raise ValidationError(gettext("The mobile phone number must have 11 digits starting with 1."), field)


def check_landline(value, field):
    if value and not LANDLINE.fullmatch(value):
        raise ValidationError(
            gettext("The telephone number is not valid (area code, number and extension, e.g. 010-12345678)."),
            field)


def check_any_phone(value, field):
    """A contact number: a mobile or a landline."""
    if value and not (MOBILE_PHONE.fullmatch(value) or LANDLINE.fullmatch(value)):
        raise ValidationError(gettext("The telephone number is neither a mobile nor a landline number."), field)


def check_post_code(value, field):
    if value and not POST_CODE.fullmatch(value):
        raise ValidationError(gettext("The post code must have 6 digits."), field)


def check_email(value, field):
    if value and not EMAIL.fullmatch(value):
        raise ValidationError(gettext("The e-mail address is not valid."), field)


def check_not_future(value, field, today: date | None = None):
    if value and value > (today or _today()):
        raise ValidationError(gettext("The date cannot be later than the business date."), field)


def check_date_order(start, end, field):
    if start and end and end < start:
        raise ValidationError(gettext("The end date cannot be earlier than the start date."), field)


def check_money(item, *fields):
    """Amounts are Decimal, not negative; money is kept to the cent."""
    for field in fields:
        value = getattr(item, field)
        if value is None:
            continue
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        if value < 0:
            raise ValidationError(gettext("The amount cannot be negative."), field)
        setattr(item, field, value.quantize(Decimal("0.01")))


def check_counts(item, *fields):
    for field in fields:
        value = getattr(item, field)
        if value is not None and value < 0:
            raise ValidationError(gettext("The number cannot be negative."), field)


def _strip(item, *fields):
    for field in fields:
        value = getattr(item, field, None)
        if isinstance(value, str):
            setattr(item, field, value.strip() or None)


def check_identity(id_type, id_number, field="id_number", birth_date=None, gender=None):
    """A resident ID number, credit code or organisation code must be valid; returns (birth date, gender)
    read from a resident ID number, else (None, None)."""
    if id_type == "RIC":
        if not ric.is_valid(id_number):
            raise ValidationError(gettext("The resident ID number is not valid (check digit or date)."), field)
        birth = ric.get_birth_date(id_number)
        sex = "M" if int(id_number[16]) % 2 else "F"
        if birth_date and birth_date != birth:
            raise ValidationError(gettext("The birth date does not match the ID number."), "birth_date")
        if gender and gender != sex:
            raise ValidationError(gettext("The gender does not match the ID number."), "gender")
        return birth, sex
    if id_type == "USCC" and not uscc.is_valid(id_number):
        raise ValidationError(gettext("The unified social credit code is not valid."), field)
    if id_type == "ORG" and not is_org_code(id_number):
        raise ValidationError(gettext("The organisation code is not valid."), field)
    return None, None


# --- the customer master record (CUS-1, 2, 3) -------------------------------------------------

def check_customer_fields(item, today: date | None = None):
    """The rules of one customer that need no database: identity numbers valid and agreeing with the other
    fields, phones, dates, amounts. The import checks whole files with it (business date read once, the
    identity clash checked set-based); validate_customer adds the clash check for one customer."""
    today = today or _today()
    item.id_number = (item.id_number or "").strip().upper()
    if item.kind not in KINDS:
        raise ValidationError(gettext("Customer kind must be individual or corporate."), "kind")
    if item.kind == "individual" and item.id_type not in PERSONAL_ID_TYPES:
        raise ValidationError(gettext("An individual customer needs a personal ID document."), "id_type")
    if item.kind == "corporate" and item.id_type not in CORPORATE_ID_TYPES:
        raise ValidationError(
            gettext("A corporate customer needs a unified social credit code or an organisation code."), "id_type")
    birth, gender = check_identity(item.id_type, item.id_number, "id_number", item.birth_date, item.gender)
    if birth is not None:
        item.birth_date, item.gender = birth, gender
    check_mobile(item.phone, "phone")
    check_landline(getattr(item, "home_phone", None), "home_phone")
    check_landline(getattr(item, "work_phone", None), "work_phone")
    check_post_code(getattr(item, "post_code", None), "post_code")
    check_post_code(getattr(item, "employer_post_code", None), "employer_post_code")
    check_email(item.email, "email")
    check_not_future(item.birth_date, "birth_date", today)
    check_not_future(getattr(item, "established_on", None), "established_on", today)
    check_money(item, "monthly_income", "family_monthly_income", "monthly_expenses", "total_assets",
                "total_liabilities", "paid_in_capital", "annual_revenue")
    check_counts(item, "family_size", "dependants", "employee_count")
    if item.family_size is not None and item.dependants is not None and item.dependants > item.family_size:
        raise ValidationError(gettext("The number of dependants cannot exceed the family size."), "dependants")
    if item.employer_since is not None and not 1900 <= item.employer_since <= today.year:
        raise ValidationError(gettext("The year is not valid."), "employer_since")
    if item.credit_customer is None:
        item.credit_customer = False


@no_autoflush
def validate_customer(item):
    """A customer's fields (check_customer_fields) and one customer per identity."""
    from models.customers import Customer

    check_customer_fields(item)
    # no_autoflush: on an edit the item is already in the session with the new values; flushing them
    # before the check would hit the unique constraint first and fail with the database's error.
    with _session().no_autoflush:
        clash = _session().execute(
            select(Customer).where(Customer.id_type == item.id_type, Customer.id_number == item.id_number,
                                   Customer.id != (item.id or 0))
        ).scalar()
    if clash is not None:
        manager = clash.manager
        manager_name = (manager.first_name or "") + (manager.last_name or "") if manager else gettext("none")
        raise ValidationError(
            gettext("This identity already belongs to customer %(name)s (%(code)s), account manager %(manager)s.",
                    name=clash.name, code=clash.code, manager=manager_name),
            "id_number",
        )


def set_kind(item, kind):
    """The individual / corporate screens and APIs decide the kind; a customer never changes kind."""
    if item.id is not None and item.kind and item.kind != kind:
        raise ValidationError(gettext("Customer kind must be individual or corporate."), "kind")
    item.kind = kind


# --- sub-records of the customer's file ---------------------------------------------------------

def _parent(item):
    """The customer a sub-record belongs to (relationship set by a form, or the id set by the API)."""
    from models.customers import Customer

    customer = item.customer
    if customer is None and item.customer_id is not None:
        customer = _session().get(Customer, item.customer_id)
    if customer is None:
        raise ValidationError(gettext("Choose the customer."), "customer")
    return customer


def _kind_only(item, kind):
    customer = _parent(item)
    if customer.kind != kind:
        message = (gettext("This information is kept for individual customers only.") if kind == "individual"
                   else gettext("This information is kept for corporate customers only."))
        raise ValidationError(message, "customer")
    return customer


@no_autoflush
def validate_resume(item):
    _kind_only(item, "individual")
    _strip(item, "employer", "department", "position", "employer_address")
    if not item.employer:
        raise ValidationError(gettext("This field is required."), "employer")
    check_not_future(item.start_date, "start_date")
    check_not_future(item.end_date, "end_date")
    check_date_order(item.start_date, item.end_date, "end_date")
    check_landline(item.employer_phone, "employer_phone")
    check_post_code(item.employer_post_code, "employer_post_code")


def _check_person_identity(item):
    if item.id_number:
        item.id_number = item.id_number.strip().upper()
        if not item.id_type:
            raise ValidationError(gettext("Choose the ID type of the ID number."), "id_type")
        birth, gender = check_identity(item.id_type, item.id_number, "id_number",
                                       getattr(item, "birth_date", None), getattr(item, "gender", None))
        if birth is not None:
            item.gender = gender
            if hasattr(item, "birth_date"):
                item.birth_date = birth


@no_autoflush
def validate_family_member(item):
    customer = _kind_only(item, "individual")
    _strip(item, "name", "employer")
    if item.id_type in CORPORATE_ID_TYPES:
        raise ValidationError(gettext("A person needs a personal ID document."), "id_type")
    _check_person_identity(item)
    if item.id_number and (item.id_type, item.id_number) == (customer.id_type, customer.id_number):
        raise ValidationError(gettext("A family member cannot be the customer himself or herself."), "id_number")
    check_any_phone(item.phone, "phone")
    if item.relation == "SPOUSE":
        with _session().no_autoflush:
            spouses = _session().execute(
                select(func.count()).select_from(type(item)).where(
                    type(item).customer_id == customer.id, type(item).relation == "SPOUSE",
                    type(item).id != (item.id or 0))).scalar()
        if spouses:
            raise ValidationError(gettext("The customer already has a spouse on file."), "relation")


@no_autoflush
def validate_store(item):
    _kind_only(item, "individual")
    _strip(item, "store_name", "licence_no", "tax_reg_no", "basic_account_no")
    check_money(item, "registered_capital")
    check_not_future(item.registered_on, "registered_on")
    check_not_future(item.last_inspection_on, "last_inspection_on")
    check_date_order(item.registered_on, item.last_inspection_on, "last_inspection_on")


BANK_ACCOUNT_KINDS = ("basic", "general", "special", "temporary")


@no_autoflush
def validate_bank_account(item):
    _kind_only(item, "corporate")
    _strip(item, "bank_name", "account_no")
    if item.account_no and not re.fullmatch(r"[0-9][0-9 -]{5,38}", item.account_no):
        raise ValidationError(gettext("The account number must consist of digits."), "account_no")
    if item.account_kind not in BANK_ACCOUNT_KINDS:
        raise ValidationError(gettext("Not a valid choice."), "account_kind")
    check_money(item, "balance")
    check_not_future(item.opened_on, "opened_on")
    if item.account_kind == "basic":  # a company has one basic deposit account (基本存款账户)
        model = type(item)
        with _session().no_autoflush:
            other = _session().execute(select(func.count()).select_from(model).where(
                model.customer_id == _parent(item).id, model.account_kind == "basic",
                model.id != (item.id or 0))).scalar()
        if other:
            raise ValidationError(gettext("The company already has a basic deposit account."), "account_kind")


@no_autoflush
def validate_existing_loan(item):
    _kind_only(item, "corporate")
    check_money(item, "amount", "balance")
    if item.amount is not None and item.balance is not None and item.balance > item.amount:
        raise ValidationError(gettext("The balance cannot exceed the amount."), "balance")
    check_not_future(item.start_date, "start_date")
    check_date_order(item.start_date, item.end_date, "end_date")


@no_autoflush
def validate_external_guarantee(item):
    _kind_only(item, "corporate")
    check_money(item, "amount", "balance")
    if item.amount is not None and item.balance is not None and item.balance > item.amount:
        raise ValidationError(gettext("The balance cannot exceed the amount."), "balance")
    check_not_future(item.start_date, "start_date")
    check_date_order(item.start_date, item.end_date, "end_date")


@no_autoflush
def validate_key_person(item):
    _kind_only(item, "corporate")
    if item.id_type in CORPORATE_ID_TYPES:
        raise ValidationError(gettext("A person needs a personal ID document."), "id_type")
    _check_person_identity(item)
    check_not_future(item.birth_date, "birth_date")
    check_any_phone(item.phone, "phone")
    check_counts(item, "industry_years")


SHAREHOLDER_KINDS = ("individual", "corporate")


@no_autoflush
def validate_shareholder(item):
    """Shares are more than 0 and at most 100 per cent; the shares of one company add up to at most 100."""
    customer = _kind_only(item, "corporate")
    if item.shareholder_kind not in SHAREHOLDER_KINDS:
        raise ValidationError(gettext("Not a valid choice."), "shareholder_kind")
    if item.id_type:
        allowed = PERSONAL_ID_TYPES if item.shareholder_kind == "individual" else CORPORATE_ID_TYPES
        if item.id_type not in allowed:
            raise ValidationError(gettext("The ID type does not suit the kind of shareholder."), "id_type")
    _check_person_identity(item)
    check_money(item, "contribution")
    check_not_future(item.contribution_date, "contribution_date")
    if item.share_pct is None:
        raise ValidationError(gettext("This field is required."), "share_pct")
    pct = item.share_pct if isinstance(item.share_pct, Decimal) else Decimal(str(item.share_pct))
    if not Decimal(0) < pct <= Decimal(100):
        raise ValidationError(gettext("The share must be more than 0 and at most 100 (per cent)."), "share_pct")
    item.share_pct = pct.quantize(Decimal("0.000001"))
    model = type(item)
    with _session().no_autoflush:
        others = _session().execute(select(func.coalesce(func.sum(model.share_pct), 0)).where(
            model.customer_id == customer.id, model.id != (item.id or 0))).scalar()
    total = Decimal(str(others)) + item.share_pct
    if total > Decimal(100):
        raise ValidationError(
            # no per-cent sign in messages shown beside a field: FAB's template formats them again
            gettext("The shares of this company would add up to %(total)s per cent; at most 100 is possible "
                    "(%(free)s left).", total=f"{total.normalize():f}",
                    free=f"{max(Decimal(100) - Decimal(str(others)), Decimal(0)).normalize():f}"),
            "share_pct")


@no_autoflush
def validate_major_event(item):
    _kind_only(item, "corporate")
    _strip(item, "description")
    if not item.description:
        raise ValidationError(gettext("This field is required."), "description")
    check_not_future(item.event_date, "event_date")
    check_money(item, "amount")


CREDIT_RESULTS = ("clean", "minor", "adverse")


@no_autoflush
def validate_credit_report(item):
    """征信查询: dated no later than today, by a user; counts and amounts not negative."""
    from app.audit import current_actor

    _parent(item)
    check_not_future(item.query_date, "query_date")
    if item.result not in CREDIT_RESULTS:
        raise ValidationError(gettext("Not a valid choice."), "result")
    if item.queried_by_id is None and getattr(item, "queried_by", None) is None:
        item.queried_by_id = current_actor()[0]
    check_counts(item, "credit_accounts", "overdue_accounts", "overdue_times_5y", "max_overdue_months",
                 "queries_6m")
    check_money(item, "outstanding_balance", "overdue_amount", "guarantee_balance")
    if item.overdue_accounts and item.credit_accounts is not None and item.overdue_accounts > item.credit_accounts:
        raise ValidationError(gettext("There cannot be more overdue accounts than accounts."), "overdue_accounts")
    if item.overdue_amount and item.outstanding_balance is not None and item.overdue_amount > item.outstanding_balance:
        raise ValidationError(gettext("The overdue amount cannot exceed the outstanding balance."), "overdue_amount")


# --- watch lists (CUS-5) ---------------------------------------------------------------------------

@no_autoflush
def validate_watch_entry(item):
    """A new entry: a reason, at most one active entry per customer and list. An existing entry only
    changes by being removed (a removal reason); a removed entry is history and stays as it is."""
    from app.audit import current_actor
    from models.customer_records import WatchEntry

    customer = _parent(item)
    if item.list_kind not in WATCH_LISTS:
        raise ValidationError(gettext("Not a valid choice."), "list_kind")
    _strip(item, "reason", "removal_reason")
    if not item.reason:
        raise ValidationError(gettext("Give the reason."), "reason")
    user_id = current_actor()[0]
    if item.id is None:
        item.active = True
        item.set_on = _today()
        item.set_by_id = user_id
        item.removed_on = item.removed_by_id = item.removal_reason = None
        with _session().no_autoflush:
            clash = _session().execute(select(WatchEntry.id).where(
                WatchEntry.customer_id == customer.id, WatchEntry.list_kind == item.list_kind,
                WatchEntry.active.is_(True))).first()
        if clash:
            raise ValidationError(gettext("The customer is already on this list."), "list_kind")
    else:
        from sqlalchemy import inspect

        state = inspect(item)
        was_active = state.attrs.active.history.deleted or state.attrs.active.history.unchanged
        if was_active and not was_active[0]:
            raise ValidationError(gettext("A removed entry is kept as history and cannot be changed."))
        for field in ("customer_id", "list_kind", "reason", "set_on", "set_by_id"):
            if state.attrs[field].history.has_changes():
                raise ValidationError(gettext("An entry can only be removed from the list, not changed."), field)
        if not item.removal_reason:
            raise ValidationError(gettext("Give the reason for the removal."), "removal_reason")
        item.active = False
        item.removed_on = _today()
        item.removed_by_id = user_id
    sync_blacklisted(customer, item)


def sync_blacklisted(customer, changed_entry=None):
    """Keep Customer.blacklisted equal to "has an active blacklist entry"."""
    from models.customer_records import WatchEntry

    with _session().no_autoflush:
        others = _session().execute(select(func.count()).select_from(WatchEntry).where(
            WatchEntry.customer_id == customer.id, WatchEntry.list_kind == "blacklist", WatchEntry.active.is_(True),
            WatchEntry.id != ((changed_entry.id if changed_entry is not None else None) or 0))).scalar()
    this = changed_entry is not None and changed_entry.list_kind == "blacklist" and changed_entry.active
    customer.blacklisted = bool(others or this)


def refuse_watch_delete(item):
    raise ValidationError(gettext("Watch-list entries are kept as history: remove the customer from the list "
                                  "instead of deleting the entry."))


def add_to_watch_list(customer, list_kind, reason):
    """Service entry point (demo data, other modules): put a customer on a list."""
    from models.customer_records import WatchEntry

    entry = WatchEntry(customer=customer, list_kind=list_kind, reason=reason)
    validate_watch_entry(entry)
    _session().add(entry)
    _session().flush()
    return entry


def remove_from_watch_list(entry, reason):
    entry.removal_reason = reason
    validate_watch_entry(entry)
    _session().flush()
    return entry


def ensure_may_apply(customer):
    """Called before a new guarantee application: a blacklisted customer is refused, with the reason."""
    from models.customer_records import WatchEntry

    entry = _session().execute(
        select(WatchEntry).where(WatchEntry.customer_id == customer.id, WatchEntry.list_kind == "blacklist",
                                 WatchEntry.active.is_(True)).order_by(WatchEntry.id.desc())).scalar()
    if entry is not None:
        raise ValidationError(gettext("This customer is blacklisted: %(reason)s (since %(date)s).",
                                      reason=entry.reason, date=entry.set_on.isoformat()), "customer")


# --- guarantee partners and joint-guarantee groups (CUS-9) --------------------------------------

PARTNER_KINDS = ("guarantee", "reguarantee", "bank", "other")
PARTNER_STATUSES = ("active", "suspended", "ended")
GROUP_STATUSES = ("active", "dissolved")


@no_autoflush
def validate_partner(item):
    from models.customer_records import PartnerCompany

    _strip(item, "name", "contact_person", "contact_phone")
    if not item.name:
        raise ValidationError(gettext("This field is required."), "name")
    item.credit_code = (item.credit_code or "").strip().upper()
    if not uscc.is_valid(item.credit_code):
        raise ValidationError(gettext("The unified social credit code is not valid."), "credit_code")
    if item.partner_kind not in PARTNER_KINDS:
        raise ValidationError(gettext("Not a valid choice."), "partner_kind")
    if item.status not in PARTNER_STATUSES:
        raise ValidationError(gettext("Not a valid choice."), "status")
    check_any_phone(item.contact_phone, "contact_phone")
    if item.cooperation_limit is None:
        raise ValidationError(gettext("This field is required."), "cooperation_limit")
    check_money(item, "cooperation_limit", "single_limit")
    if item.single_limit is not None and item.single_limit > item.cooperation_limit:
        raise ValidationError(gettext("The single-deal limit cannot exceed the cooperation limit."), "single_limit")
    check_date_order(item.agreement_start, item.agreement_end, "agreement_end")
    with _session().no_autoflush:
        for field in ("name", "credit_code"):
            column = getattr(PartnerCompany, field)
            if _session().execute(select(PartnerCompany.id).where(
                    column == getattr(item, field), PartnerCompany.id != (item.id or 0))).first():
                raise ValidationError(gettext("Another partner already has this value."), field)


@no_autoflush
def validate_group(item):
    from models.customer_records import GuaranteeGroup, GuaranteeGroupMember

    _strip(item, "name")
    if not item.name:
        raise ValidationError(gettext("This field is required."), "name")
    if item.status not in GROUP_STATUSES:
        raise ValidationError(gettext("Not a valid choice."), "status")
    check_not_future(item.established_on, "established_on")
    if item.group_limit is None:
        raise ValidationError(gettext("This field is required."), "group_limit")
    check_money(item, "group_limit", "member_limit")
    if item.member_limit is not None and item.member_limit > item.group_limit:
        raise ValidationError(gettext("The member limit cannot exceed the group limit."), "member_limit")
    with _session().no_autoflush:
        if _session().execute(select(GuaranteeGroup.id).where(
                GuaranteeGroup.name == item.name, GuaranteeGroup.id != (item.id or 0))).first():
            raise ValidationError(gettext("Another group already has this name."), "name")
    if item.status == "dissolved":
        item.dissolved_on = item.dissolved_on or _today()
        if item.id is not None:  # dissolving a group ends every membership
            members = _session().execute(select(GuaranteeGroupMember).where(
                GuaranteeGroupMember.group_id == item.id, GuaranteeGroupMember.active.is_(True))).scalars()
            for member in members:
                member.active = False
                member.left_on = member.left_on or item.dissolved_on
    else:
        item.dissolved_on = None


@no_autoflush
def validate_group_member(item):
    """A customer is in at most one active group; members join active groups only."""
    from models.customer_records import GuaranteeGroup, GuaranteeGroupMember

    customer = _parent(item)
    group = item.group or (_session().get(GuaranteeGroup, item.group_id) if item.group_id else None)
    if group is None:
        raise ValidationError(gettext("Choose the joint-guarantee group."), "group")
    if item.joined_on is None:
        item.joined_on = _today()
    check_not_future(item.joined_on, "joined_on")
    check_date_order(item.joined_on, item.left_on, "left_on")
    if item.left_on is not None:
        item.active = False
    elif item.active is None:
        item.active = True
    if item.active:
        if group.status != "active":
            raise ValidationError(gettext("The group is dissolved and takes no new members."), "group")
        with _session().no_autoflush:
            other = _session().execute(
                select(GuaranteeGroup.name).join(GuaranteeGroupMember, GuaranteeGroupMember.group_id == GuaranteeGroup.id)
                .where(GuaranteeGroupMember.customer_id == customer.id, GuaranteeGroupMember.active.is_(True),
                       GuaranteeGroupMember.id != (item.id or 0))).scalar()
        if other is not None:
            raise ValidationError(
                gettext("The customer is already a member of the joint-guarantee group %(name)s.", name=other),
                "customer")
        if item.is_leader:
            with _session().no_autoflush:
                leader = _session().execute(select(GuaranteeGroupMember.id).where(
                    GuaranteeGroupMember.group_id == group.id, GuaranteeGroupMember.active.is_(True),
                    GuaranteeGroupMember.is_leader.is_(True), GuaranteeGroupMember.id != (item.id or 0))).first()
            if leader:
                raise ValidationError(gettext("The group already has a leading member."), "is_leader")
