"""文书模板: the administrator's screen for the Word templates of the business documents (意向函, 担保确认函,
公司决议, 担保合同, 反担保合同, 放款通知单). Rules, checks and rendering: app/services/documents.py.

Resource P.DOCUMENT_TEMPLATE: read (pages, downloads, sample previews), add (upload a version), edit
(switch the version in use, go back to the shipped default).
"""
import io
from urllib.parse import quote

from flask import flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import permissions as P
from app.errors import GuaranteeError, NotFound
from app.services import documents as svc

MENU_LABEL = _l("Document templates")


def _docx_response(data: bytes, name: str):
    response = send_file(io.BytesIO(data), mimetype=svc.DOCX_MIME, as_attachment=True, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


class DocumentTemplateView(BaseView):
    route_base = "/documenttemplates"
    default_view = "index"
    class_permission_name = P.DOCUMENT_TEMPLATE
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT)]
    method_permission_name = {
        "index": P.READ, "doc_type": P.READ, "variables": P.READ, "download": P.READ, "download_version": P.READ,
        "preview": P.READ, "upload": P.ADD, "activate": P.EDIT, "use_default": P.EDIT,
    }

    def _can(self, verb) -> bool:
        return self.appbuilder.sm.has_access(P.can(verb), P.DOCUMENT_TEMPLATE)

    @expose("/")
    @has_access
    def index(self):
        return self.render_template("documents/index.html", title=gettext("Document templates"),
                                    rows=svc.overview())

    @expose("/type/<code>")
    @has_access
    def doc_type(self, code):
        spec = svc.doc_type(code)  # NotFound for an unknown type
        return self.render_template(
            "documents/type.html", title=f"{gettext('Document templates')}：{spec.label}", spec=spec,
            active=svc.active_template(code), versions=svc.versions(code), variables=svc.variables_of(code),
            lists=svc.LIST_VARIABLES, can_add=self._can(P.ADD), can_edit=self._can(P.EDIT),
            max_mb=svc.max_bytes() // (1024 * 1024))

    @expose("/variables")
    @has_access
    def variables(self):
        return self.render_template(
            "documents/variables.html", title=gettext("Template variables"), types=list(svc.DOC_TYPES.values()),
            variables_of=svc.variables_of, lists=svc.LIST_VARIABLES)

    # --- files ---------------------------------------------------------------------------------------

    @expose("/download/<code>")
    @has_access
    def download(self, code):
        """The template in use (?default=1: the shipped default), to edit in Word and upload again."""
        spec = svc.doc_type(code)
        active = None if request.args.get("default") == "1" else svc.active_template(code)
        if active is None:
            return _docx_response(svc.default_bytes(code), f"{spec.label}-{gettext('default')}.docx")
        return _docx_response(active.content, f"{spec.label}-v{active.version}.docx")

    @expose("/version/<int:pk>/download")
    @has_access
    def download_version(self, pk):
        template = svc.get_template(pk)
        return _docx_response(template.content, f"{svc.doc_type(template.doc_type).label}-v{template.version}.docx")

    @expose("/preview/<code>/<fmt>")
    @has_access
    def preview(self, code, fmt):
        """The template in use (or ?version=<id>) filled with the sample data, as Word or PDF."""
        spec = svc.doc_type(code)
        if fmt not in ("docx", "pdf"):
            raise NotFound(gettext("The page or record does not exist."))
        version = request.args.get("version")
        if version:
            template = svc.get_template(version)
            if template.doc_type != code:
                raise NotFound(gettext("The page or record does not exist."))
            content = template.content
        else:
            content = svc.template_bytes(code)
        filled = svc.fill_template(content, svc.sample_context(code))
        name = f"{spec.label}-{gettext('sample')}"
        if fmt == "docx":
            return _docx_response(filled, name + ".docx")
        response = send_file(io.BytesIO(svc.docx_to_pdf(filled, title=str(spec.label))), mimetype="application/pdf",
                             as_attachment=False, download_name=name + ".pdf")
        response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name + '.pdf')}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # --- changes -------------------------------------------------------------------------------------

    @expose("/upload/<code>", methods=["POST"])
    @has_access
    def upload(self, code):
        spec = svc.doc_type(code)
        upload = request.files.get("file")
        try:
            template = svc.store_template(code, upload.stream if upload else None, upload.filename if upload else "",
                                          request.form.get("note"), activate=request.form.get("activate") == "1")
        except GuaranteeError as ex:
            if ex.status == 404:
                raise
            flash(ex.message, "danger")
            return redirect(url_for("DocumentTemplateView.doc_type", code=code))
        if template.active:
            flash(gettext("Version %(v)s of %(type)s has been uploaded and is now in use.", v=template.version,
                          type=spec.label), "success")
        else:
            flash(gettext("Version %(v)s of %(type)s has been uploaded.", v=template.version, type=spec.label),
                  "success")
        return redirect(url_for("DocumentTemplateView.doc_type", code=code))

    @expose("/activate/<int:pk>", methods=["POST"])
    @has_access
    def activate(self, pk):
        try:
            template = svc.activate(pk)
        except GuaranteeError as ex:
            if ex.status == 404:
                raise
            flash(ex.message, "danger")
            return redirect(url_for("DocumentTemplateView.index"))
        flash(gettext("Version %(v)s of %(type)s is now in use.", v=template.version,
                      type=svc.doc_type(template.doc_type).label), "success")
        return redirect(url_for("DocumentTemplateView.doc_type", code=template.doc_type))

    @expose("/default/<code>", methods=["POST"])
    @has_access
    def use_default(self, code):
        spec = svc.doc_type(code)
        svc.use_default(code)
        flash(gettext("%(type)s uses the shipped default template again.", type=spec.label), "success")
        return redirect(url_for("DocumentTemplateView.doc_type", code=code))


def register(appbuilder, menu: dict) -> None:
    appbuilder.add_view(DocumentTemplateView, "DocumentTemplates", label=MENU_LABEL, icon="fa-file-word-o", **menu)
