"""Screens of the approval engine (BIZ-8, WB-5, WB-6): flows, steps and rules (administrator), the visual
designer, 我的事项 (to-do and done), work delegation, and the POST endpoints of the approval panel that
other modules include with `{% include "approval/_panel.html" %}` (given `approval_kind`, `approval_obj`).

Views only authorise and delegate to app/services/approval.py, then commit; the engine itself checks that
the user is an assignee of the current step, four eyes, delegation and the version of the page.
"""
import json
from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import SelectField
from wtforms.validators import DataRequired
from wtforms.widgets import Select

from app import permissions as P
from app.errors import GuaranteeError, ValidationError
from app.extensions import db
from app.services import approval
from models.approval import (ApprovalDelegation, ApprovalFlow, ApprovalInstance, ApprovalRule, ApprovalStep)
from views.api_support import ApiHardeningMixin
from views.base import BaseModelView, SafeInterface
from views.labels import choice_label

MODES = {"single": _l("Single approver"), "any": _l("Any one of several"), "all": _l("All of several (countersign)"),
         "committee": _l("Committee vote")}
STATUSES = {"pending": _l("In approval"), "approved": _l("Approved"), "rejected": _l("Not approved"),
            "withdrawn": _l("Withdrawn")}
ACTION_LABELS = {"submit": _l("Submitted"), "approve": _l("Approved"), "reject": _l("Rejected the item"),
                 "return": _l("Returned"), "withdraw": _l("Withdrawn"), "meeting": _l("Committee meeting held"),
                 "vote_agree": _l("Voted: agree"), "vote_disagree": _l("Voted: disagree"),
                 "vote_abstain": _l("Voted: abstain"), "passed": _l("Committee passed"),
                 "failed": _l("Committee did not pass")}
VOTE_LABELS = {"agree": _l("Agree"), "disagree": _l("Disagree"), "abstain": _l("Abstain")}
GREEN = {"": _l("Either"), "true": _l("Green channel only"), "false": _l("Normal channel only")}


def _tri(value):
    """Select value → None / True / False (the green-channel condition)."""
    if value in (None, "", "None"):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


