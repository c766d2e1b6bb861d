"""Customer screens and API (CUS). The platform ships the master record; issue 3 adds its sub-records."""
from flask import jsonify, request
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla import filters as fab_filters
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app import permissions as P
from app.services import customers as customer_rules
from app.services.reference import dict_choices
from models.customers import Customer
from views.base import BaseApi, BaseModelView, SafeInterface
from views.customer_extras import CustomerExtrasApiMixin, CustomerExtrasMixin  # CUS-7/8: extra fields, completeness
from views.labels import YES_NO, choice_label, dict_label

KINDS = {"individual": _l("Individual"), "corporate": _l("Corporate")}
DIRECTNESS = {"direct": _l("Direct"), "indirect": _l("Indirect")}

MOBILE_PHONE = customer_rules.MOBILE_PHONE
validate_customer = customer_rules.validate_customer  # the rules live in app/services/customers.py


class _LikeWhenUncased:
    """FAB's text filters use ILIKE. A value without upper/lower case (Chinese names, digits) matches
    the same rows with LIKE, and PostgreSQL runs LIKE several times faster and estimates it far better:
    on 100k customers, "name contains 张" takes 17 ms instead of 45 ms to count, and the first page
    walks the primary key backwards (0.5 ms) instead of scanning and sorting the table (40 ms).
    Values with case (Latin letters) keep FAB's case-insensitive ILIKE."""

    pattern = "{}"
    negate = False

    def apply(self, query, value):
        if not isinstance(value, str) or value.lower() != value.upper():
            return super().apply(query, value)
        query, field = fab_filters.get_field_setup_query(query, self.model, self.column_name)
        condition = field.like(self.pattern.format(value))
        return query.filter(~condition if self.negate else condition)


def _uncased(base, pattern, negate=False):
    return type(base.__name__, (_LikeWhenUncased, base), {"pattern": pattern, "negate": negate})


_TEXT_FILTERS = {
    fab_filters.FilterStartsWith: _uncased(fab_filters.FilterStartsWith, "{}%"),
    fab_filters.FilterEndsWith: _uncased(fab_filters.FilterEndsWith, "%{}"),
    fab_filters.FilterContains: _uncased(fab_filters.FilterContains, "%{}%"),
    fab_filters.FilterNotStartsWith: _uncased(fab_filters.FilterNotStartsWith, "{}%", negate=True),
    fab_filters.FilterNotEndsWith: _uncased(fab_filters.FilterNotEndsWith, "%{}", negate=True),
    fab_filters.FilterNotContains: _uncased(fab_filters.FilterNotContains, "%{}%", negate=True),
}


class CustomerFilterConverter(fab_filters.SQLAFilterConverter):
    """FAB's filters, same order (so the _flt_<n>_ indexes and API opr names do not change), with the
    text filters above."""

    conversion_table = tuple(
        (kind, [_TEXT_FILTERS.get(flt, flt) for flt in flts])
        for kind, flts in fab_filters.SQLAFilterConverter.conversion_table
    )


class CustomerInterface(SafeInterface):
    filter_converter_class = CustomerFilterConverter


def assign_code(item):
    if not item.code:
        from app.services import numbering

        item.code = numbering.next_number("customer")


def assign_manager(item):
    """A new customer without an account manager belongs to whoever enters it, in that person's department."""
    from app.audit import current_actor
    from app.extensions import db
    from models.system import Employee

    user_id, _ = current_actor()
    if item.id is None and item.manager_id is None and item.manager is None and user_id is not None:
        # Set the relationship, not the column: a form that posted an empty manager set `manager` to None,
        # and at flush that None would overwrite a bare manager_id.
        from app.extensions import appbuilder

        item.manager = db.session.get(appbuilder.sm.user_model, user_id)
    if item.department_id is None:
        manager_id = item.manager.id if item.manager is not None else item.manager_id
        if manager_id is not None:
            item.department_id = db.session.execute(
                select(Employee.department_id).where(Employee.user_id == manager_id)).scalar()


