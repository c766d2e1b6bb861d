"""Customer sub-record screens and APIs (CUS-1, 2, 5, 9, 10).

The sub-records show as tabs on the customer pages (FAB related views, listed in CUSTOMER_TABS /
INDIVIDUAL_TABS / CORPORATE_TABS for views.customer_tabs); adding from a tab fills in the customer.
Watch lists and guarantee partners also have their own screens under 客户管理. Every rule is in
app/services/customers.py; screens and APIs run the same validators.
"""
import json

from flask import url_for
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Field, SelectField
from wtforms.validators import DataRequired, Optional

from app import permissions as P
from app.services import customers as rules
from app.services.reference import dict_choices
from models.customer_records import (
    BankAccount, CreditReport, CustomerResume, CustomerStore, ExistingLoan, ExternalGuarantee, FamilyMember,
    GuaranteeGroup, GuaranteeGroupMember, KeyPerson, MajorEvent, PartnerCompany, Shareholder, WatchEntry,
)
from models.customers import Customer
from views.base import BaseApi, BaseModelView, SafeInterface
from views.labels import YES_NO, choice_label, dict_label

# --- shared form pieces ------------------------------------------------------------------------------

SHAREHOLDER_KINDS = {"individual": _l("Natural person"), "corporate": _l("Legal person")}
BANK_ACCOUNT_KINDS = {"basic": _l("Basic deposit account"), "general": _l("General deposit account"),
                      "special": _l("Special deposit account"), "temporary": _l("Temporary deposit account")}
CREDIT_RESULTS = {"clean": _l("No adverse record"), "minor": _l("Minor adverse record"),
                  "adverse": _l("Serious adverse record")}
WATCH_LISTS = {"vip": _l("VIP customers"), "potential": _l("Potential customers"), "blacklist": _l("Blacklist")}
PARTNER_KINDS = {"guarantee": _l("Co-guarantee"), "reguarantee": _l("Re-guarantee"), "bank": _l("Cooperating bank"),
                 "other": _l("Other")}
PARTNER_STATUSES = {"active": _l("In cooperation"), "suspended": _l("Suspended"), "ended": _l("Ended")}
GROUP_STATUSES = {"active": _l("Active"), "dissolved": _l("Dissolved")}

COMMON_LABELS = {
    "customer": _l("Customer"), "name": _l("Name"), "id_type": _l("ID type"), "id_number": _l("ID number"),
    "gender": _l("Gender"), "birth_date": _l("Birth date"), "phone": _l("Telephone"), "employer": _l("Employer"),
    "health": _l("Health"), "education": _l("Highest education"), "note": _l("Notes"), "amount": _l("Amount (yuan)"),
    "balance": _l("Balance (yuan)"), "start_date": _l("Start date"), "end_date": _l("End date"),
    "guarantee_method": _l("Guarantee method"), "created_at": _l("Created at"), "updated_at": _l("Updated at"),
}


def _select(label, choices, required=True):
    return SelectField(label, choices=choices, widget=Select2Widget(),
                       validators=[DataRequired()] if required else [Optional()])


def dict_field(label, type_code, required=False, only=None):
    def choices():
        return [("", "")] + [(c, n) for c, n in dict_choices(type_code) if only is None or c in only]

    return _select(label, choices, required)


def choice_field(label, options: dict, required=True):
    return _select(label, lambda: [("", "")] + [(k, str(v)) for k, v in options.items()], required)


