"""Customer relations (CUS-4), the relation graph, transfer and merge (CUS-8) and the customer 360 page.

* CustomerRelationView: the relations tab of every customer page (CUSTOMER_TABS) and the relation list of
  the customer menu; a customer's tab lists the relations on either side of it.
* CustomerRelationView.graph: JSON of the relation graph (ECharts), permission + data scope applied:
  customers outside the viewer's scope are masked nodes (the link is shown: it matters for risk; the name
  and the link to the customer are not).
* CustomerTransferView / CustomerMergeView: the histories, and the transfer and merge forms (RUN).
* Customer360View: /customer360/<id>, sections from app.services.customer_360.
* install_customer_actions(view): the list actions (transfer, merge) and the 360 button of a customer screen.
"""
from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, action, expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, DatePickerWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.sqla.filters import FilterRelationOneToManyEqual
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import or_, select
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import permissions as P
from app.errors import GuaranteeError, NotFound, ValidationError
from app.services import customer_360, customer_maintenance, relations
from models.customer_relations import CustomerMerge, CustomerRelation, CustomerTransfer
from models.customers import Customer
from views.base import BaseApi, BaseModelView, ReadOnlyModelView, SafeInterface
from views.labels import choice_label

KIND_LABELS = relations.KIND_LABELS


# --- resolving a customer typed on a form ---------------------------------------------------------------

def find_customer(reference: str, field: str):
    """The customer with this customer no. or identity number, within the user's data scope."""
    from app.extensions import db
    from app.services.data_scope import apply_scope

    reference = (reference or "").strip().upper()
    if not reference:
        raise ValidationError(gettext("Enter a customer no. or ID number."), field)
    stmt = select(Customer).where(or_(Customer.code == reference, Customer.id_number == reference))
    customer = db.session.execute(apply_scope(stmt, Customer).limit(1)).scalar()
    if customer is None:
        raise ValidationError(gettext("No customer with the no. or ID number %(ref)s.", ref=reference), field)
    return customer


def resolve_relation_parties(item):
    """Form fields customer_ref / related_ref (customer no. or ID number) to the two customers."""
    ref = getattr(item, "_customer_ref", None)
    if ref is not None:
        item.customer = find_customer(ref, "customer_ref")
    ref = getattr(item, "_related_ref", None)
    if ref is not None:
        item.related = find_customer(ref, "related_ref")


def _check_relation(item):
    try:
        relations.validate_relation(item)
    except ValidationError as ex:
        if getattr(item, "_customer_ref", None) is None:  # the API names the customers themselves
            raise
        # the form names the customers by reference fields
        raise ValidationError(ex.message, {"customer": "customer_ref", "related": "related_ref"}.get(ex.field, ex.field))


def _ref_property(attribute):
    def getter(self):
        value = getattr(self, "_" + attribute + "_ref", None)
        if value is not None:
            return value
        customer = getattr(self, attribute)
        return customer.code if customer is not None else ""

    def setter(self, value):
        setattr(self, "_" + attribute + "_ref", value)

    return property(getter, setter)


CustomerRelation.customer_ref = _ref_property("customer")
CustomerRelation.related_ref = _ref_property("related")


class RelationForm(DynamicForm):
    customer_ref = StringField(_l("Customer (no. or ID number)"), validators=[DataRequired(), Length(max=30)],
                               widget=BS3TextFieldWidget())
    kind = SelectField(_l("Relation"), choices=lambda: [("", "")] + [(k, str(v)) for k, v in KIND_LABELS.items()],
                       validators=[DataRequired()], widget=Select2Widget())
    related_ref = StringField(_l("Related party (no. or ID number)"), validators=[DataRequired(), Length(max=30)],
                              widget=BS3TextFieldWidget(),
                              description=_l("The related party must be entered as a customer first."))
    share_pct = DecimalField(_l("Shareholding (%)"), places=4, validators=[Optional()], widget=BS3TextFieldWidget())
    valid_from = DateField(_l("Valid from"), validators=[Optional()], widget=DatePickerWidget())
    valid_to = DateField(_l("Valid to"), validators=[Optional()], widget=DatePickerWidget())
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)], widget=BS3TextFieldWidget())


# --- the relation list: a customer's tab shows either side -------------------------------------------------

