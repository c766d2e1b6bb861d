"""System management screens and APIs (SYS-1, 2, 4–8)."""
import json

from flask import abort, flash, g, jsonify, redirect, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import permissions as P
from app.errors import GuaranteeError, ValidationError
from app.services import dayend, exporting, numbering, settings
from models.system import (
    ApprovalPost, CompanyInfo, DayEndRun, DayEndStepLog, Department, DictItem, DictType, Employee, ExportJob,
    LoginLog, NumberingRule, OperationLog, SystemSetting,
)
from views.labels import CHANNELS, LOGIN_EVENTS, OPERATIONS, RUN_STATES, choice_label, table_label
from views.base import BaseApi, BaseModelView, ReadOnlyModelView, SafeInterface

AUDIT_LABELS = {"created_at": _l("Created at"), "updated_at": _l("Updated at")}


# --- validators shared by screens and APIs -------------------------------------------------------

def validate_department(item):
    parent = item.parent
    if parent is None:
        return
    if parent is item or (item.id is not None and item.id in {parent.id, *(a.id for a in parent.ancestors())}):
        raise ValidationError(gettext("A department cannot be placed under itself or its own sub-departments."),
                              "parent")


def validate_setting(item):
    settings.parse(item.key, item.value)


def validate_dict_item(item):
    if item.parent is not None and item.parent.type_id != (item.dict_type.id if item.dict_type else item.type_id):
        raise ValidationError(gettext("The parent entry must belong to the same dictionary."), "parent")


def refuse_builtin_dictionary(item):
    if item.builtin:
        raise ValidationError(gettext("Built-in dictionaries are used by the system and cannot be deleted."))


# --- organisation ---------------------------------------------------------------------------------

class CompanyInfoView(BaseModelView):
    datamodel = SafeInterface(CompanyInfo)
    class_permission_name = P.COMPANY
    list_title = show_title = edit_title = add_title = _l("Company information")
    list_columns = ["name", "credit_code", "legal_representative", "phone", "address"]
    search_columns = ["name"]
    base_order = ("id", "asc")
    add_columns = edit_columns = show_columns = [
        "name", "short_name", "credit_code", "legal_representative", "registered_capital", "established_on",
        "license_no", "address", "phone", "website",
    ]
    label_columns = {
        "name": _l("Company name"), "short_name": _l("Short name"), "credit_code": _l("Unified social credit code"),
        "legal_representative": _l("Legal representative"), "registered_capital": _l("Registered capital (yuan)"),
        "established_on": _l("Established on"), "license_no": _l("Business licence no."), "address": _l("Address"),
        "phone": _l("Phone"), "website": _l("Website"),
    }


class DepartmentView(BaseModelView):
    datamodel = SafeInterface(Department)
    class_permission_name = P.DEPARTMENT
    list_title = _l("Departments")
    show_title, add_title, edit_title = _l("Department"), _l("Add department"), _l("Edit department")
    list_columns = ["code", "name", "parent", "sort_order", "phone", "active"]
    search_columns = ["code", "name", "parent", "active"]
    add_columns = edit_columns = show_columns = ["code", "name", "parent", "sort_order", "phone", "active"]
    base_order = ("sort_order", "asc")
    label_columns = {"code": _l("Code"), "name": _l("Name"), "parent": _l("Parent department"),
                     "sort_order": _l("Sort order"), "phone": _l("Phone"), "active": _l("Active")}
    validators = (validate_department,)


class ApprovalPostView(BaseModelView):
    datamodel = SafeInterface(ApprovalPost)
    class_permission_name = P.APPROVAL_POST
    list_title = _l("Approval posts")
    show_title, add_title, edit_title = _l("Approval post"), _l("Add approval post"), _l("Edit approval post")
    list_columns = add_columns = edit_columns = show_columns = ["code", "name", "description"]
    search_columns = ["code", "name"]
    base_order = ("code", "asc")
    label_columns = {"code": _l("Code"), "name": _l("Name"), "description": _l("Description")}


