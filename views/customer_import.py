"""客户导入: bulk import of customers from the Excel template (rules in app/services/customer_import.py).

The screen has its own resource (P.CUSTOMER_IMPORT, so its menu entry shows only to roles that may
import) and also requires adding customers (can_add on P.CUSTOMER): an import adds customers.
"""
import io
import os
import re
import uuid

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import permissions as P
from app.errors import GuaranteeError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ERRORS = 50
_TOKEN = re.compile(r"[0-9]+-[0-9a-f]{32}")


def error_dir() -> str:
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], "customer_import_errors")
    os.makedirs(path, exist_ok=True)
    return path


class CustomerImportView(BaseView):
    route_base = "/customerimport"
    default_view = "index"
    class_permission_name = P.CUSTOMER_IMPORT
    method_permission_name = {"index": P.READ, "template": P.READ, "upload": P.READ, "errors": P.READ}
    base_permissions = [P.can(P.READ)]

    def _may_add_customers(self):
        if not self.appbuilder.sm.has_access(P.can(P.ADD), P.CUSTOMER):
            abort(403)

    @expose("/")
    @has_access
    def index(self):
        self._may_add_customers()
        return self.render_template("customer_import.html", title=gettext("Customer import"), result=None)

    @expose("/template")
    @has_access
    def template(self):
        from reports.customer_import import build_template

        self._may_add_customers()
        return send_file(io.BytesIO(build_template()), as_attachment=True, mimetype=XLSX_TYPE,
                         download_name=gettext("customer-import-template") + ".xlsx")

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        from app.extensions import db
        from app.services import customer_import
        from app.services.xlsx_upload import read_upload

        self._may_add_customers()
        storage = request.files.get("file")
        try:
            data = read_upload(storage)
            result = customer_import.import_customers(data, os.path.basename(storage.filename or ""))
        except GuaranteeError as ex:
            db.session.rollback()
            flash(ex.message, "danger")
            return redirect(url_for("CustomerImportView.index"))
        except Exception:
            db.session.rollback()
            raise
        token = None
        if result.ok:
            db.session.commit()
            flash(gettext("%(n)s customers were imported (%(first)s – %(last)s).", n=result.imported,
                          first=result.first_code, last=result.last_code), "success")
        else:
            db.session.rollback()
            token = f"{g.user.id}-{uuid.uuid4().hex}"
            with open(os.path.join(error_dir(), token + ".xlsx"), "wb") as fh:
                fh.write(result.error_workbook())
            flash(gettext("Nothing was imported: %(rows)s of %(total)s rows have errors. Download the marked "
                          "file, correct it and upload it again.", rows=result.error_rows(), total=result.rows),
                  "danger")
        return self.render_template("customer_import.html", title=gettext("Customer import"), result=result,
                                    shown_errors=result.errors[:SHOWN_ERRORS], token=token)

    @expose("/errors/<token>")
    @has_access
    def errors(self, token):
        """The error workbook of an import this user made (the token names the user)."""
        self._may_add_customers()
        if not _TOKEN.fullmatch(token or "") or token.split("-", 1)[0] != str(g.user.id):
            abort(404)
        path = os.path.join(error_dir(), token + ".xlsx")
        if not os.path.exists(path):
            abort(404)
        return send_file(path, as_attachment=True, mimetype=XLSX_TYPE,
                         download_name=gettext("customer-import-errors") + ".xlsx")


MENU_LABEL = _l("Customer import")