class _EitherSide(FilterRelationOneToManyEqual):
    """The tab's filter "customer = X" reads "X on either side of the relation"."""

    def apply(self, query, value):
        try:
            customer_id = int(value[0] if isinstance(value, list) else value)
        except (TypeError, ValueError):
            return query.filter(CustomerRelation.id.is_(None))
        return query.filter(or_(CustomerRelation.customer_id == customer_id,
                                CustomerRelation.related_id == customer_id))


class _RelationFilters(Filters):
    def add_filter_related_view(self, column_name, filter_class, value):
        if column_name == "customer":
            filter_class = _EitherSide
        return super().add_filter_related_view(column_name, filter_class, value)


class RelationInterface(SafeInterface):
    def get_related_fk(self, model):
        return "customer" if model is Customer else super().get_related_fk(model)

    def get_filters(self, search_columns=None, search_filters=None):
        return _RelationFilters(self.filter_converter_class, self, search_columns=search_columns or [],
                                search_filters=search_filters)

    def _apply_inner_all(self, query, *args, **kwargs):
        # A relation is visible when either customer is: the related party's manager sees it too (the data
        # scope's __scope_parent__ alone would follow only the stored "customer" side).
        from app.services.data_scope import scope_condition

        condition = scope_condition(Customer)
        if condition is not None:
            query = query.filter(or_(CustomerRelation.customer.has(condition),
                                     CustomerRelation.related.has(condition)))
        return super(SafeInterface, self)._apply_inner_all(query, *args, **kwargs)


class RelationListWidget(ListWidget):
    """The relation list; on a customer's tab with the relation graph and a link to the 360 page above it."""

    template = "relation_list_widget.html"


LABELS = {
    "customer": _l("Customer"), "related": _l("Related party"), "kind": _l("Relation"),
    "share_pct": _l("Shareholding (%)"), "valid_from": _l("Valid from"), "valid_to": _l("Valid to"),
    "note": _l("Note"), "customer_ref": _l("Customer (no. or ID number)"),
    "related_ref": _l("Related party (no. or ID number)"), "created_at": _l("Created at"),
}
FORM_COLUMNS = ["customer_ref", "kind", "related_ref", "share_pct", "valid_from", "valid_to", "note"]


class CustomerRelationView(BaseModelView):
    datamodel = RelationInterface(CustomerRelation)
    class_permission_name = P.CUSTOMER_RELATION
    method_permission_name = {**BaseModelView.method_permission_name, "graph": P.READ}
    list_title = _l("Customer relations")
    show_title, add_title, edit_title = _l("Customer relation"), _l("Add relation"), _l("Edit relation")
    list_widget = RelationListWidget
    list_columns = ["customer", "kind", "related", "share_pct", "valid_from", "valid_to", "note"]
    show_columns = ["customer", "kind", "related", "share_pct", "valid_from", "valid_to", "note", "created_at"]
    add_columns = edit_columns = FORM_COLUMNS
    add_form = edit_form = RelationForm
    search_columns = ["kind", "valid_from", "valid_to", "note"]
    base_order = ("id", "desc")
    label_columns = LABELS
    formatters_columns = {"kind": choice_label(KIND_LABELS)}
    validators = (resolve_relation_parties, _check_relation)

    def _fill_form_exclude_cols(self, exclude_cols, form):
        """From a customer's tab, the add form starts with that customer (FAB's filter _flt_0_customer)."""
        if "customer" in exclude_cols and hasattr(form, "customer_ref") and not form.customer_ref.data:
            customer_id = self._filters.get_filter_value("customer")
            customer_id = customer_id[0] if isinstance(customer_id, list) else customer_id
            customer = self.datamodel.session.get(Customer, int(customer_id)) if str(customer_id).isdigit() else None
            if customer is not None:
                form.customer_ref.data = customer.code

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        self._fill_form_exclude_cols(exclude_cols or [], form)  # FAB fills them on POST only
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    @expose("/graph/<int:pk>")
    @has_access
    def graph(self, pk):
        """JSON nodes and edges of the relation graph around customer `pk` (depth 1-3, default 2)."""
        from app.extensions import db
        from app.services.data_scope import apply_scope, ensure_visible

        try:
            customer = ensure_visible(db.session.get(Customer, pk))
            depth = request.args.get("depth", "2")
            depth = int(depth) if depth.isdigit() else 2
            if not 1 <= depth <= 3:
                raise ValidationError(gettext("The depth must be between 1 and %(max)s.", max=3), "depth")
        except GuaranteeError as ex:
            return jsonify(message=ex.message), ex.status

        def visible(ids):
            stmt = apply_scope(select(Customer.id).where(Customer.id.in_(list(ids))), Customer)
            return {cid for cid, in db.session.execute(stmt)}

        data = relations.graph(customer.id, depth, visible)
        for node in data["nodes"]:
            node["url"] = "" if node["masked"] else url_for("Customer360View.show", pk=int(node["id"]))
        return jsonify(data)