class CustomerPickWidget:
    """A Select2 box that searches customers as the user types (never loads the whole customer list)."""

    def __init__(self, kind=None):
        self.kind = kind

    def __call__(self, field, **kwargs):
        url = url_for("CustomerView.pick", kind=self.kind) if self.kind else url_for("CustomerView.pick")
        option = ""
        if field.data is not None:
            option = Markup('<option value="{}" selected>{}</option>').format(field.data.id, str(field.data))
        attrs = dict(id=field.id, name=field.name, style="width:100%")
        html_attrs = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
        placeholder = escape(gettext("Type a name, customer no. or ID number"))
        texts = {"inputTooShort": gettext("Type at least one character"), "noResults": gettext("No matching customer"),
                 "searching": gettext("Searching…")}
        language = ",".join(f'{k}:function(){{return {json.dumps(v)};}}' for k, v in texts.items())
        return Markup(
            f'<select {html_attrs} class="form-control customer-pick" data-url="{escape(url)}" '
            f'data-placeholder="{placeholder}">{option}</select>'
            '<script>document.addEventListener("DOMContentLoaded",function(){'
            f'var el=$(document.getElementById("{escape(field.id)}"));'
            'el.select2({theme:"bootstrap",allowClear:true,placeholder:el.data("placeholder"),minimumInputLength:1,'
            'ajax:{url:el.data("url"),dataType:"json",delay:250,data:function(p){return {q:p.term};},'
            'processResults:function(d){return {results:d.results};}},'
            f'language:{{{language}}}}});}});</script>'
        )


class CustomerPickField(Field):
    """The customer of a sub-record: posted as the customer's id, looked up within the user's data scope."""

    def __init__(self, label=None, validators=None, kind=None, **kwargs):
        super().__init__(label, validators, widget=CustomerPickWidget(kind), **kwargs)

    def process_formdata(self, valuelist):
        from app.extensions import db
        from app.services.data_scope import apply_scope
        from sqlalchemy import select

        raw = (valuelist[0] if valuelist else "") or ""
        self.data = None
        if raw.isascii() and raw.isdigit() and len(raw) < 10:
            self.data = db.session.execute(apply_scope(select(Customer).where(Customer.id == int(raw)),
                                                       Customer)).scalar()

    def pre_validate(self, form):
        if self.raw_data and self.raw_data[0] and self.data is None:
            raise ValueError(gettext("Not a valid choice."))


def customer_field(kind=None):
    return CustomerPickField(_l("Customer"), validators=[DataRequired()], kind=kind)


class SubRecordView(BaseModelView):
    """A customer's sub-record: shown as a tab on the customer page, edited there."""

    class_permission_name = P.CUSTOMER
    base_order = ("id", "asc")
    page_size = 10
    customer_kind = None

    def __init__(self, **kwargs):
        extra = {"customer": customer_field(self.customer_kind), **(self.add_form_extra_fields or {})}
        self.add_form_extra_fields = extra
        self.edit_form_extra_fields = extra
        super().__init__(**kwargs)


class SubRecordApi(BaseApi):
    class_permission_name = P.CUSTOMER
    base_order = ("id", "asc")


def _api(model, name, columns, validators, list_extra=()):
    """The REST API of a sub-record: same columns and validators as its screen."""
    return type(f"{model.__name__}Api", (SubRecordApi,), {
        "resource_name": name, "datamodel": SafeInterface(model),
        "list_columns": ["id", "customer_id", *columns, *list_extra], "show_columns": ["id", "customer_id", *columns],
        "add_columns": ["customer", *columns], "edit_columns": list(columns), "search_columns": ["customer"],
        "validators": validators,
    })


# --- individual customers (CUS-1) ------------------------------------------------------------------

RESUME_COLUMNS = ["start_date", "end_date", "employer", "department", "position", "employer_nature",
                  "employer_phone", "employer_post_code", "employer_address"]


class ResumeView(SubRecordView):
    datamodel = SafeInterface(CustomerResume)
    customer_kind = "individual"
    list_title = _l("Résumé")
    show_title, add_title, edit_title = _l("Résumé entry"), _l("Add résumé entry"), _l("Edit résumé entry")
    list_columns = ["start_date", "end_date", "employer", "department", "position", "employer_nature"]
    add_columns = edit_columns = ["customer", *RESUME_COLUMNS]
    show_columns = ["customer", *RESUME_COLUMNS]
    search_columns = ["customer", "employer", "start_date"]
    base_order = ("start_date", "desc")
    label_columns = {**COMMON_LABELS, "department": _l("Department"), "position": _l("Position"),
                     "employer_nature": _l("Employer type"), "employer_phone": _l("Employer's telephone"),
                     "employer_post_code": _l("Employer's post code"), "employer_address": _l("Employer's address")}
    formatters_columns = {"employer_nature": dict_label("employer_nature")}
    add_form_extra_fields = {"employer_nature": dict_field(_l("Employer type"), "employer_nature")}
    validators = (rules.validate_resume,)


