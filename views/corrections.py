"""Back office (系统管理; SYS-8, SYS-10): business-data corrections, the clean-up of abandoned drafts, the
register of corrections and the month-end log. Thin: the rules are in app/services/corrections.py.

* /datacorrection/: find a guarantee by its number → undo its last stage step (with a reason); move guarantees
  from one account manager to another (with a reason); the latest corrections;
* /draftcleanup/: preview the applications left in draft for more than N days, then delete the chosen ones;
* /datacorrectionlog/list/ and /monthendlog/list/: read-only registers (search, Excel export).
Permissions: DATA_CORRECTION read / run / export; DATA_CLEANUP read / run; MONTH_END_LOG read / export.
"""
from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app import permissions as P
from app.errors import GuaranteeError
from app.extensions import db
from app.services import corrections as svc
from models.business import Guarantee
from models.corrections import DataCorrection
from models.ledger import CloseRun
from views.base import ReadOnlyModelView, SafeInterface
from views.labels import choice_label

CLOSE_ACTIONS = {"close": _l("Month-end close"), "reopen": _l("Reopen a closed period")}
CLOSE_STATES = {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}


def _user_name(user_id):
    from app.services.approval import _user_name as name

    return name(user_id)


def _commit(operation, message):
    try:
        result = operation()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        flash(ex.message, "danger")
        return None
    flash(str(message), "success")
    return result


def _scoped_guarantee_by_code(code):
    from app.services.data_scope import apply_scope

    code = (code or "").strip()[:30]
    if not code:
        return None
    return db.session.execute(apply_scope(select(Guarantee).where(Guarantee.code == code), Guarantee)).scalar()


def _managers():
    """Users who manage active guarantees in the acting user's scope, with their counts."""
    from app.services.data_scope import apply_scope

    rows = db.session.execute(apply_scope(
        select(Guarantee.manager_id, func.count(Guarantee.id)).where(Guarantee.status == "active",
                                                                     Guarantee.manager_id.is_not(None))
        .group_by(Guarantee.manager_id), Guarantee)).all()
    return sorted(((uid, f"{_user_name(uid)} ({count})") for uid, count in rows), key=lambda r: r[1])


def _active_users():
    from flask_appbuilder.security.sqla.models import User

    return [(u.id, f"{_user_name(u.id)} ({u.username})") for u in db.session.execute(
        select(User).where(User.active.is_(True)).order_by(User.username).limit(1000)).scalars()]


class DataCorrectionView(BaseView):
    route_base = "/datacorrection"
    default_view = "index"
    class_permission_name = P.DATA_CORRECTION
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"index": P.READ, "step_back": P.RUN, "change_manager": P.RUN}

    @expose("/")
    @has_access
    def index(self):
        from app.services import guarantees

        code = request.args.get("code", "")
        item = _scoped_guarantee_by_code(code)
        if code and item is None:
            flash(gettext("No guarantee has the number %(code)s.", code=code.strip()[:30]), "warning")
        from_manager = request.args.get("from_manager", "")
        listed = (svc.guarantees_of_manager(int(from_manager))
                  if from_manager.isdigit() and len(from_manager) < 10 else [])
        recent = db.session.execute(select(DataCorrection).order_by(DataCorrection.id.desc()).limit(20)).scalars()
        return self.render_template(
            "corrections/index.html", title=gettext("Business-data corrections"), code=code, item=item,
            refusal=svc.step_back_check(item) if item is not None else None, stage_label=guarantees.stage_label,
            status_labels=guarantees.STATUS_LABELS, managers=_managers(), from_manager=from_manager,
            listed=listed, users=_active_users(), recent=list(recent), action_labels=svc.ACTION_LABELS,
            user_name=_user_name, can_run=self.appbuilder.sm.has_access(P.can(P.RUN), P.DATA_CORRECTION),
            previous_stage=(guarantees.stage_label(guarantees.STAGES[guarantees.stage_index(item.stage) - 1])
                            if item is not None and guarantees.stage_index(item.stage) > 0 else ""))

    @expose("/step_back/<int:pk>", methods=["POST"])
    @has_access
    def step_back(self, pk):
        item = _commit(lambda: svc.step_back(pk, g.user.id, request.form.get("reason")),
                       _l("The stage step is undone."))
        code = item.code if item is not None else request.form.get("code", "")
        return redirect(url_for(".index", code=code))

    @expose("/change_manager", methods=["POST"])
    @has_access
    def change_manager(self):
        _commit(lambda: svc.change_manager(request.form.getlist("guarantee"), request.form.get("to_user"), g.user.id,
                                           request.form.get("reason")),
                _l("The guarantees are moved to the new account manager."))
        return redirect(url_for(".index", from_manager=request.form.get("from_manager", "")))