class CustomerRelationApi(BaseApi):
    resource_name = "customer_relation"
    datamodel = RelationInterface(CustomerRelation)
    class_permission_name = P.CUSTOMER_RELATION
    list_columns = show_columns = ["id", "customer_id", "related_id", "kind", "share_pct", "valid_from", "valid_to",
                                   "note"]
    add_columns = edit_columns = ["customer", "related", "kind", "share_pct", "valid_from", "valid_to", "note"]
    search_columns = ["kind", "valid_from", "valid_to"]
    base_order = ("id", "desc")
    validators = (resolve_relation_parties, _check_relation)  # the screen's checks; the references are form-only


CUSTOMER_TABS = [CustomerRelationView]


# --- transfer and merge --------------------------------------------------------------------------------------

def _user_label(user):
    if user is None:
        return ""
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username


def _manager_choices():
    """Active users linked to an active employee: who can take customers over."""
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import User
    from models.system import Department, Employee

    rows = db.session.execute(
        select(User.id, Employee.name, Department.name).join(Employee, Employee.user_id == User.id)
        .join(Department, Department.id == Employee.department_id)
        .where(User.active.is_(True), Employee.active.is_(True)).order_by(Department.name, Employee.name)).all()
    return [(str(uid), f"{name}（{dept}）") for uid, name, dept in rows]


def _parse_ids(raw) -> list[int]:
    ids = []
    for part in (raw or "").replace("，", ",").split(","):
        part = part.strip()
        if part.isdigit():
            ids.append(int(part))
    return ids


def _customers(ids):
    from app.extensions import db
    from app.services.data_scope import apply_scope

    if not ids:
        return []
    stmt = apply_scope(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id), Customer)
    return list(db.session.execute(stmt).scalars())


class CustomerTransferView(ReadOnlyModelView):
    datamodel = SafeInterface(CustomerTransfer)
    class_permission_name = P.CUSTOMER_TRANSFER
    base_permissions = [P.can(P.READ), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "run": P.RUN}
    list_title = show_title = _l("Customer transfers")
    list_columns = ["transferred_at", "customer", "from_manager", "to_manager", "to_department", "reason",
                    "transferred_by"]
    show_columns = ["transferred_at", "business_date", "customer", "from_manager", "to_manager", "from_department",
                    "to_department", "reason", "transferred_by"]
    search_columns = ["transferred_at", "business_date", "reason"]
    base_order = ("id", "desc")
    label_columns = {
        "transferred_at": _l("Time"), "business_date": _l("Business date"), "customer": _l("Customer"),
        "from_manager": _l("From account manager"), "to_manager": _l("To account manager"),
        "from_department": _l("Former department"), "to_department": _l("New department"), "reason": _l("Reason"),
        "transferred_by": _l("Transferred by"),
    }
    formatters_columns = {"from_manager": _user_label, "to_manager": _user_label, "transferred_by": _user_label}

    @expose("/run/", methods=["GET", "POST"])
    @has_access
    def run(self):
        from app.extensions import db

        ids = _parse_ids(request.values.get("ids"))
        form = {"to_manager": request.form.get("to_manager", ""), "reason": request.form.get("reason", "")}
        errors = {}
        if request.method == "POST":
            try:
                done = customer_maintenance.transfer_customers(ids, form["to_manager"] or None, form["reason"])
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message
            else:
                flash(gettext("%(count)s customers transferred to %(manager)s.", count=len(done),
                              manager=_user_label(done[0].to_manager)), "success")
                return redirect(url_for("CustomerTransferView.list"))
        customers = _customers(ids)
        return self.render_template("customer_transfer.html", customers=customers, ids=",".join(map(str, ids)),
                                    managers=_manager_choices(), form=form, errors=errors,
                                    title=gettext("Transfer customers"))