FAMILY_COLUMNS = ["relation", "name", "id_type", "id_number", "gender", "phone", "employer", "health"]


class FamilyMemberView(SubRecordView):
    datamodel = SafeInterface(FamilyMember)
    customer_kind = "individual"
    list_title = _l("Family members")
    show_title, add_title, edit_title = _l("Family member"), _l("Add family member"), _l("Edit family member")
    list_columns = FAMILY_COLUMNS
    add_columns = edit_columns = ["customer", *FAMILY_COLUMNS]
    show_columns = ["customer", *FAMILY_COLUMNS]
    search_columns = ["customer", "name", "relation", "id_number"]
    label_columns = {**COMMON_LABELS, "relation": _l("Relation to the customer")}
    formatters_columns = {"relation": dict_label("family_relation"), "id_type": dict_label("id_type"),
                          "gender": dict_label("gender"), "health": dict_label("health")}
    add_form_extra_fields = {
        "relation": dict_field(_l("Relation to the customer"), "family_relation", required=True),
        "id_type": dict_field(_l("ID type"), "id_type", only=rules.PERSONAL_ID_TYPES),
        "gender": dict_field(_l("Gender"), "gender"), "health": dict_field(_l("Health"), "health"),
    }
    validators = (rules.validate_family_member,)


STORE_COLUMNS = ["store_name", "registered_capital", "business_scale", "address", "licence_no", "tax_reg_no",
                 "registered_on", "last_inspection_on", "basic_account_no", "basic_account_bank"]


class StoreView(SubRecordView):
    datamodel = SafeInterface(CustomerStore)
    customer_kind = "individual"
    list_title = _l("Stores")
    show_title, add_title, edit_title = _l("Store"), _l("Add store"), _l("Edit store")
    list_columns = ["store_name", "registered_capital", "business_scale", "address", "licence_no", "registered_on"]
    add_columns = edit_columns = ["customer", *STORE_COLUMNS]
    show_columns = ["customer", *STORE_COLUMNS]
    search_columns = ["customer", "store_name", "licence_no"]
    label_columns = {**COMMON_LABELS, "store_name": _l("Store name (字号)"),
                     "registered_capital": _l("Registered capital (yuan)"), "business_scale": _l("Business scale"),
                     "address": _l("Store address"), "licence_no": _l("Business licence no."),
                     "tax_reg_no": _l("Tax registration no."), "registered_on": _l("Registered on"),
                     "last_inspection_on": _l("Latest annual inspection"), "basic_account_no": _l("Basic account no."),
                     "basic_account_bank": _l("Bank of the basic account")}
    validators = (rules.validate_store,)


# --- corporate customers (CUS-2) ---------------------------------------------------------------

ACCOUNT_COLUMNS = ["bank_name", "account_no", "account_kind", "opened_on", "balance", "note"]


class BankAccountView(SubRecordView):
    datamodel = SafeInterface(BankAccount)
    customer_kind = "corporate"
    list_title = _l("Bank accounts")
    show_title, add_title, edit_title = _l("Bank account"), _l("Add bank account"), _l("Edit bank account")
    list_columns = ACCOUNT_COLUMNS
    add_columns = edit_columns = ["customer", *ACCOUNT_COLUMNS]
    show_columns = ["customer", *ACCOUNT_COLUMNS]
    search_columns = ["customer", "bank_name", "account_no", "account_kind"]
    label_columns = {**COMMON_LABELS, "bank_name": _l("Bank"), "account_no": _l("Account no."),
                     "account_kind": _l("Account kind"), "opened_on": _l("Opened on")}
    formatters_columns = {"account_kind": choice_label(BANK_ACCOUNT_KINDS)}
    add_form_extra_fields = {"account_kind": choice_field(_l("Account kind"), BANK_ACCOUNT_KINDS)}
    validators = (rules.validate_bank_account,)