class BS3Select(Select):
    """A plain select styled like the other inputs (Select2 would show its empty "any" option as a placeholder)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("class_", "form-control")
        return super().__call__(field, **kwargs)


def _green_field():
    return SelectField(_l("Green channel"), choices=[(k, v) for k, v in GREEN.items()], coerce=_tri,
                       widget=BS3Select(),
                       description=_l("Applies to green-channel items only, to normal ones only, or to either."))


def _mode_field():
    return SelectField(_l("Step kind"), choices=[(k, v) for k, v in MODES.items()], widget=Select2Widget())


def _user_name(user) -> str:
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username if user is not None else ""


def _is_admin() -> bool:
    return any(role.name == P.ADMIN for role in getattr(g.user, "roles", []) or [])


def _commit(action, success_message=None):
    """Run a service action; commit and flash success, or roll back and flash the reason."""
    try:
        result = action()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        flash(ex.message, "danger")
        return None
    if success_message:
        flash(str(success_message), "success")
    return result if result is not None else True


def _page() -> int:
    try:
        return max(int(request.args.get("page", 0)), 0)
    except ValueError:
        return 0


def _safe_next(default):
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


COND_LABELS = {"amount_min": _l("Lowest amount"), "amount_max": _l("Highest amount"),
               "product_codes": _l("Product codes"), "customer_grades": _l("Customer grades"),
               "green_channel": _l("Green channel")}


# --- flows, steps, rules (administrator) ------------------------------------------------------------------

def _refuse_step_change_when_used(step):
    """A version some item started on is never changed: the designer saves a new version instead."""
    flow_id = step.flow_id or (step.flow.id if step.flow is not None else None)
    if flow_id and db.session.execute(select(ApprovalInstance.id).where(ApprovalInstance.flow_id == flow_id)
                                      .limit(1)).first():
        raise ValidationError(gettext("Items have been approved on this version of the flow; change it in the "
                                      "designer, which saves a new version."))


def _refuse_flow_delete_when_used(flow):
    if db.session.execute(select(ApprovalInstance.id).where(ApprovalInstance.flow_id == flow.id).limit(1)).first():
        raise ValidationError(gettext("Items have been approved on this flow; deactivate it instead of deleting it."))


class ApprovalStepView(BaseModelView):
    datamodel = SafeInterface(ApprovalStep)
    class_permission_name = P.APPROVAL_FLOW
    list_title = _l("Approval steps")
    show_title, add_title, edit_title = _l("Approval step"), _l("Add approval step"), _l("Edit approval step")
    list_columns = ["flow", "position", "name", "mode", "post", "role", "allow_same_person"]
    add_columns = edit_columns = show_columns = [
        "flow", "position", "name", "mode", "post", "role", "allow_same_person", "amount_min", "amount_max",
        "product_codes", "customer_grades", "green_channel", "quorum", "pass_num", "pass_den", "chair_veto"]
    search_columns = ["flow", "name", "mode"]
    base_order = ("position", "asc")
    add_form_extra_fields = edit_form_extra_fields = {"mode": _mode_field(), "green_channel": _green_field()}
    formatters_columns = {"mode": choice_label(MODES)}
    label_columns = {"flow": _l("Flow"), "position": _l("Order"), "name": _l("Step name"), "mode": _l("Step kind"),
                     "post": _l("Approval post"), "role": _l("Role"), "allow_same_person": _l("Same person allowed"),
                     "quorum": _l("Quorum"), "pass_num": _l("Pass rule: numerator"),
                     "pass_den": _l("Pass rule: denominator"), "chair_veto": _l("Chair veto"), **COND_LABELS}
    validators = (approval.validate_step, _refuse_step_change_when_used)
    delete_validators = (_refuse_step_change_when_used,)


def _designer_link(self):
    return Markup('<a class="btn btn-xs btn-primary" href="{}"><i class="fa fa-sitemap"></i> {}</a>').format(
        url_for("ApprovalDesignerView.designer", flow_id=self.id), gettext("Designer"))


ApprovalFlow.designer = property(_designer_link)


def _known_kinds():
    """Item kinds for the flow and rule forms: the registered ones plus any a flow or rule already names (so
    editing never silently changes an unregistered kind)."""
    kinds = {kind: str(entry.label) for kind, entry in approval.registered_kinds().items()}
    for model in (ApprovalFlow, ApprovalRule):
        for kind in db.session.execute(select(model.kind).distinct()).scalars():
            kinds.setdefault(kind, kind)
    return [("", "")] + sorted(((k, f"{v} ({k})" if v != k else k) for k, v in kinds.items()), key=lambda c: c[1])


def _flow_code_choices():
    rows = db.session.execute(select(ApprovalFlow.code, ApprovalFlow.name).where(ApprovalFlow.active.is_(True))
                              .order_by(ApprovalFlow.code)).all()
    codes = {code: f"{name} ({code})" for code, name in rows}
    for code in db.session.execute(select(ApprovalRule.flow_code).distinct()).scalars():
        codes.setdefault(code, code)
    return [("", "")] + sorted(codes.items(), key=lambda c: c[0])


def _kind_select():
    # validate_choice=False: the service validators decide what is acceptable (same check for the API)
    return SelectField(_l("Item kind"), choices=_known_kinds, validate_choice=False, validators=[DataRequired()],
                       widget=Select2Widget())


class ApprovalFlowView(BaseModelView):
    datamodel = SafeInterface(ApprovalFlow)
    class_permission_name = P.APPROVAL_FLOW
    list_title = _l("Approval flows")
    show_title, add_title, edit_title = _l("Approval flow"), _l("Add approval flow"), _l("Edit approval flow")
    list_columns = ["code", "name", "kind", "version", "active", "designer"]
    order_columns = export_columns = ["code", "name", "kind", "version", "active"]  # "designer" is a link
    formatters_columns = {"kind": lambda kind: approval.kind_label(kind) if kind else ""}
    show_columns = ["code", "name", "kind", "version", "active", "description", "designer"]
    add_columns = ["code", "name", "kind", "description"]
    edit_columns = ["name", "active", "description"]
    search_columns = ["code", "name", "kind", "active"]
    base_order = ("code", "asc")
    related_views = [ApprovalStepView]
    label_columns = {"code": _l("Flow code"), "name": _l("Flow name"), "kind": _l("Item kind"),
                     "version": _l("Version"), "active": _l("Current version"), "description": _l("Description"),
                     "designer": _l("Designer")}
    description_columns = {"kind": _l("The approvable item kind, e.g. guarantee.review")}
    add_form_extra_fields = {"kind": _kind_select()}
    delete_validators = (_refuse_flow_delete_when_used,)

    def pre_add(self, item):
        item.version, item.active = 1, True
        if db.session.execute(select(ApprovalFlow.id).where(ApprovalFlow.code == item.code).limit(1)).first():
            raise ValidationError(gettext("A flow with the code %(code)s already exists.", code=item.code),
                                  field="code")


class ApprovalRuleView(BaseModelView):
    datamodel = SafeInterface(ApprovalRule)
    class_permission_name = P.APPROVAL_FLOW
    list_title = _l("Flow matching rules")
    show_title, add_title, edit_title = _l("Flow matching rule"), _l("Add matching rule"), _l("Edit matching rule")
    list_columns = ["kind", "priority", "name", "flow_code", "amount_min", "amount_max", "green_channel", "active"]
    add_columns = edit_columns = show_columns = [
        "kind", "priority", "name", "flow_code", "amount_min", "amount_max", "product_codes", "customer_grades",
        "green_channel", "active"]
    search_columns = ["kind", "flow_code", "name", "active"]
    base_order = ("kind", "asc")
    add_form_extra_fields = edit_form_extra_fields = {
        "green_channel": _green_field(), "kind": _kind_select(),
        "flow_code": SelectField(_l("Flow code"), choices=_flow_code_choices, validate_choice=False,
                                 validators=[DataRequired()], widget=Select2Widget())}
    formatters_columns = {"green_channel": lambda v: str(GREEN["" if v is None else ("true" if v else "false")]),
                          "kind": lambda kind: approval.kind_label(kind) if kind else ""}
    label_columns = {"kind": _l("Item kind"), "priority": _l("Priority"), "name": _l("Rule name"),
                     "flow_code": _l("Flow code"), "active": _l("Active"), **COND_LABELS}
    description_columns = {"priority": _l("Rules are tried from the smallest priority; the first match wins."),
                           "product_codes": _l("Comma separated; empty means any."),
                           "customer_grades": _l("Comma separated; empty means any.")}
    validators = (approval.validate_rule,)


# --- the visual designer (BIZ-8) ---------------------------------------------------------------------------

class ApprovalDesignerView(BaseView):
    route_base = "/approvaldesigner"
    default_view = "designer"
    class_permission_name = P.APPROVAL_FLOW
    base_permissions = [P.can(P.READ), P.can(P.EDIT)]
    method_permission_name = {"designer": P.READ, "save": P.EDIT}

    @expose("/<int:flow_id>")
    @has_access
    def designer(self, flow_id):
        from flask_appbuilder.security.sqla.models import Role, User

        from models.system import ApprovalPost

        flow = db.session.get(ApprovalFlow, flow_id)
        if flow is None:
            abort(404)
        versions = db.session.execute(select(ApprovalFlow).where(ApprovalFlow.code == flow.code)
                                      .order_by(ApprovalFlow.version.desc())).scalars().all()
        posts = [{"id": p.id, "name": p.name} for p in
                 db.session.execute(select(ApprovalPost).order_by(ApprovalPost.code)).scalars()]
        roles = [{"id": r.id, "name": r.name} for r in db.session.execute(select(Role).order_by(Role.name)).scalars()]
        users = [{"id": u.id, "name": f"{_user_name(u)} ({u.username})"} for u in
                 db.session.execute(select(User).where(User.active.is_(True)).order_by(User.username)).scalars()]
        data = {
            "steps": approval.step_specs(flow), "posts": posts, "roles": roles, "users": users,
            "modes": [[k, str(v)] for k, v in MODES.items()], "green": [[k, str(v)] for k, v in GREEN.items()],
            "labels": {k: str(v) for k, v in {
                "name": _l("Step name"), "mode": _l("Step kind"), "post": _l("Approval post"), "role": _l("Role"),
                "users": _l("Named approvers"), "none": _l("(none)"), "remove": _l("Remove"),
                "same": _l("Same person may act on another step"), "quorum": _l("Quorum"),
                "pass": _l("Pass rule (agree / present)"), "veto": _l("Chair veto"),
                "cond": _l("Applies when"), "start": _l("Submit"), "end": _l("Done"),
                "amount_min": _l("Lowest amount"), "amount_max": _l("Highest amount"),
                "products": _l("Product codes"), "grades": _l("Customer grades"), "green": _l("Green channel"),
                "drag": _l("Drag to reorder"), "empty": _l("A flow needs at least one step."),
                "new_step": _l("New step"),
                # tooltips of the selects (keyed by their field)
                "post_id": _l("Approval post"), "role_id": _l("Role"), "user_ids": _l("Named approvers"),
                "green_channel": _l("Green channel")}.items()},
        }
        used = db.session.execute(select(func.count()).select_from(ApprovalInstance)
                                  .where(ApprovalInstance.flow_id == flow.id)).scalar()
        return self.render_template("approval/designer.html", title=gettext("Flow designer"), flow=flow,
                                    kind_label=approval.kind_label(flow.kind), versions=versions, data=data, used=used,
                                    can_save=self.appbuilder.sm.has_access(P.can(P.EDIT), P.APPROVAL_FLOW))

    @expose("/<int:flow_id>/save", methods=["POST"])
    @has_access
    def save(self, flow_id):
        try:
            steps = json.loads(request.form.get("steps_json") or "[]")
            if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
                raise ValueError
        except ValueError:
            flash(gettext("The steps could not be read. Reload the designer and try again."), "danger")
            return redirect(url_for(".designer", flow_id=flow_id))
        flow = _commit(lambda: approval.save_flow_version(flow_id, name=request.form.get("name", ""), steps=steps))
        if flow is None:
            return redirect(url_for(".designer", flow_id=flow_id))
        flash(gettext("Saved as version %(version)d.", version=flow.version), "success")
        return redirect(url_for(".designer", flow_id=flow.id))


# --- 我的事项 (WB-5) and the panel's actions ----------------------------------------------------------------

class MyApprovalsView(BaseView):
    route_base = "/myapprovals"
    default_view = "todo"
    class_permission_name = P.APPROVAL_TASK
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"todo": P.READ, "read_messages": P.READ}
    page_size = 20

    @expose("/todo")
    @has_access
    def todo(self):
        page = _page()
        rows, total = approval.todo(g.user.id, page, self.page_size)
        messages, unread = approval.unread_messages(g.user.id, limit=10)
        message_links = {m.id: _message_link(m) for m in messages}  # each message names and opens its item
        items = [{"task": t, "instance": t.instance, "url": approval.item_url(t.instance),
                  "kind": approval.kind_label(t.instance.kind),
                  "for": approval._user_name(t.assignee_id) if t.assignee_id != g.user.id else ""} for t in rows]
        return self.render_template("approval/todo.html", title=gettext("My to-do approvals"), items=items,
                                    total=total, page=page, page_size=self.page_size, messages=messages,
                                    message_links=message_links, unread=unread, statuses=STATUSES,
                                    queues=_work_queues())

    @expose("/messages/read", methods=["POST"])
    @has_access
    def read_messages(self):
        _commit(lambda: approval.mark_messages_read(g.user.id))
        return redirect(url_for(".todo"))


# Stage work of other modules shown on 待办事项 next to the approvals: callables returning
# [(label, count, url)] for the current user (the guarantee stages waiting for the account manager, the risk
# officer or finance register one in views/guarantees.py).
WORK_QUEUES: list = []


def _work_queues():
    return [q for queue in WORK_QUEUES for q in queue() if q[1]]


def _message_link(message):
    """(item kind, url of the item's page) of an internal message; ("", None) when its item is gone."""
    instance = db.session.get(ApprovalInstance, message.instance_id) if message.instance_id else None
    if instance is None:
        return "", None
    return (approval.kind_label(instance.kind),
            approval.item_url(instance) or url_for("ApprovalActionView.item", instance_id=instance.id))


class MyDoneView(BaseView):
    route_base = "/myhandled"
    default_view = "done"
    class_permission_name = P.APPROVAL_TASK
    base_permissions = [P.can(P.READ)]
    method_permission_name = {"done": P.READ}
    page_size = 20

    @expose("/done")
    @has_access
    def done(self):
        page = _page()
        rows, total = approval.done(g.user.id, page, self.page_size)
        items = [{"action": a, "instance": a.instance, "url": approval.item_url(a.instance),
                  "kind": approval.kind_label(a.instance.kind), "label": ACTION_LABELS.get(a.action, a.action),
                  "for": approval._user_name(a.on_behalf_of_id) if a.on_behalf_of_id else ""} for a in rows]
        return self.render_template("approval/done.html", title=gettext("My handled approvals"), items=items,
                                    total=total, page=page, page_size=self.page_size, statuses=STATUSES)


class ApprovalActionView(BaseView):
    """POST endpoints of templates/approval/_panel.html; they answer by redirecting back to the item's page."""

    route_base = "/approval"
    default_view = "item"
    class_permission_name = P.APPROVAL_TASK
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"item": P.READ, "act": P.RUN, "meeting": P.RUN, "cast_vote": P.RUN}

    @expose("/item/<int:instance_id>")
    @has_access
    def item(self, instance_id):
        """The approval of one item on its own page (for kinds whose page does not include the panel);
        only for the people involved in it and the administrator."""
        instance = db.session.get(ApprovalInstance, instance_id)
        if instance is None or not (_is_admin() or approval.is_involved(instance, g.user.id)):
            abort(404)
        return self.render_template("approval/item.html", title=instance.title, instance=instance,
                                    url=approval.item_url(instance), kind=approval.kind_label(instance.kind))

    def _version(self):
        value = request.form.get("version")
        return int(value) if value and value.isdigit() else None

    def _back(self):
        return redirect(_safe_next(url_for("MyApprovalsView.todo")))

    @expose("/act/<int:instance_id>", methods=["POST"])
    @has_access
    def act(self, instance_id):
        action = request.form.get("action", "")
        messages = {"approve": _l("Approved."), "reject": _l("Rejected."), "return": _l("Returned."),
                    "withdraw": _l("Withdrawn.")}
        _commit(lambda: approval.act(instance_id, g.user.id, action, request.form.get("comment", ""),
                                     to_step=request.form.get("to_step") or None, expected_version=self._version()),
                messages.get(action))
        return self._back()

    @expose("/meeting/<int:instance_id>", methods=["POST"])
    @has_access
    def meeting(self, instance_id):
        try:
            day = date.fromisoformat(request.form.get("meeting_date", ""))
        except ValueError:
            flash(gettext("Enter the meeting date."), "danger")
            return self._back()
        present = [p for p in request.form.getlist("present") if p.isdigit()]
        _commit(lambda: approval.open_meeting(instance_id, g.user.id, day, present,
                                              chair_id=request.form.get("chair") or None,
                                              expected_version=self._version()),
                _l("The meeting is recorded; the members present can vote now."))
        return self._back()

    @expose("/vote/<int:instance_id>", methods=["POST"])
    @has_access
    def cast_vote(self, instance_id):
        _commit(lambda: approval.vote(instance_id, g.user.id, request.form.get("vote", ""),
                                      request.form.get("opinion", ""), expected_version=self._version()),
                _l("Your vote is recorded."))
        return self._back()