class EmployeeView(BaseModelView):
    datamodel = SafeInterface(Employee)
    class_permission_name = P.EMPLOYEE
    list_title = _l("Employees")
    show_title, add_title, edit_title = _l("Employee"), _l("Add employee"), _l("Edit employee")
    list_columns = ["code", "name", "department", "title", "phone", "user", "active"]
    search_columns = ["code", "name", "department", "phone", "active"]
    add_columns = edit_columns = show_columns = [
        "code", "name", "gender", "department", "title", "phone", "email", "user", "posts", "hired_on", "active",
    ]
    base_order = ("code", "asc")
    label_columns = {"code": _l("Employee no."), "name": _l("Name"), "gender": _l("Gender"),
                     "department": _l("Department"), "title": _l("Title"), "phone": _l("Phone"), "email": _l("E-mail"),
                     "user": _l("Login user"), "posts": _l("Approval posts"), "hired_on": _l("Hired on"),
                     "active": _l("Active")}


# --- dictionaries, settings, numbering -------------------------------------------------------------

class DictItemView(BaseModelView):
    datamodel = SafeInterface(DictItem)
    class_permission_name = P.DICTIONARY
    list_title = _l("Dictionary entries")
    show_title, add_title, edit_title = _l("Dictionary entry"), _l("Add entry"), _l("Edit entry")
    list_columns = ["dict_type", "code", "name", "parent", "sort_order", "active"]
    search_columns = ["dict_type", "code", "name", "active"]
    add_columns = edit_columns = show_columns = ["dict_type", "code", "name", "parent", "sort_order", "active"]
    base_order = ("sort_order", "asc")
    page_size = 50
    label_columns = {"dict_type": _l("Dictionary"), "code": _l("Code"), "name": _l("Name"),
                     "parent": _l("Parent entry"), "sort_order": _l("Sort order"), "active": _l("Active")}
    validators = (validate_dict_item,)


class DictTypeView(BaseModelView):
    datamodel = SafeInterface(DictType)
    class_permission_name = P.DICTIONARY
    list_title = _l("Data dictionaries")
    show_title, add_title, edit_title = _l("Dictionary"), _l("Add dictionary"), _l("Edit dictionary")
    list_columns = ["code", "name", "description", "builtin"]
    search_columns = ["code", "name"]
    add_columns = edit_columns = ["code", "name", "description"]
    show_columns = ["code", "name", "description", "builtin"]
    base_order = ("code", "asc")
    related_views = [DictItemView]
    label_columns = {"code": _l("Code"), "name": _l("Name"), "description": _l("Description"),
                     "builtin": _l("Built in")}
    delete_validators = (refuse_builtin_dictionary,)


class SystemSettingView(BaseModelView):
    datamodel = SafeInterface(SystemSetting)
    class_permission_name = P.SETTING
    base_permissions = [P.can(P.READ), P.can(P.EDIT), P.can(P.EXPORT)]
    list_title = _l("System settings")
    show_title = edit_title = _l("System setting")
    list_columns = ["label", "value", "updated_at"]
    order_columns = ["value", "updated_at"]  # "label" is a Python property: sorting by it was a 500
    export_columns = ["key", "label", "value", "updated_at"]
    search_columns = ["key", "value"]
    edit_columns = ["value"]
    show_columns = ["key", "label", "value", "updated_at"]
    base_order = ("key", "asc")
    label_columns = {"key": _l("Key"), "label": _l("Setting"), "value": _l("Value"), **AUDIT_LABELS}
    validators = (validate_setting,)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """FAB's edit, titled with the setting being edited (the form holds only its value)."""
        widgets = self._edit(pk)
        if not widgets:
            return self.post_edit_redirect()
        item = self.datamodel.get(pk)
        return self.render_template(self.edit_template, title=f"{self.edit_title}：{item.label}", widgets=widgets,
                                    related_views=self._related_views)


SystemSetting.label = property(lambda self: str(settings.label(self.key)))