LOAN_COLUMNS = ["lender", "loan_kind", "amount", "balance", "start_date", "end_date", "guarantee_method",
                "classification", "note"]


class ExistingLoanView(SubRecordView):
    datamodel = SafeInterface(ExistingLoan)
    customer_kind = "corporate"
    list_title = _l("Existing loans")
    show_title, add_title, edit_title = _l("Existing loan"), _l("Add existing loan"), _l("Edit existing loan")
    list_columns = ["lender", "loan_kind", "amount", "balance", "start_date", "end_date", "classification"]
    add_columns = edit_columns = ["customer", *LOAN_COLUMNS]
    show_columns = ["customer", *LOAN_COLUMNS]
    search_columns = ["customer", "lender", "classification"]
    label_columns = {**COMMON_LABELS, "lender": _l("Lender"), "loan_kind": _l("Loan kind"),
                     "classification": _l("Five-category classification")}
    formatters_columns = {"loan_kind": dict_label("loan_kind"), "guarantee_method": dict_label("guarantee_method"),
                          "classification": dict_label("loan_classification")}
    add_form_extra_fields = {
        "loan_kind": dict_field(_l("Loan kind"), "loan_kind"),
        "guarantee_method": dict_field(_l("Guarantee method"), "guarantee_method"),
        "classification": dict_field(_l("Five-category classification"), "loan_classification"),
    }
    validators = (rules.validate_existing_loan,)


GUARANTEE_COLUMNS = ["guaranteed_party", "creditor", "amount", "balance", "start_date", "end_date",
                     "guarantee_method", "note"]


class ExternalGuaranteeView(SubRecordView):
    datamodel = SafeInterface(ExternalGuarantee)
    customer_kind = "corporate"
    list_title = _l("Guarantees given")
    show_title, add_title, edit_title = _l("Guarantee given"), _l("Add guarantee given"), _l("Edit guarantee given")
    list_columns = ["guaranteed_party", "creditor", "amount", "balance", "start_date", "end_date"]
    add_columns = edit_columns = ["customer", *GUARANTEE_COLUMNS]
    show_columns = ["customer", *GUARANTEE_COLUMNS]
    search_columns = ["customer", "guaranteed_party"]
    label_columns = {**COMMON_LABELS, "guaranteed_party": _l("Guaranteed party"), "creditor": _l("Creditor")}
    formatters_columns = {"guarantee_method": dict_label("guarantee_method")}
    add_form_extra_fields = {"guarantee_method": dict_field(_l("Guarantee method"), "guarantee_method")}
    validators = (rules.validate_external_guarantee,)


KEY_PERSON_COLUMNS = ["role", "name", "id_type", "id_number", "gender", "birth_date", "phone", "education",
                      "industry_years", "resume"]


class KeyPersonView(SubRecordView):
    datamodel = SafeInterface(KeyPerson)
    customer_kind = "corporate"
    list_title = _l("Key persons")
    show_title, add_title, edit_title = _l("Key person"), _l("Add key person"), _l("Edit key person")
    list_columns = ["role", "name", "id_number", "gender", "phone", "education", "industry_years"]
    add_columns = edit_columns = ["customer", *KEY_PERSON_COLUMNS]
    show_columns = ["customer", *KEY_PERSON_COLUMNS]
    search_columns = ["customer", "name", "role", "id_number"]
    label_columns = {**COMMON_LABELS, "role": _l("Role"), "industry_years": _l("Years in the industry"),
                     "resume": _l("Career summary")}
    formatters_columns = {"role": dict_label("key_person_role"), "id_type": dict_label("id_type"),
                          "gender": dict_label("gender"), "education": dict_label("education")}
    add_form_extra_fields = {
        "role": dict_field(_l("Role"), "key_person_role", required=True),
        "id_type": dict_field(_l("ID type"), "id_type", only=rules.PERSONAL_ID_TYPES),
        "gender": dict_field(_l("Gender"), "gender"), "education": dict_field(_l("Highest education"), "education"),
    }
    validators = (rules.validate_key_person,)


