"""Base classes every screen and API builds on: one permission vocabulary, safe errors, Excel export."""
import logging

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.urltools import get_filter_args, get_order_args, get_page_args, get_page_size_args
from flask_babel import gettext, lazy_gettext as _l

from app.errors import GuaranteeError, NotFound
from app.permissions import ADD, DELETE, EDIT, EXPORT, READ, can
from views.api_support import ApiHardeningMixin, SafeInterface  # noqa: F401  SafeInterface is used by every view module

log = logging.getLogger(__name__)

# Every FAB method maps onto the business verbs, so a role's grants read as 查看/新增/修改/删除/导出.
SCREEN_METHODS = {
    "list": READ, "show": READ, "download": READ, "action": READ, "action_post": READ,
    "add": ADD, "edit": EDIT, "delete": DELETE, "muldelete": DELETE, "export": EXPORT,
}


def _is_text_column(datamodel, column) -> bool:
    """Data layer: a plain text column of the model (not a relation or a property)."""
    try:
        return not datamodel.is_relation(column) and (datamodel.is_string(column) or datamodel.is_text(column))
    except (KeyError, AttributeError):
        return False


def _refuse_unstorable_text(form, field):
    """Data layer: WTForms validator shared by every generated text field (see BaseModelView._init_forms)."""
    from wtforms.validators import StopValidation

    from views.api_support import storable

    if isinstance(field.data, str) and not storable(field.data):
        raise StopValidation(gettext("The text contains characters that cannot be stored."))


def _unticked_box_is_an_answer(form_class) -> None:
    """Data layer: FAB makes the checkbox of a NOT NULL boolean required, so "active" could never be switched
    off on a screen (an unticked box sends nothing). An unticked box means False."""
    from wtforms import BooleanField
    from wtforms.validators import DataRequired, InputRequired

    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        field_class = getattr(unbound, "field_class", None)
        if isinstance(field_class, type) and issubclass(field_class, BooleanField):
            validators = unbound.kwargs.get("validators") or []
            unbound.kwargs["validators"] = [v for v in validators if not isinstance(v, (InputRequired, DataRequired))]


def _readable_blank_choice(form_class) -> None:
    """WTForms 3.3 labels an option with its value when the label is empty, so FAB's optional
    relation selects offered "__None"; they offer a translated "(none)" instead."""
    from flask_appbuilder.fields import QuerySelectField

    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        field_class = getattr(unbound, "field_class", None)
        if isinstance(field_class, type) and issubclass(field_class, QuerySelectField):
            unbound.kwargs["blank_text"] = _l("(none)")


class DataScopeFilter(BaseFilter):
    """Base filter carrying the data scope (issue 11) for a view whose datamodel is not a SafeInterface
    (a SafeInterface applies the scope to every query itself)."""

    name = "data scope"
    arg_name = "scope"

    def apply(self, query, value):
        from app.services.data_scope import apply_scope

        return apply_scope(query, self.datamodel.obj)


def _with_data_scope(view) -> None:
    from app.services.data_scope import is_scoped

    if is_scoped(view.datamodel.obj) and not isinstance(view.datamodel, SafeInterface):
        pk = view.datamodel.get_pk_name()
        view.base_filters = [*(view.base_filters or []), [pk, DataScopeFilter, None]]


class ScopedActions:
    """FAB's action routes fetch rows by id without the base filters: a row the user may not see (data
    scope, base filters) is a 404 there too, never reaches the action."""

    def _visible(self, pk) -> bool:
        return self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters) is not None

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        if not self._visible(pk):
            abort(404)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        if not all(self._visible(pk) for pk in request.form.getlist("rowid")):
            abort(404)
        return super().action_post()


class ServiceChecks:
    """The service-layer checks a screen and its API share: `validators` run before add and edit,
    `delete_validators` before a delete; they raise app.errors typed errors."""

    validators: tuple = ()
    delete_validators: tuple = ()

    def pre_add(self, item):
        for check in self.validators:
            check(item)

    pre_update = pre_add

    def pre_delete(self, item):
        for check in self.delete_validators:
            check(item)


