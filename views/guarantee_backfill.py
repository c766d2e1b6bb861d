"""历史补录: guarantees already in force imported from the Excel template (rules in
app/services/guarantee_backfill.py).

Its own resource P.GUARANTEE_BACKFILL: "read" opens the page and downloads the template and one's own
error workbook, "run" uploads (an upload creates liabilities in force without an approval, so it is a
separate grant from reading the page).
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
SHOWN_ERRORS = 100
_TOKEN = re.compile(r"[0-9]+-[0-9a-f]{32}")
MENU_LABEL = _l("Guarantee backfill")


def error_dir() -> str:
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], "guarantee_backfill_errors")
    os.makedirs(path, exist_ok=True)
    return path


class GuaranteeBackfillView(BaseView):
    route_base = "/guaranteebackfill"
    default_view = "index"
    class_permission_name = P.GUARANTEE_BACKFILL
    method_permission_name = {"index": P.READ, "template": P.READ, "errors": P.READ, "upload": P.RUN}
    base_permissions = [P.can(P.READ), P.can(P.RUN)]

    def _page(self, **kw):
        from werkzeug.routing import BuildError

        may_run = self.appbuilder.sm.has_access(P.can(P.RUN), P.GUARANTEE_BACKFILL)
        result = kw.pop("result", None)
        links = [(code, None) for code in result.codes] if result is not None else []
        try:  # the guarantee list and pages (views/guarantees.py), to look at what was imported
            list_url = url_for("GuaranteeView.list")
            links = [(code, url_for("GuaranteeView.page", pk=pk)) for code, pk in zip(result.codes, result.ids)] \
                if result is not None else []
        except BuildError:
            list_url = None
        return self.render_template("guarantee_backfill.html", title=gettext("Guarantee backfill"),
                                    may_run=may_run, list_url=list_url, result=result, links=links, **kw)

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/template")
    @has_access
    def template(self):
        from reports.guarantee_backfill import build_template

        return send_file(io.BytesIO(build_template()), as_attachment=True, mimetype=XLSX_TYPE,
                         download_name=gettext("guarantee-backfill-template") + ".xlsx")

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        from app.extensions import db
        from app.services import guarantee_backfill
        from app.services.xlsx_upload import read_upload

        storage = request.files.get("file")
        try:
            data = read_upload(storage)
            result = guarantee_backfill.import_guarantees(data, os.path.basename(storage.filename or ""))
        except GuaranteeError as ex:
            db.session.rollback()
            flash(ex.message, "danger")
            return redirect(url_for("GuaranteeBackfillView.index"))
        except Exception:
            db.session.rollback()
            raise
        token = None
        if result.ok:
            db.session.commit()
            flash(gettext("%(n)s guarantees in force were backfilled (outstanding balance %(balance)s).",
                          n=result.imported, balance=f"{result.total_balance:,.2f}"), "success")
        else:
            db.session.rollback()
            token = f"{g.user.id}-{uuid.uuid4().hex}"
            with open(os.path.join(error_dir(), token + ".xlsx"), "wb") as fh:
                fh.write(result.error_workbook())
            flash(gettext("Nothing was imported: %(rows)s of %(total)s rows have errors. Download the marked "
                          "file, correct it and upload it again.", rows=result.error_rows(), total=result.rows),
                  "danger")
        return self._page(result=result, shown_errors=result.errors[:SHOWN_ERRORS], token=token)

    @expose("/errors/<token>")
    @has_access
    def errors(self, token):
        """The error workbook of an upload this user made (the token names the user)."""
        if not _TOKEN.fullmatch(token or "") or token.split("-", 1)[0] != str(g.user.id):
            abort(404)
        path = os.path.join(error_dir(), token + ".xlsx")
        if not os.path.exists(path):
            abort(404)
        return send_file(path, as_attachment=True, mimetype=XLSX_TYPE,
                         download_name=gettext("guarantee-backfill-errors") + ".xlsx")