def _merge_preview(customer):
    """Rows that would move: per table, for the page."""
    from app.extensions import db
    from sqlalchemy import func

    counts = []
    for table, column in customer_maintenance.customer_references():
        if table.name == customer_maintenance.CUSTOMER_TABLE:
            continue
        n = db.session.execute(select(func.count()).select_from(table).where(column == customer.id)).scalar()
        if n:
            from views.labels import table_label

            counts.append((table_label(table.name), n))
    return counts


class CustomerMergeView(ReadOnlyModelView):
    datamodel = SafeInterface(CustomerMerge)
    class_permission_name = P.CUSTOMER_MERGE
    base_permissions = [P.can(P.READ), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "run": P.RUN}
    list_title = show_title = _l("Customer merges")
    list_columns = ["merged_at", "customer", "duplicate_code", "duplicate_name", "rows_moved", "rows_dropped",
                    "reason", "merged_by"]
    show_columns = ["merged_at", "business_date", "customer", "duplicate_code", "duplicate_name",
                    "duplicate_id_number", "rows_moved", "rows_dropped", "reason", "merged_by", "details"]
    search_columns = ["merged_at", "duplicate_code", "duplicate_name", "reason"]
    base_order = ("id", "desc")
    label_columns = {
        "merged_at": _l("Time"), "business_date": _l("Business date"), "customer": _l("Surviving customer"),
        "duplicate_code": _l("Duplicate no."), "duplicate_name": _l("Duplicate name"),
        "duplicate_id_number": _l("Duplicate ID number"), "rows_moved": _l("Rows moved"),
        "rows_dropped": _l("Rows dropped"), "reason": _l("Reason"), "merged_by": _l("Merged by"),
        "details": _l("Details"),
    }
    formatters_columns = {"merged_by": _user_label}

    @expose("/run/", methods=["GET", "POST"])
    @has_access
    def run(self):
        from app.extensions import db

        ids = _parse_ids(request.values.get("ids"))
        form = {"survivor": request.values.get("survivor", ""), "duplicate": request.values.get("duplicate", ""),
                "reason": request.form.get("reason", "")}
        candidates = _customers(ids)
        if len(candidates) == 2 and not (form["survivor"] or form["duplicate"]):
            form["survivor"], form["duplicate"] = candidates[0].code, candidates[1].code
        errors = {}
        survivor = duplicate = None
        try:
            if form["survivor"]:
                survivor = find_customer(form["survivor"], "survivor")
            if form["duplicate"]:
                duplicate = find_customer(form["duplicate"], "duplicate")
        except ValidationError as ex:
            errors[ex.field] = ex.message
        if request.method == "POST" and not errors:
            try:
                if not self.appbuilder.sm.has_access(P.can(P.EDIT), P.CUSTOMER):
                    raise GuaranteeError(gettext("You do not have permission to do this."))
                if survivor is None or duplicate is None:
                    raise ValidationError(gettext("Choose the surviving customer and the duplicate."), "duplicate")
                result = customer_maintenance.merge_customers(survivor.id, duplicate.id, form["reason"])
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message
            else:
                flash(gettext("%(duplicate)s merged into %(survivor)s: %(rows)s records moved.",
                              duplicate=result.merge.duplicate_name, survivor=survivor.name,
                              rows=result.merge.rows_moved), "success")
                return redirect(url_for("Customer360View.show", pk=survivor.id))
        preview = {"survivor": survivor and _merge_preview(survivor), "duplicate": duplicate and _merge_preview(duplicate)}
        return self.render_template("customer_merge.html", form=form, errors=errors, survivor=survivor,
                                    duplicate=duplicate, preview=preview, title=gettext("Merge duplicate customers"))


# --- the 360 page ------------------------------------------------------------------------------------------------