class BaseModelView(ScopedActions, ServiceChecks, ModelView):
    """A list/show/add/edit/delete screen with Excel export and service-layer validation.

    Subclasses set `datamodel = SafeInterface(Model)`, `class_permission_name` from app.permissions,
    `list_columns`, `search_columns`, `base_order`, and `validators`: service functions that raise
    app.errors.ValidationError; the entity's REST API lists the same ones.
    """

    list_template = "list_with_export.html"
    method_permission_name = SCREEN_METHODS
    page_size = 20
    export_columns: list[str] | None = None  # defaults to list_columns

    def _init_properties(self):
        _with_data_scope(self)  # data scope (issue 11): also when the datamodel is not a SafeInterface
        super()._init_properties()

    # A refused save shows the form again with the user's input and the message beside its field;
    # FAB's own _add/_edit would redirect away and lose what was typed.
    def _add(self):
        if request.method != "POST":
            return super()._add()
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        self._fill_form_exclude_cols(exclude_cols, form)
        if form.validate():
            self.process_form(form, True)
            item = self.datamodel.obj()
            if self._saved(form, item, self.pre_add, self.datamodel.add):
                self.post_add(item)
                flash(self.add_row_message, "success")
                return None
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        if request.method != "POST":
            return super()._edit(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.edit_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude_cols, form)
        form._id = self.datamodel.get_pk_value(item)  # lets FAB's unique check skip this record
        if form.validate():
            self.process_form(form, False)
            if self._saved(form, item, self.pre_update, self.datamodel.edit):
                self.post_update(item)
                flash(self.edit_row_message, "success")
                return None
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(item, filters={}, orders=get_order_args(), pages=get_page_args(),
                                               page_sizes=get_page_size_args(), widgets=widgets)

    def _saved(self, form, item, check, save) -> bool:
        try:
            form.populate_obj(item)
            check(item)
            save(item)
            return True
        except GuaranteeError as ex:
            self.datamodel.session.rollback()
            field = form._fields.get(ex.field) if ex.field else None
            if field is not None:
                field.errors = [*field.errors, ex.message]  # shown beside the field
            else:
                flash(ex.message, "danger")
            return False

    # --- data layer (SYS-14/SYS-5 engineer): list parameters are checked before FAB queries -------------
    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        from app.services.list_query import check_list_query

        if page_size is None:  # issue 9 (WB-6): the user's own rows per page, when he chose one
            from app.services.personal import rows_per_page

            page_size = rows_per_page(getattr(getattr(g, "user", None), "id", None), self.page_size)
        check_list_query(self, filters, order_column, page, page_size)  # GuaranteeError -> 400 page
        return super()._get_list_widget(filters, actions=actions, order_column=order_column,
                                        order_direction=order_direction, page=page, page_size=page_size,
                                        widgets=widgets, **kwargs)

    def _init_forms(self):
        # Text the database cannot store (NUL: PostgreSQL refuses it) is refused first on every generated text
        # field, before FAB's own checks: its unique check would send the value to the database (a 500).
        text_columns = [c for c in dict.fromkeys([*(self.add_columns or []), *(self.edit_columns or [])])
                        if _is_text_column(self.datamodel, c)]
        self.validators_columns = dict(self.validators_columns or {})
        for column in text_columns:
            self.validators_columns[column] = [_refuse_unstorable_text, *self.validators_columns.get(column, [])]
        super()._init_forms()
        for form in (self.add_form, self.edit_form):
            _unticked_box_is_an_answer(form)
            _readable_blank_choice(form)
    # --- end data layer ------------------------------------------------------------------------------------

    @expose("/export/")
    @has_access
    def export(self):
        from app.services import exporting

        args = request.args.to_dict(flat=False)
        try:
            result = exporting.start(self, args, g.user)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            return redirect(url_for(f"{self.endpoint}.list", **request.args))
        if result.path:
            return send_file(result.path, as_attachment=True, download_name=result.download_name)
        flash(gettext("The export runs in the background; it is listed under My exports."), "info")
        return redirect(url_for("ExportJobView.progress", pk=result.job_id))


class ReadOnlyModelView(BaseModelView):
    """A screen nobody edits (logs): list, show and export only."""

    base_permissions = [can(READ), can(EXPORT)]

    def pre_add(self, item):
        raise GuaranteeError(gettext("This record cannot be changed."))

    pre_update = pre_delete = pre_add


API_METHODS = {"get": READ, "get_list": READ, "info": READ, "post": ADD, "put": EDIT, "delete": DELETE}


class BaseApi(ServiceChecks, ApiHardeningMixin, ModelRestApi):
    """REST API of one entity: same permission resource and verbs as its screen, same validation,
    and errors as 4xx with a translated message (never a 500 or the database's text; see
    views/api_support.py).

    Subclasses set `resource_name`, `datamodel = SafeInterface(Model)`, `class_permission_name` (the
    screen's), the column lists, `validators` (the screen's service checks, run before add and edit)
    and `delete_validators` (checks run before a delete; they raise app.errors typed errors).
    """

    method_permission_name = API_METHODS
    allow_browser_login = True

    def _init_properties(self):
        _with_data_scope(self)  # data scope (issue 11): also when the datamodel is not a SafeInterface
        super()._init_properties()


def run_operation(operation, message, back):
    """One business operation of a screen in its own transaction, then back to `back`: a refusal flashes its
    translated message and changes nothing; an unknown record is a 404; success flashes `message`."""
    from app.extensions import db

    try:
        operation()
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except GuaranteeError as ex:
        db.session.rollback()
        flash(ex.message, "danger")
    else:
        flash(str(message), "success")
    return redirect(back)
