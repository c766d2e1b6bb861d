"""Base classes every screen and API builds on: one permission vocabulary, safe errors, Excel export."""
import logging

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from app import db_errors
from app.errors import GuaranteeError
from app.permissions import ADD, DELETE, EDIT, EXPORT, READ, can

log = logging.getLogger(__name__)

# Every FAB method maps onto the business verbs, so a role's grants read as 查看/新增/修改/删除/导出.
SCREEN_METHODS = {
    "list": READ, "show": READ, "download": READ, "action": READ, "action_post": READ,
    "add": ADD, "edit": EDIT, "delete": DELETE, "muldelete": DELETE, "export": EXPORT,
}


class SafeInterface(SQLAInterface):
    """SQLAInterface whose write errors carry a translated message instead of the driver's text."""

    def _guarded(self, method, item, commit):
        try:
            method(item, commit)
        except (SQLAlchemyError, GuaranteeError) as ex:
            self.session.rollback()
            raise db_errors.translate(ex) from None
        except Exception as ex:  # FAB wraps the driver error in DatabaseException
            self.session.rollback()
            if isinstance(ex.__cause__, SQLAlchemyError):
                raise db_errors.translate(ex.__cause__) from None
            raise

    def add(self, item, commit=True):
        self._guarded(super().add, item, commit)

    def edit(self, item, commit=True):
        self._guarded(super().edit, item, commit)

    def delete(self, item, commit=True):
        self._guarded(super().delete, item, commit)


class BaseModelView(ModelView):
    """A list/show/add/edit/delete screen with Excel export and service-layer validation.

    Subclasses set `datamodel = SafeInterface(Model)`, `class_permission_name` from app.permissions,
    `list_columns`, `search_columns`, `base_order`, and `validators`: service functions that raise
    app.errors.ValidationError; the entity's REST API lists the same ones.
    """

    list_template = "list_with_export.html"
    method_permission_name = SCREEN_METHODS
    page_size = 20
    export_columns: list[str] | None = None  # defaults to list_columns
    validators: tuple = ()

    def pre_add(self, item):
        for check in self.validators:
            check(item)

    def pre_update(self, item):
        for check in self.validators:
            check(item)

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


class BaseApi(ModelRestApi):
    """REST API of one entity: same permission resource and verbs as its screen, same validation,
    and errors as 4xx with a translated message (never a 500 or the database's text)."""

    method_permission_name = API_METHODS
    allow_browser_login = True
    validators: tuple = ()  # the same service-layer checks as the screen's

    def pre_add(self, item):
        for check in self.validators:
            check(item)

    def pre_update(self, item):
        for check in self.validators:
            check(item)

    def _guard(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except GuaranteeError as ex:
            self.datamodel.session.rollback()
            return self.response(ex.status, message=ex.message)
        except SQLAlchemyError as ex:
            self.datamodel.session.rollback()
            err = db_errors.translate(ex)
            return self.response(err.status, message=err.message)

    def post_headless(self):
        return self._guard(super().post_headless)

    def put_headless(self, pk):
        return self._guard(super().put_headless, pk)

    def delete_headless(self, pk):
        return self._guard(super().delete_headless, pk)