SHAREHOLDER_COLUMNS = ["shareholder_kind", "name", "id_type", "id_number", "contribution", "share_pct",
                       "contribution_method", "contribution_date"]


class ShareholderView(SubRecordView):
    datamodel = SafeInterface(Shareholder)
    customer_kind = "corporate"
    list_title = _l("Shareholders")
    show_title, add_title, edit_title = _l("Shareholder"), _l("Add shareholder"), _l("Edit shareholder")
    list_columns = ["name", "shareholder_kind", "id_number", "contribution", "share_pct", "contribution_method"]
    add_columns = edit_columns = ["customer", *SHAREHOLDER_COLUMNS]
    show_columns = ["customer", *SHAREHOLDER_COLUMNS]
    search_columns = ["customer", "name", "id_number"]
    base_order = ("share_pct", "desc")
    label_columns = {**COMMON_LABELS, "shareholder_kind": _l("Shareholder kind"), "name": _l("Shareholder"),
                     "contribution": _l("Capital contribution (yuan)"), "share_pct": _l("Share (%)"),
                     "contribution_method": _l("Form of contribution"), "contribution_date": _l("Contributed on")}
    formatters_columns = {"shareholder_kind": choice_label(SHAREHOLDER_KINDS), "id_type": dict_label("id_type"),
                          "contribution_method": dict_label("contribution_method"),
                          "share_pct": lambda v: "" if v is None else f"{v.normalize():f}"}
    add_form_extra_fields = {
        "shareholder_kind": choice_field(_l("Shareholder kind"), SHAREHOLDER_KINDS),
        "id_type": dict_field(_l("ID type"), "id_type"),
        "contribution_method": dict_field(_l("Form of contribution"), "contribution_method"),
    }
    validators = (rules.validate_shareholder,)


EVENT_COLUMNS = ["event_date", "event_kind", "description", "amount", "impact"]


class MajorEventView(SubRecordView):
    datamodel = SafeInterface(MajorEvent)
    customer_kind = "corporate"
    list_title = _l("Major economic events")
    show_title, add_title, edit_title = _l("Major economic event"), _l("Add major economic event"), \
        _l("Edit major economic event")
    list_columns = EVENT_COLUMNS
    add_columns = edit_columns = ["customer", *EVENT_COLUMNS]
    show_columns = ["customer", *EVENT_COLUMNS]
    search_columns = ["customer", "event_kind", "event_date"]
    base_order = ("event_date", "desc")
    label_columns = {**COMMON_LABELS, "event_date": _l("Event date"), "event_kind": _l("Event kind"),
                     "description": _l("Description"), "impact": _l("Impact on the business")}
    formatters_columns = {"event_kind": dict_label("major_event_kind")}
    add_form_extra_fields = {"event_kind": dict_field(_l("Event kind"), "major_event_kind", required=True)}
    validators = (rules.validate_major_event,)


# --- credit bureau (CUS-10) --------------------------------------------------------------------------

CREDIT_COLUMNS = ["query_date", "query_reason", "report_no", "result", "credit_accounts", "outstanding_balance",
                  "overdue_accounts", "overdue_amount", "overdue_times_5y", "max_overdue_months", "guarantee_balance",
                  "queries_6m", "summary"]