LABELS = {
    "code": _l("Customer no."), "kind": _l("Customer kind"), "name": _l("Customer name"), "id_type": _l("ID type"),
    "id_number": _l("ID number"), "gender": _l("Gender"), "birth_date": _l("Birth date"), "phone": _l("Mobile phone"),
    "email": _l("E-mail"), "region_code": _l("Region"), "industry_code": _l("Industry"), "address": _l("Address"),
    "legal_representative": _l("Legal representative"), "registered_capital": _l("Registered capital"),
    "direct": _l("Direct / indirect"), "manager": _l("Account manager"), "department": _l("Department"),
    "created_at": _l("Created at"),
    "credit_customer": _l("Credit customer"), "blacklisted": _l("Blacklisted"), "person_kind": _l("Legal / natural person"),
    "political_status": _l("Political status"), "ethnicity": _l("Ethnicity"), "marital_status": _l("Marital status"),
    "education": _l("Highest education"), "degree": _l("Highest degree"), "health": _l("Health"),
    "household_type": _l("Household registration"), "residence_status": _l("Residence status"),
    "post_code": _l("Post code"), "home_phone": _l("Home telephone"), "work_phone": _l("Office telephone"),
    "occupation": _l("Occupation"), "employer": _l("Employer"), "employer_industry": _l("Employer's industry"),
    "employer_nature": _l("Employer type"), "employer_post_code": _l("Employer's post code"),
    "employer_since": _l("Working there since (year)"), "employer_address": _l("Employer's address"),
    "job_position": _l("Position"), "job_title": _l("Professional title"),
    "main_income_source": _l("Main source of income"), "other_income_source": _l("Other sources of income"),
    "monthly_income": _l("Monthly income (yuan)"), "family_monthly_income": _l("Family monthly income (yuan)"),
    "monthly_expenses": _l("Monthly expenses (yuan)"), "family_size": _l("Family size"),
    "dependants": _l("Dependants"), "total_assets": _l("Total assets (yuan)"),
    "total_liabilities": _l("Total liabilities (yuan)"), "assessment_grade": _l("Assessed grade"),
    "assessment_note": _l("Assessment notes"),
    "enterprise_nature": _l("Enterprise type"), "established_on": _l("Established on"),
    "licence_expiry": _l("Business licence valid until"), "paid_in_capital": _l("Paid-in capital (yuan)"),
    "registration_authority": _l("Registration authority"), "registered_address": _l("Registered address"),
    "business_scope": _l("Business scope"), "enterprise_size": _l("Enterprise size"),
    "employee_count": _l("Number of employees"), "main_business": _l("Main business"), "premises": _l("Business premises"),
    "annual_revenue": _l("Annual revenue (yuan)"), "contact_person": _l("Contact person"), "website": _l("Website"),
    "basic_account_bank": _l("Bank of the basic account"), "basic_account_no": _l("Basic account no."),
    "loan_card_no": _l("Loan card no. (credit reference code)"),
}
PERSON_KINDS = {"legal": _l("Legal person"), "natural": _l("Natural person")}

# column -> dictionary of its codes
DICT_COLUMNS = {
    "id_type": "id_type", "gender": "gender", "region_code": "region", "industry_code": "industry",
    "political_status": "political_status", "ethnicity": "ethnicity", "marital_status": "marital_status",
    "education": "education", "degree": "degree", "health": "health", "household_type": "household_type",
    "residence_status": "residence_status", "occupation": "occupation", "employer_industry": "industry",
    "employer_nature": "employer_nature", "job_title": "job_title", "assessment_grade": "customer_grade",
    "enterprise_nature": "enterprise_nature", "enterprise_size": "enterprise_size", "premises": "premises",
}


def _select(label, choices, required=True):
    validators = [DataRequired()] if required else [Optional()]
    return SelectField(label, choices=choices, validators=validators, widget=Select2Widget())


def _dict(type_code, only=None):
    def choices():
        items = dict_choices(type_code)
        return [("", "")] + [(c, n) for c, n in items if only is None or c in only]

    return choices


def dict_select_fields(labels, columns, required=()):
    """Select fields offering a dictionary's entries, for the given columns."""
    return {column: _select(labels[column], _dict(DICT_COLUMNS[column]), required=column in required)
            for column in columns}


def dict_formatters(columns):
    return {column: dict_label(DICT_COLUMNS[column]) for column in columns}