class Customer360View(BaseView):
    route_base = "/customer360"
    class_permission_name = P.CUSTOMER
    base_permissions = [P.can(P.READ)]
    method_permission_name = {"show": P.READ}
    default_view = "show"

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        from app.extensions import db
        from app.services.data_scope import ensure_visible

        try:
            customer = ensure_visible(db.session.get(Customer, pk))
        except NotFound:
            abort(404)
        sm = self.appbuilder.sm
        sections = customer_360.build(customer, lambda resource: sm.has_access(P.can(P.READ), resource))
        endpoint = {"individual": "IndividualCustomerView", "corporate": "CorporateCustomerView"}.get(customer.kind)
        if endpoint not in self.appbuilder.app.view_functions and f"{endpoint}.show" not in \
                self.appbuilder.app.view_functions:
            endpoint = "CustomerView"
        return self.render_template(
            "customer_360.html", customer=customer, sections=sections,
            file_url=url_for(f"{endpoint}.show", pk=customer.id),
            can_transfer=sm.has_access(P.can(P.RUN), P.CUSTOMER_TRANSFER),
            can_merge=sm.has_access(P.can(P.RUN), P.CUSTOMER_MERGE) and sm.has_access(P.can(P.EDIT), P.CUSTOMER),
            title=gettext("Customer 360: %(name)s", name=customer.name))


# --- list actions on a customer screen ------------------------------------------------------------------------

class _VisibleActions(dict):
    """FAB falls back to all actions when the dict it gets is empty; this one is never "empty"."""

    def __bool__(self):
        return True


def install_customer_actions(view_class):
    """Add "Transfer", "Merge" and "360 view" to a customer screen (a BaseModelView on Customer).

    The actions themselves only open the forms above (which check RUN on their own resource); they are
    listed only for users who hold that permission."""
    if getattr(view_class, "_customer_actions_installed", False):
        return view_class

    @action("transfer_customers", _l("Transfer to another account manager"), icon="fa-exchange", single=False)
    def transfer_customers(self, items):
        items = items if isinstance(items, list) else [items]
        return redirect(url_for("CustomerTransferView.run", ids=",".join(str(i.id) for i in items if i)))

    @action("merge_customers", _l("Merge duplicates"), icon="fa-compress", single=False)
    def merge_customers(self, items):
        items = items if isinstance(items, list) else [items]
        return redirect(url_for("CustomerMergeView.run", ids=",".join(str(i.id) for i in items if i)))

    @action("customer_360", _l("Customer 360 view"), icon="fa-dot-circle-o", multiple=False)
    def customer_360_action(self, item):
        item = item[0] if isinstance(item, list) else item
        return redirect(url_for("Customer360View.show", pk=item.id))

    extra_resource = {"transfer_customers": P.CUSTOMER_TRANSFER, "merge_customers": P.CUSTOMER_MERGE}

    def visible_actions(self, actions=None):
        sm = self.appbuilder.sm
        allowed = _VisibleActions()
        for name, item in (actions or self.actions).items():
            resource = extra_resource.get(name)
            if resource is None or sm.has_access(P.can(P.RUN), resource):
                allowed[name] = item
        return allowed

    original_list_widget = view_class._get_list_widget
    original_show_widget = view_class._get_show_widget

    def _get_list_widget(self, filters, actions=None, **kwargs):
        return original_list_widget(self, filters, actions=visible_actions(self, actions), **kwargs)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, **kwargs):
        return original_show_widget(self, pk, item, widgets=widgets, actions=visible_actions(self, actions), **kwargs)

    view_class.transfer_customers = transfer_customers
    view_class.merge_customers = merge_customers
    view_class.customer_360 = customer_360_action
    view_class._get_list_widget = _get_list_widget
    view_class._get_show_widget = _get_show_widget
    view_class.method_permission_name = {**view_class.method_permission_name, "transfer_customers": P.READ,
                                         "merge_customers": P.READ, "customer_360": P.READ}
    view_class._customer_actions_installed = True
    return view_class


def register(appbuilder, category: dict):
    """Menus and APIs of this module (called from views.register_views)."""
    add = appbuilder.add_view
    add(CustomerRelationView, "CustomerRelations", label=_l("Customer relations"), icon="fa-share-alt", **category)
    add(CustomerTransferView, "CustomerTransfers", label=_l("Customer transfers"), icon="fa-exchange", **category)
    add(CustomerMergeView, "CustomerMerges", label=_l("Customer merges"), icon="fa-compress", **category)
    appbuilder.add_view_no_menu(Customer360View)
    appbuilder.add_api(CustomerRelationApi)