class CreditReportView(SubRecordView):
    datamodel = SafeInterface(CreditReport)
    list_title = _l("Credit bureau records")
    show_title, add_title, edit_title = _l("Credit bureau record"), _l("Add credit bureau record"), \
        _l("Edit credit bureau record")
    list_columns = ["query_date", "query_reason", "queried_by", "result", "outstanding_balance", "overdue_accounts",
                    "overdue_amount"]
    add_columns = edit_columns = ["customer", *CREDIT_COLUMNS]
    show_columns = ["customer", "queried_by", *CREDIT_COLUMNS, "created_at"]
    search_columns = ["customer", "query_date", "result", "query_reason"]
    base_order = ("query_date", "desc")
    label_columns = {
        **COMMON_LABELS, "query_date": _l("Query date"), "query_reason": _l("Query reason"),
        "queried_by": _l("Queried by"), "report_no": _l("Report no."), "result": _l("Result"),
        "credit_accounts": _l("Credit accounts"), "outstanding_balance": _l("Outstanding balance (yuan)"),
        "overdue_accounts": _l("Accounts overdue now"), "overdue_amount": _l("Overdue amount (yuan)"),
        "overdue_times_5y": _l("Overdue times in 5 years"), "max_overdue_months": _l("Longest overdue (months)"),
        "guarantee_balance": _l("Guarantees given, balance (yuan)"), "queries_6m": _l("Queries in 6 months"),
        "summary": _l("Result summary"),
    }
    formatters_columns = {"query_reason": dict_label("credit_query_reason"), "result": choice_label(CREDIT_RESULTS)}
    add_form_extra_fields = {"query_reason": dict_field(_l("Query reason"), "credit_query_reason", required=True),
                             "result": choice_field(_l("Result"), CREDIT_RESULTS)}
    validators = (rules.validate_credit_report,)


# --- watch lists (CUS-5) ---------------------------------------------------------------------------

WATCH_LABELS = {**COMMON_LABELS, "list_kind": _l("Watch list"), "reason": _l("Reason"), "set_on": _l("Listed on"),
                "set_by": _l("Listed by"), "active": _l("On the list"), "removed_on": _l("Removed on"),
                "removed_by": _l("Removed by"), "removal_reason": _l("Reason for removal")}


class WatchEntryView(SubRecordView):
    """关注客户管理: VIP, potential and black lists. An entry is never deleted; "edit" removes it from the
    list with a reason, and the entry stays as history."""

    datamodel = SafeInterface(WatchEntry)
    class_permission_name = P.CUSTOMER_WATCH
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT), P.can(P.EXPORT)]
    list_title = _l("Watch lists")
    show_title, add_title, edit_title = _l("Watch-list entry"), _l("Put on a watch list"), _l("Remove from the list")
    list_columns = ["customer", "list_kind", "reason", "set_on", "set_by", "active", "removed_on"]
    add_columns = ["customer", "list_kind", "reason"]
    edit_columns = ["removal_reason"]
    show_columns = ["customer", "list_kind", "reason", "set_on", "set_by", "active", "removed_on", "removed_by",
                    "removal_reason"]
    search_columns = ["customer", "list_kind", "active", "set_on", "reason"]
    base_order = ("id", "desc")
    page_size = 20
    label_columns = WATCH_LABELS
    formatters_columns = {"list_kind": choice_label(WATCH_LISTS), "active": choice_label(YES_NO)}
    add_form_extra_fields = {"list_kind": choice_field(_l("Watch list"), WATCH_LISTS)}
    validators = (rules.validate_watch_entry,)
    delete_validators = (rules.refuse_watch_delete,)


class WatchEntryApi(BaseApi):
    resource_name = "watch_entry"
    datamodel = SafeInterface(WatchEntry)
    class_permission_name = P.CUSTOMER_WATCH
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT)]
    list_columns = show_columns = ["id", "customer_id", "list_kind", "reason", "set_on", "set_by_id", "active",
                                   "removed_on", "removed_by_id", "removal_reason"]
    add_columns = ["customer", "list_kind", "reason"]
    edit_columns = ["removal_reason"]
    search_columns = ["customer", "list_kind", "active"]
    base_order = ("id", "desc")
    validators = (rules.validate_watch_entry,)
    delete_validators = (rules.refuse_watch_delete,)


# --- guarantee partners and joint-guarantee groups (CUS-9) ----------------------------------------

PARTNER_COLUMNS = ["name", "credit_code", "partner_kind", "contact_person", "contact_phone", "address",
                   "cooperation_limit", "single_limit", "agreement_start", "agreement_end", "status", "note"]
PARTNER_LABELS = {
    "name": _l("Company name"), "credit_code": _l("Unified social credit code"), "partner_kind": _l("Cooperation"),
    "contact_person": _l("Contact person"), "contact_phone": _l("Contact telephone"), "address": _l("Address"),
    "cooperation_limit": _l("Cooperation limit (yuan)"), "single_limit": _l("Single-deal limit (yuan)"),
    "agreement_start": _l("Agreement from"), "agreement_end": _l("Agreement until"), "status": _l("Status"),
    "note": _l("Notes"),
}