def _form_fields():
    return {
        "kind": _select(LABELS["kind"], lambda: [(k, str(v)) for k, v in KINDS.items()]),
        "id_type": _select(LABELS["id_type"], _dict("id_type")),
        "gender": _select(LABELS["gender"], _dict("gender"), required=False),
        "region_code": _select(LABELS["region_code"], _dict("region"), required=False),
        "industry_code": _select(LABELS["industry_code"], _dict("industry"), required=False),
        "direct": _select(LABELS["direct"], lambda: [(k, str(v)) for k, v in DIRECTNESS.items()]),
    }


CLASS_FIELDS = ["direct", "credit_customer", "manager"]
INDIVIDUAL_FIELDSETS = [
    (_l("Basic information"), {"fields": [
        "name", "id_type", "id_number", "gender", "birth_date", "political_status", "ethnicity", "marital_status",
        "education", "degree", "health", "household_type", "residence_status", "region_code", "address", "post_code",
        "phone", "home_phone", "work_phone", "email"]}),
    (_l("Occupation"), {"fields": [
        "occupation", "employer", "employer_industry", "employer_nature", "employer_post_code", "employer_since",
        "employer_address", "job_position", "job_title"]}),
    (_l("Income and expenses"), {"fields": [
        "main_income_source", "other_income_source", "monthly_income", "family_monthly_income", "monthly_expenses",
        "family_size", "dependants"]}),
    (_l("Basic assessment"), {"fields": ["total_assets", "total_liabilities", "assessment_grade",
                                         "assessment_note"]}),
    (_l("Customer class"), {"fields": CLASS_FIELDS}),
]
CORPORATE_FIELDSETS = [
    (_l("Registration"), {"fields": [
        "name", "id_type", "id_number", "legal_representative", "enterprise_nature", "established_on",
        "licence_expiry", "registered_capital", "paid_in_capital", "registration_authority", "registered_address",
        "business_scope"]}),
    (_l("Company overview"), {"fields": [
        "industry_code", "enterprise_size", "employee_count", "main_business", "region_code", "address", "premises",
        "annual_revenue", "contact_person", "phone", "work_phone", "email", "website"]}),
    (_l("Financial business"), {"fields": ["basic_account_bank", "basic_account_no", "loan_card_no"]}),
    (_l("Customer class"), {"fields": CLASS_FIELDS}),
]
_AUDIT_FIELDSET = (_l("Record"), {"fields": ["code", "blacklisted", "department", "created_at"]})


def _columns(fieldsets):
    return [column for _, fieldset in fieldsets for column in fieldset["fields"]]


class CustomerView(CustomerExtrasMixin, BaseModelView):
    """Every customer, both kinds (the individual and corporate screens below show each kind's full file)."""

    datamodel = CustomerInterface(Customer)
    class_permission_name = P.CUSTOMER
    method_permission_name = {**BaseModelView.method_permission_name, "pick": P.READ}
    list_title = _l("Customers")
    show_title, add_title, edit_title = _l("Customer"), _l("Add customer"), _l("Edit customer")
    list_columns = ["code", "name", "kind", "person_kind", "id_number", "phone", "direct", "credit_customer",
                    "blacklisted", "manager", "created_at"]
    # person_kind is a property (follows kind): shown, not sortable
    order_columns = ["code", "name", "kind", "id_number", "phone", "direct", "credit_customer", "blacklisted",
                     "created_at"]
    export_columns = ["code", "name", "kind", "id_type", "id_number", "gender", "birth_date", "phone", "region_code",
                      "industry_code", "address", "direct", "manager", "created_at"]
    search_columns = ["code", "name", "kind", "id_number", "phone", "region_code", "industry_code", "direct",
                      "credit_customer", "blacklisted", "manager"]
    add_columns = edit_columns = ["kind", "name", "id_type", "id_number", "gender", "birth_date", "phone", "email",
                                  "region_code", "industry_code", "address", "legal_representative",
                                  "registered_capital", "direct", "credit_customer", "manager"]
    show_columns = ["code"] + add_columns + ["blacklisted", "created_at"]
    base_order = ("id", "desc")
    label_columns = LABELS
    formatters_columns = {
        "kind": choice_label(KINDS), "direct": choice_label(DIRECTNESS), "person_kind": choice_label(PERSON_KINDS),
        "credit_customer": choice_label(YES_NO), "blacklisted": choice_label(YES_NO),
        **dict_formatters(["id_type", "gender", "region_code", "industry_code"]),
    }
    validators = (validate_customer, assign_code, assign_manager)
    add_form_extra_fields = edit_form_extra_fields = _form_fields()

    @expose("/pick/")
    @has_access
    def pick(self):
        """Customers matching a typed name, customer no. or ID number, for the customer pickers of other
        screens (JSON for Select2; at most 20, within the user's data scope)."""
        from app.extensions import db
        from app.services.data_scope import apply_scope

        term = (request.args.get("q") or "").strip()[:50]
        kind = request.args.get("kind")
        query = select(Customer.id, Customer.name, Customer.code).order_by(Customer.id.desc()).limit(20)
        if term:
            like = term.replace("\\", "").replace("%", "").replace("_", "") + "%"
            query = query.where(or_(Customer.code.like(like), Customer.id_number.like(like.upper()),
                                    Customer.name.like("%" + like)))
        if kind in KINDS:
            query = query.where(Customer.kind == kind)
        rows = db.session.execute(apply_scope(query, Customer)).all()
        return jsonify(results=[{"id": pk, "text": f"{name} ({code})"} for pk, name, code in rows])


