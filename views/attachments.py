"""Customer attachments (CUS-6): the attachments tab of every customer page, upload, preview,
download and delete. Rules and storage are in app/services/attachments.py.

Permissions are the customer's own (resource P.CUSTOMER): reading a customer shows its files, editing
it uploads; the data scope applies through the Attachment model's __scope_parent__ (its customer).
"""
from urllib.parse import urlsplit

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import permissions as P
from app.errors import GuaranteeError
from app.services import attachments as svc
from app.services.reference import dict_choices
from models.attachments import Attachment
from views.base import BaseModelView, SafeInterface
from views.labels import dict_label

LABELS = {
    "category": _l("Category"), "original_name": _l("File name"), "description": _l("Description"),
    "record": _l("Attached to"), "size": _l("Size"), "content_type": _l("File type"),
    "uploader": _l("Uploaded by"), "created_at": _l("Uploaded at"), "sha256": _l("SHA-256"),
    "customer": _l("Customer"),
}


class AttachmentListWidget(ListWidget):
    template = "attachments/list_widget.html"


def _same_site(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.netloc in ("", request.host) and parts.scheme in ("", request.scheme)


def _customer_page(customer_id: int) -> str:
    """Back to the page the user came from (the customer page of whichever customer view), else the
    generic customer page."""
    if _same_site(request.referrer):
        return request.referrer
    return url_for("CustomerView.show", pk=customer_id)


def _visible_customer(customer_id):
    from app.extensions import db
    from app.services.data_scope import ensure_visible
    from models.customers import Customer

    return ensure_visible(db.session.get(Customer, customer_id))


def subrecord_choices(customer_id: int) -> list[tuple[str, str]]:
    """[("type:id", label)] of the customer's sub-records files can be attached to."""
    from app.extensions import db

    choices = []
    for spec in svc.SUBRECORD_TYPES.values():
        model = spec.model
        if model is None:
            continue
        column = getattr(model, spec.customer_attr)
        rows = db.session.execute(select(model).where(column == customer_id).order_by(model.id.desc())
                                  .limit(50)).scalars()
        choices += [(f"{spec.code}:{row.id}", f"{spec.label}：{row}") for row in rows]
    return choices


class AttachmentView(BaseModelView):
    """Tab of the customer pages (related view) plus the file endpoints; no list of its own."""

    route_base = "/attachments"
    datamodel = SafeInterface(Attachment)
    class_permission_name = P.CUSTOMER
    # Only reading and editing customers: FAB's generic add/edit/delete/download screens stay closed
    # (their verbs are not among the base permissions, so FAB refuses them for everyone).
    base_permissions = [P.can(P.READ), P.can(P.EDIT)]
    # Only the file endpoints are routes: the list is the customer's tab, never a page of its own.
    include_route_methods = {"show", "upload", "file", "remove", "record"}
    method_permission_name = {
        "list": P.READ, "show": P.READ, "file": P.READ, "record": P.READ, "upload": P.EDIT, "remove": P.EDIT,
        "add": P.ADD, "edit": P.ADD, "delete": P.DELETE, "muldelete": P.DELETE, "download": P.DELETE,
        "export": P.EXPORT, "action": P.DELETE, "action_post": P.DELETE,
    }
    list_title = _l("Customer attachments")
    show_title = _l("Attachment")
    list_widget = AttachmentListWidget
    list_columns = ["category", "original_name", "record_type", "record_id", "size", "content_type", "extension",
                    "description", "uploader", "created_by_id", "created_at"]
    order_columns = ["category", "original_name", "size", "created_at"]
    search_columns = ["category", "original_name", "customer"]
    base_order = ("id", "desc")
    page_size = 20
    label_columns = LABELS
    formatters_columns = {"category": dict_label("attachment_category")}


    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        customer_id = next((value for flt, value in zip(filters.filters, filters.values)
                            if flt.column_name == "customer"), None)
        user = g.user
        can_upload = self.appbuilder.sm.has_access(P.can(P.EDIT), P.CUSTOMER)
        kwargs.update(
            customer_id=customer_id,
            upload_url=url_for(f"{self.endpoint}.upload", customer_id=customer_id) if customer_id else None,
            categories=dict_choices("attachment_category"),
            subrecords=subrecord_choices(customer_id) if customer_id and can_upload else [],
            can_upload=can_upload and customer_id is not None,
            accept=svc.accept_attribute(), max_mb=svc.max_bytes() // (1024 * 1024),
            allowed=", ".join(sorted(svc.allowed_types())),
            user_id=getattr(user, "id", None),
            is_admin=any(r.name == P.ADMIN for r in getattr(user, "roles", []) or []),
            inline_types={e for e, t in svc.KNOWN_TYPES.items() if t.inline},
            families={e: t.family for e, t in svc.KNOWN_TYPES.items()},
            subrecord_labels={code: str(spec.label) for code, spec in svc.SUBRECORD_TYPES.items()},
            human_size=svc.human_size,
        )
        return super()._get_list_widget(filters, actions=actions, order_column=order_column,
                                        order_direction=order_direction, page=page, page_size=page_size,
                                        widgets=widgets, **kwargs)

    # --- upload ------------------------------------------------------------------------------------

    @expose("/upload/<int:customer_id>", methods=["POST"])
    @has_access
    def upload(self, customer_id):
        customer = _visible_customer(customer_id)
        upload = request.files.get("file")
        record_type, _, record_id = (request.form.get("record") or "").partition(":")
        try:
            attachment = svc.store(customer, upload.stream if upload else None, upload.filename if upload else "",
                                   request.form.get("category", ""), request.form.get("description"),
                                   record_type or None, record_id or None)
        except GuaranteeError as ex:
            if ex.status == 404:
                raise
            if request.accept_mimetypes.best == "application/json":
                return jsonify(message=ex.message, field=ex.field), ex.status
            flash(ex.message, "danger")
            return redirect(_customer_page(customer.id))
        if request.accept_mimetypes.best == "application/json":
            return jsonify(id=attachment.id, sha256=attachment.sha256, size=attachment.size,
                           content_type=attachment.content_type), 201
        flash(gettext("The file %(name)s has been uploaded.", name=attachment.original_name), "success")
        return redirect(_customer_page(customer.id))

    # --- preview, file, delete ---------------------------------------------------------------------

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        attachment = svc.get_visible(pk)
        kind = svc.file_type(attachment)
        return self.render_template(
            "attachments/preview.html", attachment=attachment, kind=kind,
            inline=bool(kind and kind.inline), category=dict_label("attachment_category")(attachment.category),
            record=svc.record_label(attachment), size=svc.human_size(attachment.size), labels=LABELS,
            can_delete=self.appbuilder.sm.has_access(P.can(P.EDIT), P.CUSTOMER) and svc.can_delete(attachment,
                                                                                                   g.user),
            title=attachment.original_name)

    @expose("/file/<pk>")
    @has_access
    def file(self, pk):
        """The file itself: shown in the page (images, PDF, audio, video) or downloaded (?download=1 and
        every other type). Served with nosniff and a restrictive Content-Security-Policy."""
        attachment = svc.get_visible(pk)
        kind = svc.file_type(attachment)
        inline = bool(kind and kind.inline) and request.args.get("download") != "1"
        response = send_file(svc.file_path(attachment), mimetype=attachment.content_type,
                             as_attachment=not inline, download_name=attachment.original_name,
                             conditional=True, etag=attachment.sha256, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        if kind and kind.extension == "pdf":
            # Chromium does not open PDFs in a sandboxed document: no scripts or connections instead.
            policy = "default-src 'none'; object-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'"
        else:
            policy = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
        response.headers["Content-Security-Policy"] = policy + "; frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @expose("/remove/<pk>", methods=["POST"])
    @has_access
    def remove(self, pk):
        attachment = svc.get_visible(pk)
        customer_id = attachment.customer_id
        name = attachment.original_name
        svc.delete(attachment, g.user)  # Forbidden (403) unless the uploader or an administrator
        flash(gettext("The attachment %(name)s has been deleted.", name=name), "success")
        back = request.form.get("next")
        if back and _same_site(back) and back.startswith("/"):
            return redirect(back)
        return redirect(_customer_page(customer_id))

    @expose("/record/<record_type>/<int:record_id>")
    @has_access
    def record(self, record_type, record_id):
        """The files of one sub-record (a credit report …), with an upload form attaching to it."""
        spec = svc.SUBRECORD_TYPES.get(record_type)
        model = spec.model if spec else None
        if model is None:
            abort(404)
        from app.extensions import db
        from app.services.data_scope import ensure_visible

        row = ensure_visible(db.session.get(model, record_id))
        customer = _visible_customer(getattr(row, spec.customer_attr))
        files = svc.for_record(customer.id, record_type, record_id)
        return self.render_template(
            "attachments/record.html", customer=customer, record=row, spec=spec, files=files,
            record_key=f"{record_type}:{record_id}", categories=dict_choices("attachment_category"),
            category_label=dict_label("attachment_category"), human_size=svc.human_size,
            can_upload=self.appbuilder.sm.has_access(P.can(P.EDIT), P.CUSTOMER),
            accept=svc.accept_attribute(), max_mb=svc.max_bytes() // (1024 * 1024),
            allowed=", ".join(sorted(svc.allowed_types())), labels=LABELS,
            title=f"{spec.label}：{row}")


def record_link(record_type: str):
    """Formatter for a sub-record screen: a link to the files of the row (use with the row's id column)."""
    from markupsafe import Markup, escape

    def link(record_id):
        if record_id is None:
            return ""
        url = url_for("AttachmentView.record", record_type=record_type, record_id=record_id)
        return Markup(f'<a href="{escape(url)}"><i class="fa fa-paperclip"></i> {escape(gettext("Customer attachments"))}</a>')

    return link


CUSTOMER_TABS = [AttachmentView]