class PartnerCompanyView(BaseModelView):
    datamodel = SafeInterface(PartnerCompany)
    class_permission_name = P.GUARANTEE_PARTNER
    list_title = _l("Guarantee companies")
    show_title, add_title, edit_title = _l("Guarantee company"), _l("Add guarantee company"), \
        _l("Edit guarantee company")
    list_columns = ["name", "credit_code", "partner_kind", "contact_person", "contact_phone", "cooperation_limit",
                    "agreement_end", "status"]
    add_columns = edit_columns = show_columns = PARTNER_COLUMNS
    search_columns = ["name", "credit_code", "partner_kind", "status"]
    base_order = ("name", "asc")
    label_columns = PARTNER_LABELS
    formatters_columns = {"partner_kind": choice_label(PARTNER_KINDS), "status": choice_label(PARTNER_STATUSES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "partner_kind": choice_field(_l("Cooperation"), PARTNER_KINDS),
        "status": choice_field(_l("Status"), PARTNER_STATUSES),
    }
    validators = (rules.validate_partner,)


class PartnerCompanyApi(BaseApi):
    resource_name = "partner_company"
    datamodel = SafeInterface(PartnerCompany)
    class_permission_name = P.GUARANTEE_PARTNER
    list_columns = show_columns = ["id", *PARTNER_COLUMNS]
    add_columns = edit_columns = PARTNER_COLUMNS
    search_columns = ["name", "credit_code", "partner_kind", "status"]
    base_order = ("name", "asc")
    validators = (rules.validate_partner,)


MEMBER_COLUMNS = ["customer", "joined_on", "is_leader", "active", "left_on"]
MEMBER_LABELS = {"group": _l("Joint-guarantee group"), "customer": _l("Member customer"), "joined_on": _l("Joined on"),
                 "is_leader": _l("Leading member"), "active": _l("Active member"), "left_on": _l("Left on")}


class GroupMemberView(BaseModelView):
    datamodel = SafeInterface(GuaranteeGroupMember)
    class_permission_name = P.GUARANTEE_PARTNER
    list_title = _l("Group members")
    show_title, add_title, edit_title = _l("Group member"), _l("Add group member"), _l("Edit group member")
    list_columns = ["customer", "joined_on", "is_leader", "active", "left_on"]
    add_columns = ["group", "customer", "joined_on", "is_leader"]
    edit_columns = ["group", "customer", "joined_on", "is_leader", "left_on"]
    show_columns = ["group", *MEMBER_COLUMNS]
    search_columns = ["group", "customer", "active"]
    base_order = ("id", "asc")
    label_columns = MEMBER_LABELS
    formatters_columns = {"is_leader": choice_label(YES_NO), "active": choice_label(YES_NO)}
    validators = (rules.validate_group_member,)

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {"customer": customer_field()}
        super().__init__(**kwargs)


GROUP_COLUMNS = ["name", "established_on", "group_limit", "member_limit", "status", "dissolved_on", "note"]


class GuaranteeGroupView(BaseModelView):
    datamodel = SafeInterface(GuaranteeGroup)
    class_permission_name = P.GUARANTEE_PARTNER
    list_title = _l("Joint-guarantee groups")
    show_title, add_title, edit_title = _l("Joint-guarantee group"), _l("Add joint-guarantee group"), \
        _l("Edit joint-guarantee group")
    list_columns = ["name", "established_on", "group_limit", "member_limit", "status"]
    add_columns = edit_columns = ["name", "established_on", "group_limit", "member_limit", "status", "note"]
    show_columns = GROUP_COLUMNS
    search_columns = ["name", "status", "established_on"]
    base_order = ("id", "desc")
    related_views = [GroupMemberView]
    label_columns = {"name": _l("Group name"), "established_on": _l("Established on"),
                     "group_limit": _l("Group limit (yuan)"), "member_limit": _l("Limit per member (yuan)"),
                     "status": _l("Status"), "dissolved_on": _l("Dissolved on"), "note": _l("Notes")}
    formatters_columns = {"status": choice_label(GROUP_STATUSES)}
    add_form_extra_fields = edit_form_extra_fields = {"status": choice_field(_l("Status"), GROUP_STATUSES)}
    validators = (rules.validate_group,)


class GuaranteeGroupApi(BaseApi):
    resource_name = "guarantee_group"
    datamodel = SafeInterface(GuaranteeGroup)
    class_permission_name = P.GUARANTEE_PARTNER
    list_columns = show_columns = ["id", *GROUP_COLUMNS]
    add_columns = edit_columns = ["name", "established_on", "group_limit", "member_limit", "status", "note"]
    search_columns = ["name", "status"]
    base_order = ("id", "desc")
    validators = (rules.validate_group,)


class GroupMemberApi(BaseApi):
    resource_name = "guarantee_group_member"
    datamodel = SafeInterface(GuaranteeGroupMember)
    class_permission_name = P.GUARANTEE_PARTNER
    list_columns = show_columns = ["id", "group_id", "customer_id", "joined_on", "is_leader", "active", "left_on"]
    add_columns = ["group", "customer", "joined_on", "is_leader"]
    edit_columns = ["joined_on", "is_leader", "left_on"]
    search_columns = ["group", "customer", "active"]
    base_order = ("id", "asc")
    validators = (rules.validate_group_member,)


# --- tabs and APIs --------------------------------------------------------------------------------

CUSTOMER_TABS = [CreditReportView, WatchEntryView]
INDIVIDUAL_TABS = [ResumeView, FamilyMemberView, StoreView]
CORPORATE_TABS = [KeyPersonView, ShareholderView, BankAccountView, ExistingLoanView, ExternalGuaranteeView,
                  MajorEventView]
TAB_VIEWS = INDIVIDUAL_TABS + CORPORATE_TABS + CUSTOMER_TABS

APIS = [
    _api(CustomerResume, "customer_resume", RESUME_COLUMNS, ResumeView.validators),
    _api(FamilyMember, "family_member", FAMILY_COLUMNS, FamilyMemberView.validators),
    _api(CustomerStore, "customer_store", STORE_COLUMNS, StoreView.validators),
    _api(BankAccount, "bank_account", ACCOUNT_COLUMNS, BankAccountView.validators),
    _api(ExistingLoan, "existing_loan", LOAN_COLUMNS, ExistingLoanView.validators),
    _api(ExternalGuarantee, "external_guarantee", GUARANTEE_COLUMNS, ExternalGuaranteeView.validators),
    _api(KeyPerson, "key_person", KEY_PERSON_COLUMNS, KeyPersonView.validators),
    _api(Shareholder, "shareholder", SHAREHOLDER_COLUMNS, ShareholderView.validators),
    _api(MajorEvent, "major_event", EVENT_COLUMNS, MajorEventView.validators),
    _api(CreditReport, "credit_report", CREDIT_COLUMNS, CreditReportView.validators, list_extra=["queried_by_id"]),
    WatchEntryApi, PartnerCompanyApi, GuaranteeGroupApi, GroupMemberApi,
]


def register(appbuilder):
    """Called by views.register_views after the customer screens: the tab views (no menu of their own),
    the watch-list and partner screens, and every API."""
    for view in [*INDIVIDUAL_TABS, *CORPORATE_TABS, CreditReportView]:
        appbuilder.add_view_no_menu(view)
    cat = dict(category="CustomerManagement")
    appbuilder.add_view(WatchEntryView, "WatchLists", label=_l("Watch lists"), icon="fa-eye", **cat)
    appbuilder.add_view(PartnerCompanyView, "GuaranteeCompanies", label=_l("Guarantee companies"),
                        icon="fa-handshake-o", **cat)
    appbuilder.add_view(GuaranteeGroupView, "GuaranteeGroups", label=_l("Joint-guarantee groups"),
                        icon="fa-link", **cat)
    appbuilder.add_view_no_menu(GroupMemberView)
    for api in APIS:
        appbuilder.add_api(api)