# --- work delegation (WB-6) ---------------------------------------------------------------------------------

def _current_user_id():
    return g.user.id


class _OwnOrReceived(BaseFilter):
    name = "own delegations"
    arg_name = "own"

    def apply(self, query, value):
        from sqlalchemy import or_

        if _is_admin():
            return query
        uid = g.user.id
        return query.filter(or_(ApprovalDelegation.from_user_id == uid, ApprovalDelegation.to_user_id == uid))


def _kind_choices():
    return [("", str(_l("Every kind")))] + sorted(
        ((kind, str(entry.label)) for kind, entry in approval.registered_kinds().items()), key=lambda c: c[1])


class DelegationView(BaseModelView):
    datamodel = SafeInterface(ApprovalDelegation)
    class_permission_name = P.DELEGATION
    list_title = _l("Work delegation")
    show_title, add_title, edit_title = _l("Delegation"), _l("Delegate my approvals"), _l("Edit delegation")
    list_columns = ["from_user", "to_user", "date_from", "date_to", "kind", "reason", "active"]
    show_columns = list_columns
    add_columns = edit_columns = ["to_user", "date_from", "date_to", "kind", "reason", "active"]
    search_columns = ["to_user", "date_from", "date_to", "active"]
    base_order = ("date_from", "desc")
    label_columns = {"from_user": _l("Handed over by"), "to_user": _l("Taken over by"), "date_from": _l("First day"),
                     "date_to": _l("Last day"), "kind": _l("Item kind"), "reason": _l("Reason"),
                     "active": _l("Active")}
    description_columns = {"kind": _l("Empty: approvals of every kind."),
                           "date_from": _l("Business dates, both included.")}
    validators = (approval.validate_delegation,)
    formatters_columns = {"kind": lambda kind: approval.kind_label(kind) if kind else str(_l("Every kind"))}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField(_l("Item kind"), choices=_kind_choices, coerce=lambda v: v or None, widget=BS3Select(),
                            description=_l("Empty: approvals of every kind."))}
    # Everyone sees the delegations they gave or received; the administrator sees all of them.
    base_filters = [["id", _OwnOrReceived, None]]

    def pre_add(self, item):
        if not (_is_admin() and item.from_user_id):
            item.from_user_id = g.user.id
            item.from_user = g.user
        super().pre_add(item)

    def pre_update(self, item):
        if not _is_admin() and item.from_user_id != g.user.id:
            raise ValidationError(gettext("Only the person who handed over the approvals can change the delegation."))
        super().pre_update(item)

    def pre_delete(self, item):
        if not _is_admin() and item.from_user_id != g.user.id:
            raise ValidationError(gettext("Only the person who handed over the approvals can delete the delegation."))
        super().pre_delete(item)