class DraftCleanupView(BaseView):
    route_base = "/draftcleanup"
    default_view = "index"
    class_permission_name = P.DATA_CLEANUP
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"index": P.READ, "delete": P.RUN}
    default_days = 90

    @expose("/")
    @has_access
    def index(self):
        days = request.args.get("days") or str(self.default_days)
        drafts, error = [], None
        try:
            drafts = svc.abandoned_drafts(days)
        except GuaranteeError as ex:
            error = ex.message
        return self.render_template(
            "corrections/cleanup.html", title=gettext("Data clean-up"), days=days, drafts=drafts, error=error,
            user_name=_user_name, min_days=svc.CLEANUP_MIN_DAYS, limit=svc.MAX_CLEANUP,
            can_run=self.appbuilder.sm.has_access(P.can(P.RUN), P.DATA_CLEANUP))

    @expose("/delete", methods=["POST"])
    @has_access
    def delete(self):
        days = request.form.get("days", "")
        count = _commit(lambda: svc.delete_drafts(days, request.form.getlist("guarantee"), g.user.id,
                                                  request.form.get("reason")), _l("The chosen drafts are deleted."))
        if count:
            flash(gettext("%(count)d drafts deleted.", count=count), "info")
        return redirect(url_for(".index", days=days))


class DataCorrectionLogView(ReadOnlyModelView):
    """The register of corrections (search, export); the changed rows are in the operation log too."""

    route_base = "/datacorrectionlog"
    datamodel = SafeInterface(DataCorrection)
    class_permission_name = P.DATA_CORRECTION
    list_title = show_title = _l("Register of corrections")
    list_columns = ["at", "user_id", "action", "target_code", "before", "after", "reason"]
    show_columns = list_columns
    search_columns = ["at", "action", "target_code", "reason"]
    base_order = ("id", "desc")
    page_size = 50
    label_columns = {"at": _l("Time"), "user_id": _l("By"), "action": _l("Correction"), "target_code": _l("Record"),
                     "before": _l("Before"), "after": _l("After"), "reason": _l("Reason")}
    formatters_columns = {"action": choice_label(svc.ACTION_LABELS), "user_id": _user_name}


class MonthEndLogView(ReadOnlyModelView):
    """月终日志: every month-end close and reopen (反结账) with its result, reason and who started it."""

    route_base = "/monthendlog"
    datamodel = SafeInterface(CloseRun)
    class_permission_name = P.MONTH_END_LOG
    list_title = show_title = _l("Month-end log")
    list_columns = ["period", "action", "status", "reason", "message", "created_by_id", "started_at", "finished_at"]
    show_columns = list_columns
    search_columns = ["action", "status", "started_at"]
    base_order = ("id", "desc")
    page_size = 50
    label_columns = {"period": _l("Period"), "action": _l("Operation"), "status": _l("Result"), "reason": _l("Reason"),
                     "message": _l("Message"), "created_by_id": _l("Started by"), "started_at": _l("Started"),
                     "finished_at": _l("Finished")}
    formatters_columns = {"action": choice_label(CLOSE_ACTIONS), "status": choice_label(CLOSE_STATES),
                          "created_by_id": _user_name}


def register(appbuilder, sysm: dict):
    """Under 系统管理 (category "SystemManagement"): corrections, clean-up and the month-end log."""
    appbuilder.add_view(DataCorrectionView, "DataCorrection", label=_l("Business-data corrections"), icon="fa-wrench",
                        **sysm)
    appbuilder.add_view(DraftCleanupView, "DataCleanup", label=_l("Data clean-up"), icon="fa-eraser", **sysm)
    appbuilder.add_view(MonthEndLogView, "MonthEndLog", label=_l("Month-end log"), icon="fa-calendar-check-o", **sysm)
    appbuilder.add_view_no_menu(DataCorrectionLogView)