class NumberingRuleView(BaseModelView):
    datamodel = SafeInterface(NumberingRule)
    class_permission_name = P.NUMBERING
    list_title = _l("Numbering rules")
    show_title, add_title, edit_title = _l("Numbering rule"), _l("Add numbering rule"), _l("Edit numbering rule")
    list_columns = ["kind", "name", "prefix", "date_format", "seq_width", "example"]
    order_columns = ["kind", "name", "prefix", "date_format", "seq_width"]  # not the "example" property
    search_columns = ["kind", "name"]
    add_columns = ["kind", "name", "prefix", "date_format", "seq_width"]
    edit_columns = ["name", "prefix", "date_format", "seq_width"]
    show_columns = ["kind", "name", "prefix", "date_format", "seq_width", "example"]
    base_order = ("kind", "asc")
    label_columns = {"kind": _l("Kind"), "name": _l("Name"), "prefix": _l("Prefix"), "date_format": _l("Date part"),
                     "seq_width": _l("Sequence digits"), "example": _l("Example")}
    # The prefix may be empty (numbers of date + sequence only); FAB would make it required (NOT NULL column).
    add_form_extra_fields = edit_form_extra_fields = {
        "prefix": StringField(_l("Prefix"), validators=[Optional(), Length(max=20)], widget=BS3TextFieldWidget(),
                              filters=[lambda v: (v or "").strip()]),
        "date_format": SelectField(_l("Date part"), validators=[DataRequired()], widget=Select2Widget(), choices=[
            ("yyyymmdd", "yyyymmdd"), ("yyyymm", "yyyymm"), ("yyyy", "yyyy"), ("none", _l("No date part"))]),
    }
    validators = (numbering.validate_rule,)


NumberingRule.example = property(numbering.example)


# --- logs ---------------------------------------------------------------------------------------------

def _changes_html(changes):
    try:
        data = json.loads(changes or "{}")
    except ValueError:
        return escape(changes or "")
    parts = [f"<b>{escape(k)}</b>: {escape('' if v[0] is None else v[0])} → {escape('' if v[1] is None else v[1])}"
             for k, v in data.items()]
    return Markup("<br>".join(parts))


def _changes_text(changes):
    """The change list as plain text, one field a line (for the Excel export)."""
    try:
        data = json.loads(changes or "{}")
    except ValueError:
        return changes or ""
    return "\n".join(f"{k}: {'' if v[0] is None else v[0]} → {'' if v[1] is None else v[1]}" for k, v in data.items())


class OperationLogView(ReadOnlyModelView):
    datamodel = SafeInterface(OperationLog)
    class_permission_name = P.OPERATION_LOG
    list_title = show_title = _l("Operation log")
    list_columns = ["at", "username", "action", "table_name", "record_id", "changes"]
    show_columns = list_columns
    search_columns = ["at", "username", "action", "table_name", "record_id"]
    base_order = ("id", "desc")
    page_size = 50
    formatters_columns = {"changes": _changes_html, "action": choice_label(OPERATIONS), "table_name": table_label}
    export_formatters_columns = {"changes": _changes_text}
    label_columns = {"at": _l("Time"), "username": _l("User"), "action": _l("Operation"), "table_name": _l("Table"),
                     "record_id": _l("Record"), "changes": _l("Changes (old → new)")}


class LoginLogView(ReadOnlyModelView):
    datamodel = SafeInterface(LoginLog)
    class_permission_name = P.LOGIN_LOG
    list_title = show_title = _l("Login log")
    list_columns = ["at", "username", "event", "ip", "channel", "user_agent"]
    show_columns = list_columns
    search_columns = ["at", "username", "event", "ip", "channel"]
    base_order = ("id", "desc")
    page_size = 50
    label_columns = {"at": _l("Time"), "username": _l("User"), "event": _l("Event"), "ip": _l("IP address"),
                     "channel": _l("Channel"), "user_agent": _l("Browser")}
    formatters_columns = {"event": choice_label(LOGIN_EVENTS), "channel": choice_label(CHANNELS)}