# --- REST API: the same engine calls for API clients (bearer token) --------------------------------------------

def _instance_json(instance, user_id) -> dict:
    return {
        "id": instance.id, "kind": instance.kind, "object_id": instance.object_id, "title": instance.title,
        "status": instance.status, "version": instance.version, "flow": instance.flow.code,
        "flow_version": instance.flow.version,
        "current_step": instance.current_step.name if instance.current_step else None,
        "actions": sorted(approval.available_actions(instance, user_id)),
        "timeline": [{"at": a.at.isoformat(timespec="seconds"), "step": a.step_name, "action": a.action,
                      "acted_by_id": a.acted_by_id, "on_behalf_of_id": a.on_behalf_of_id, "comment": a.comment}
                     for a in approval.instance_timeline(instance.id)],
    }


def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise ValidationError(gettext("The request body must be a JSON object."))
    return data


class ApprovalApi(ApiHardeningMixin, FabBaseApi):
    """/api/v1/approval/: my to-do list, one approval's state, and the actions of the panel."""

    resource_name = "approval"
    class_permission_name = P.APPROVAL_TASK
    allow_browser_login = True
    method_permission_name = {"todo": P.READ, "state": P.READ, "act": P.RUN, "meeting": P.RUN, "cast_vote": P.RUN}

    def _run(self, fn):
        try:
            result = fn()
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            return self.response(ex.status, message=ex.message)
        return self.response(200, result=_instance_json(result, g.user.id))

    @api_expose("/todo", methods=["GET"])
    @protect()
    @safe
    def todo(self):
        page = _page()
        rows, total = approval.todo(g.user.id, page, 50)
        return self.response(200, count=total, result=[
            {"task_id": t.id, "instance_id": t.instance_id, "kind": t.instance.kind, "title": t.instance.title,
             "step": t.step.name, "assignee_id": t.assignee_id, "submitter_id": t.instance.submitter_id,
             "version": t.instance.version} for t in rows])

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def state(self, pk):
        instance = db.session.get(ApprovalInstance, pk)
        if instance is None or not (_is_admin() or approval.is_involved(instance, g.user.id)):
            return self.response_404()
        return self.response(200, result=_instance_json(instance, g.user.id))

    @api_expose("/<int:pk>/act", methods=["POST"])
    @protect()
    @safe
    def act(self, pk):
        def run():
            data = _json_body()
            return approval.act(pk, g.user.id, str(data.get("action", "")), str(data.get("comment") or ""),
                                to_step=data.get("to_step"), expected_version=data.get("version"))
        return self._run(run)

    @api_expose("/<int:pk>/meeting", methods=["POST"])
    @protect()
    @safe
    def meeting(self, pk):
        def run():
            data = _json_body()
            try:
                day = date.fromisoformat(str(data.get("meeting_date", "")))
            except ValueError:
                raise ValidationError(gettext("Enter the meeting date."), field="meeting_date") from None
            present = [int(p) for p in data.get("present") or [] if str(p).isdigit()]
            approval.open_meeting(pk, g.user.id, day, present, chair_id=data.get("chair"),
                                  expected_version=data.get("version"))
            return db.session.get(ApprovalInstance, pk)
        return self._run(run)

    @api_expose("/<int:pk>/vote", methods=["POST"])
    @protect()
    @safe
    def cast_vote(self, pk):
        def run():
            data = _json_body()
            return approval.vote(pk, g.user.id, str(data.get("vote", "")), str(data.get("opinion") or ""),
                                 expected_version=data.get("version"))
        return self._run(run)