class OneKind:
    """Screens and APIs of one kind of customer: the kind is theirs, not the user's to choose."""

    customer_kind = None

    def pre_add(self, item):
        customer_rules.set_kind(item, self.customer_kind)
        super().pre_add(item)

    def pre_update(self, item):
        customer_rules.set_kind(item, self.customer_kind)
        super().pre_update(item)


def _kind_view_fields(kind, fieldsets):
    columns = _columns(fieldsets)
    ids = customer_rules.PERSONAL_ID_TYPES if kind == "individual" else customer_rules.CORPORATE_ID_TYPES
    fields = dict_select_fields(LABELS, [c for c in columns if c in DICT_COLUMNS and c != "id_type"])
    fields["id_type"] = _select(LABELS["id_type"], _dict("id_type", only=ids))
    fields["direct"] = _select(LABELS["direct"], lambda: [(k, str(v)) for k, v in DIRECTNESS.items()])
    return fields


class IndividualCustomerView(OneKind, CustomerExtrasMixin, BaseModelView):
    """个人客户: the individual's whole file; sub-records (résumé, family, stores …) are tabs."""

    datamodel = CustomerInterface(Customer)
    class_permission_name = P.CUSTOMER
    list_title = _l("Individual customers")
    show_title, add_title, edit_title = _l("Individual customer"), _l("Add individual customer"), \
        _l("Edit individual customer")
    customer_kind = "individual"
    base_filters = [["kind", fab_filters.FilterEqual, "individual"]]
    list_columns = ["code", "name", "id_number", "gender", "phone", "region_code", "direct", "credit_customer",
                    "blacklisted", "manager"]
    search_columns = ["code", "name", "id_number", "phone", "gender", "region_code", "marital_status", "education",
                      "occupation", "direct", "credit_customer", "blacklisted", "manager"]
    add_fieldsets = edit_fieldsets = INDIVIDUAL_FIELDSETS
    show_fieldsets = INDIVIDUAL_FIELDSETS + [_AUDIT_FIELDSET]
    export_columns = ["code"] + _columns(INDIVIDUAL_FIELDSETS) + ["blacklisted", "created_at"]
    base_order = ("id", "desc")
    label_columns = LABELS
    formatters_columns = {
        "direct": choice_label(DIRECTNESS), "credit_customer": choice_label(YES_NO),
        "blacklisted": choice_label(YES_NO), **dict_formatters([c for c in DICT_COLUMNS]),
    }
    validators = (validate_customer, assign_code, assign_manager)
    add_form_extra_fields = edit_form_extra_fields = _kind_view_fields("individual", INDIVIDUAL_FIELDSETS)