class DayEndStepView(ReadOnlyModelView):
    datamodel = SafeInterface(DayEndStepLog)
    class_permission_name = P.DAYEND
    base_permissions = [P.can(P.READ), P.can(P.RUN), P.can(P.EXPORT)]
    list_title = _l("Day-end steps")
    list_columns = ["step", "status", "rows", "message", "started_at", "finished_at"]
    search_columns = ["step", "status"]
    base_order = ("id", "asc")
    label_columns = {"step": _l("Step"), "status": _l("Result"), "rows": _l("Rows"), "message": _l("Message"),
                     "started_at": _l("Started"), "finished_at": _l("Finished")}
    formatters_columns = {"status": choice_label(RUN_STATES), "step": dayend.step_label}


class DayEndRunView(ReadOnlyModelView):
    datamodel = SafeInterface(DayEndRun)
    class_permission_name = P.DAYEND
    base_permissions = [P.can(P.READ), P.can(P.RUN), P.can(P.EXPORT)]
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "run": P.RUN}
    list_template = "dayend_list.html"
    list_title = show_title = _l("Day-end batch")
    list_columns = ["business_date", "status", "started_at", "finished_at", "triggered_by"]
    show_columns = list_columns
    search_columns = ["business_date", "status"]
    base_order = ("id", "desc")
    related_views = [DayEndStepView]
    label_columns = {"business_date": _l("Business date"), "status": _l("Result"), "started_at": _l("Started"),
                     "finished_at": _l("Finished"), "triggered_by": _l("Started by")}
    formatters_columns = {"status": choice_label(RUN_STATES)}

    def _extra_context(self):
        from app.services import business_date

        return {"business_date": business_date.today(), "steps": dayend.registered_steps()}

    def render_template(self, template, **kwargs):
        kwargs.update(self._extra_context())
        return super().render_template(template, **kwargs)

    @expose("/run/", methods=["POST"])
    @has_access
    def run(self):
        try:
            result = dayend.run(triggered_by=g.user.username)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
        else:
            if result.status == "success":
                flash(gettext("Day-end for %(day)s finished.", day=result.business_date), "success")
            else:
                flash(gettext("Day-end for %(day)s failed; see the step results.", day=result.business_date), "danger")
        return redirect(url_for("DayEndRunView.list"))


# --- my exports -------------------------------------------------------------------------------------

def _current_user_id():
    return g.user.id


class ExportJobView(ReadOnlyModelView):
    datamodel = SafeInterface(ExportJob)
    class_permission_name = P.EXPORT_JOB
    base_permissions = [P.can(P.READ)]
    method_permission_name = {**ReadOnlyModelView.method_permission_name, "progress": P.READ,
                              "status": P.READ, "file": P.READ}
    base_filters = [["user_id", FilterEqualFunction, _current_user_id]]
    list_title = show_title = _l("My exports")
    list_columns = ["created_at", "title", "status", "done", "total", "download"]
    order_columns = ["created_at", "title", "status", "done", "total"]  # not the "download" property
    search_columns = ["status", "created_at"]
    base_order = ("id", "desc")
    label_columns = {"created_at": _l("Requested at"), "title": _l("List"), "status": _l("Status"),
                     "done": _l("Rows written"), "total": _l("Rows"), "download": _l("Download")}
    formatters_columns = {"status": choice_label(RUN_STATES)}

    def _own_job(self, pk):
        job = self.datamodel.session.get(ExportJob, pk)
        if job is None or job.user_id != g.user.id:
            abort(404)
        return job

    @expose("/progress/<int:pk>")
    @has_access
    def progress(self, pk):
        job = self._own_job(pk)
        return self.render_template("export_progress.html", job=job, title=gettext("My exports"))

    @expose("/status/<int:pk>")
    @has_access
    def status(self, pk):
        job = self._own_job(pk)
        return jsonify(status=job.status, done=job.done, total=job.total, error=job.error,
                       url=url_for("ExportJobView.file", pk=job.id) if job.status == "done" else None)

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk):
        job = self._own_job(pk)
        path = exporting.job_file(job)
        if path is None:
            abort(404)
        return send_file(path, as_attachment=True,
                         download_name=f"{job.title or job.view_name}-{job.created_at:%Y%m%d%H%M%S}.xlsx")