# --- the panel's data for templates ----------------------------------------------------------------------

def approval_panel(kind, obj):
    """Jinja global used by templates/approval/_panel.html."""
    from flask_login import current_user

    user_id = current_user.id if getattr(current_user, "is_authenticated", False) else None
    obj_id = obj if isinstance(obj, int) else getattr(obj, "id", None)
    state = approval.panel(kind, obj_id, user_id)
    state.update(modes=MODES, statuses=STATUSES, action_labels=ACTION_LABELS, vote_labels=VOTE_LABELS,
                 today=_business_today())
    return state


def _business_today():
    from app.services import business_date

    return business_date.today()


def register(appbuilder):
    """Menu 审批中心 and the no-menu views of the approval engine."""
    cat = dict(category="Approval", category_label=_l("Approval center"), category_icon="fa-check-square-o")
    add = appbuilder.add_view
    add(MyApprovalsView, "MyTodo", label=_l("My to-do approvals"), icon="fa-inbox", **cat)
    add(MyDoneView, "MyDone", label=_l("My handled approvals"), icon="fa-history", **cat)
    add(DelegationView, "Delegation", label=_l("Work delegation"), icon="fa-exchange", **cat)
    add(ApprovalFlowView, "ApprovalFlows", label=_l("Approval flows"), icon="fa-sitemap", **cat)
    add(ApprovalRuleView, "ApprovalRules", label=_l("Flow matching rules"), icon="fa-random", **cat)
    appbuilder.add_view_no_menu(ApprovalStepView)
    appbuilder.add_view_no_menu(ApprovalDesignerView)
    appbuilder.add_view_no_menu(ApprovalActionView)
    appbuilder.add_api(ApprovalApi)
    from flask import current_app

    current_app.jinja_env.globals["approval_panel"] = approval_panel