class CorporateCustomerView(OneKind, CustomerExtrasMixin, BaseModelView):
    """企业客户: registration, overview, financial business; key persons, shareholders … are tabs."""

    datamodel = CustomerInterface(Customer)
    class_permission_name = P.CUSTOMER
    list_title = _l("Corporate customers")
    show_title, add_title, edit_title = _l("Corporate customer"), _l("Add corporate customer"), \
        _l("Edit corporate customer")
    customer_kind = "corporate"
    base_filters = [["kind", fab_filters.FilterEqual, "corporate"]]
    list_columns = ["code", "name", "id_number", "legal_representative", "industry_code", "enterprise_size",
                    "direct", "credit_customer", "blacklisted", "manager"]
    search_columns = ["code", "name", "id_number", "legal_representative", "industry_code", "enterprise_size",
                      "enterprise_nature", "region_code", "phone", "direct", "credit_customer", "blacklisted",
                      "manager"]
    add_fieldsets = edit_fieldsets = CORPORATE_FIELDSETS
    show_fieldsets = CORPORATE_FIELDSETS + [_AUDIT_FIELDSET]
    export_columns = ["code"] + _columns(CORPORATE_FIELDSETS) + ["blacklisted", "created_at"]
    base_order = ("id", "desc")
    label_columns = LABELS
    formatters_columns = {
        "direct": choice_label(DIRECTNESS), "credit_customer": choice_label(YES_NO),
        "blacklisted": choice_label(YES_NO), **dict_formatters([c for c in DICT_COLUMNS]),
    }
    validators = (validate_customer, assign_code, assign_manager)
    add_form_extra_fields = edit_form_extra_fields = _kind_view_fields("corporate", CORPORATE_FIELDSETS)


API_SHOW = ["id", "code", "kind", "name", "id_type", "id_number", "gender", "birth_date", "phone", "email",
            "region_code", "industry_code", "address", "direct", "credit_customer", "blacklisted", "manager_id",
            "created_at"]


class CustomerApi(CustomerExtrasApiMixin, BaseApi):
    resource_name = "customer"
    datamodel = CustomerInterface(Customer)
    class_permission_name = P.CUSTOMER
    list_columns = show_columns = API_SHOW
    add_columns = edit_columns = ["kind", "name", "id_type", "id_number", "gender", "birth_date", "phone", "email",
                                  "region_code", "industry_code", "address", "legal_representative",
                                  "registered_capital", "direct", "credit_customer"]
    search_columns = ["code", "name", "kind", "id_number", "phone", "region_code", "industry_code", "direct",
                      "credit_customer", "blacklisted"]
    base_order = ("id", "desc")
    validators = (validate_customer, assign_code, assign_manager)


_INDIVIDUAL_API = [c for c in _columns(INDIVIDUAL_FIELDSETS) if c != "manager"]
_CORPORATE_API = [c for c in _columns(CORPORATE_FIELDSETS) if c != "manager"]


class IndividualCustomerApi(OneKind, CustomerExtrasApiMixin, BaseApi):
    resource_name = "individual_customer"
    datamodel = CustomerInterface(Customer)
    class_permission_name = P.CUSTOMER
    customer_kind = "individual"
    base_filters = [["kind", fab_filters.FilterEqual, "individual"]]
    list_columns = ["id", "code", "name", "id_type", "id_number", "gender", "birth_date", "phone", "direct",
                    "credit_customer", "blacklisted", "manager_id"]
    show_columns = ["id", "code", "kind"] + _INDIVIDUAL_API + ["blacklisted", "manager_id", "created_at"]
    add_columns = edit_columns = _INDIVIDUAL_API
    search_columns = ["code", "name", "id_number", "phone", "direct", "credit_customer", "blacklisted"]
    base_order = ("id", "desc")
    validators = (validate_customer, assign_code, assign_manager)


class CorporateCustomerApi(OneKind, CustomerExtrasApiMixin, BaseApi):
    resource_name = "corporate_customer"
    datamodel = CustomerInterface(Customer)
    class_permission_name = P.CUSTOMER
    customer_kind = "corporate"
    base_filters = [["kind", fab_filters.FilterEqual, "corporate"]]
    list_columns = ["id", "code", "name", "id_type", "id_number", "legal_representative", "industry_code",
                    "direct", "credit_customer", "blacklisted", "manager_id"]
    show_columns = ["id", "code", "kind"] + _CORPORATE_API + ["blacklisted", "manager_id", "created_at"]
    add_columns = edit_columns = _CORPORATE_API
    search_columns = ["code", "name", "id_number", "industry_code", "direct", "credit_customer", "blacklisted"]
    base_order = ("id", "desc")
    validators = (validate_customer, assign_code, assign_manager)