ExportJob.download = property(
    lambda self: Markup(f'<a href="/exportjobview/file/{self.id}">{escape(gettext("Download"))}</a>')
    if self.status == "done" and self.filename else ""
)


# --- REST APIs ----------------------------------------------------------------------------------------

class DepartmentApi(BaseApi):
    resource_name = "department"
    datamodel = SafeInterface(Department)
    class_permission_name = P.DEPARTMENT
    list_columns = show_columns = ["id", "code", "name", "parent_id", "sort_order", "phone", "active"]
    add_columns = edit_columns = ["code", "name", "parent", "sort_order", "phone", "active"]
    search_columns = ["code", "name", "active"]
    validators = (validate_department,)


class EmployeeApi(BaseApi):
    resource_name = "employee"
    datamodel = SafeInterface(Employee)
    class_permission_name = P.EMPLOYEE
    list_columns = show_columns = ["id", "code", "name", "gender", "department_id", "title", "phone", "email",
                                   "user_id", "hired_on", "active"]
    add_columns = edit_columns = ["code", "name", "gender", "department", "title", "phone", "email", "hired_on",
                                  "active"]
    search_columns = ["code", "name", "phone", "active"]


class ApprovalPostApi(BaseApi):
    resource_name = "approval_post"
    datamodel = SafeInterface(ApprovalPost)
    class_permission_name = P.APPROVAL_POST
    list_columns = show_columns = ["id", "code", "name", "description"]
    add_columns = edit_columns = ["code", "name", "description"]
    search_columns = ["code", "name"]


class DictTypeApi(BaseApi):
    resource_name = "dict_type"
    datamodel = SafeInterface(DictType)
    class_permission_name = P.DICTIONARY
    list_columns = show_columns = ["id", "code", "name", "description", "builtin"]
    add_columns = edit_columns = ["code", "name", "description"]
    search_columns = ["code", "name"]
    delete_validators = (refuse_builtin_dictionary,)


class DictItemApi(BaseApi):
    resource_name = "dict_item"
    datamodel = SafeInterface(DictItem)
    class_permission_name = P.DICTIONARY
    list_columns = show_columns = ["id", "type_id", "code", "name", "parent_id", "sort_order", "active"]
    add_columns = edit_columns = ["dict_type", "code", "name", "parent", "sort_order", "active"]
    search_columns = ["code", "name", "active"]
    validators = (validate_dict_item,)


class SystemSettingApi(BaseApi):
    resource_name = "setting"
    datamodel = SafeInterface(SystemSetting)
    class_permission_name = P.SETTING
    include_route_methods = {"get", "get_list", "info", "put"}
    list_columns = show_columns = ["id", "key", "value"]
    edit_columns = ["value"]
    search_columns = ["key"]
    validators = (validate_setting,)


class NumberingRuleApi(BaseApi):
    resource_name = "numbering_rule"
    datamodel = SafeInterface(NumberingRule)
    class_permission_name = P.NUMBERING
    list_columns = show_columns = ["id", "kind", "name", "prefix", "date_format", "seq_width"]
    add_columns = ["kind", "name", "prefix", "date_format", "seq_width"]
    edit_columns = ["name", "prefix", "date_format", "seq_width"]
    search_columns = ["kind", "name"]
    validators = (numbering.validate_rule,)


class OperationLogApi(BaseApi):
    resource_name = "operation_log"
    datamodel = SafeInterface(OperationLog)
    class_permission_name = P.OPERATION_LOG
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "at", "user_id", "username", "action", "table_name", "record_id", "changes"]
    search_columns = ["username", "action", "table_name", "record_id", "at"]
    base_order = ("id", "desc")


class LoginLogApi(BaseApi):
    resource_name = "login_log"
    datamodel = SafeInterface(LoginLog)
    class_permission_name = P.LOGIN_LOG
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "at", "username", "event", "ip", "channel"]
    search_columns = ["username", "event", "at"]
    base_order = ("id", "desc")
