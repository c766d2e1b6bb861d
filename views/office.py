"""Office (办公, WB-3/WB-6/OA-2/SYS-11): internal messages and mail, address books, file cabinets, help pages, and
personal settings under 我的. Views authorise and delegate to app/services/messages.py, address_book.py,
cabinets.py and personal.py; those check who may see what (a message only its sender and recipients, a folder
only its members), so the screens and the API meet the same rules."""
from __future__ import annotations

import os
from datetime import date

from flask import abort, after_this_request, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField

from app import permissions as P
from app.errors import GuaranteeError, ValidationError
from app.extensions import db
from app.services import address_book, cabinets, messages, personal
from models.office import CabinetFolder, Contact, ContactGroup, HelpEntry
from views.api_support import ApiHardeningMixin
from views.base import BaseModelView, SafeInterface

OFFICE = dict(category="Office", category_label=_l("Office"), category_icon="fa-briefcase")
BOX_TITLES = {"message": _l("Internal messages"), "mail": _l("Internal mail")}
HELP_KINDS = {"faq": _l("Frequently asked question"), "contact": _l("Contact")}


def _commit(action, success=None):
    """Run a service action and commit, or roll back and flash the reason; returns the result or None."""
    try:
        result = action()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        flash(ex.message, "danger")
        return None
    if success:
        flash(str(success), "success")
    return True if result is None else result


def _page() -> int:
    try:
        return max(int(request.args.get("page", 0)), 0)
    except ValueError:
        return 0


def _page_size() -> int:
    return personal.rows_per_page(g.user.id, 20)


def _send_download(path: str, name: str, mimetype: str | None = None, etag: str | None = None, temporary=False):
    if temporary:
        @after_this_request
        def _remove(response):
            try:
                os.remove(path)
            except OSError:
                pass
            return response
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, conditional=not temporary,
                         etag=etag if etag else not temporary, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _active_users():
    from flask_appbuilder.security.sqla.models import User

    return list(db.session.execute(select(User).where(User.active.is_(True))
                                   .order_by(User.first_name, User.last_name, User.username)).scalars())


def _departments():
    from models.system import Department

    return list(db.session.execute(select(Department).where(Department.active.is_(True))
                                   .order_by(Department.sort_order, Department.code)).scalars())


def _roles():
    from flask_appbuilder.security.sqla.models import Role

    return list(db.session.execute(select(Role).where(Role.name != "Public").order_by(Role.name)).scalars())


# --- internal messages and mail (WB-3) -------------------------------------------------------------------------

class _BoxView(BaseView):
    box = "message"
    default_view = "inbox"
    class_permission_name = P.OFFICE_MESSAGE
    base_permissions = [P.can(P.READ), P.can(P.ADD)]
    method_permission_name = {"inbox": P.READ, "sent": P.READ, "show": P.READ, "download": P.READ,
                              "mark": P.READ, "remove": P.READ, "read_all": P.READ, "compose": P.ADD}

    def _render_box(self, mode, rows, total, page, q, unread_only=False):
        return self.render_template("office/box.html", title=str(BOX_TITLES[self.box]), box=self.box, mode=mode,
                                    rows=rows, total=total, page=page, page_size=_page_size(), q=q,
                                    unread_only=unread_only, endpoint=self.endpoint, kinds=messages.KINDS,
                                    name=messages.user_name, box_title=BOX_TITLES[self.box])

    @expose("/inbox")
    @has_access
    def inbox(self):
        page, q = _page(), request.args.get("q", "")
        unread_only = request.args.get("unread") == "1"
        rows, total = messages.inbox(g.user.id, self.box, unread_only=unread_only, q=q, page=page,
                                     page_size=_page_size())
        return self._render_box("inbox", rows, total, page, q, unread_only)

    @expose("/sent")
    @has_access
    def sent(self):
        page, q = _page(), request.args.get("q", "")
        rows, total = messages.sent(g.user.id, self.box, q=q, page=page, page_size=_page_size())
        return self._render_box("sent", rows, total, page, q)

    @expose("/compose", methods=["GET", "POST"])
    @has_access
    def compose(self):
        form = {"users": [], "departments": [], "roles": [], "subject": "", "body": ""}
        reply = request.args.get("reply")
        if request.method == "GET" and reply:
            try:
                original, _ = messages.open_for(reply, g.user.id, mark_read=False)
            except GuaranteeError:
                abort(404)
            if original.sender_id:
                form["users"] = [str(original.sender_id)]
            form["subject"] = (gettext("Re: %(subject)s", subject=original.subject))[:200]
        errors = {}
        if request.method == "POST":
            form = {"users": request.form.getlist("users"), "departments": request.form.getlist("departments"),
                    "roles": request.form.getlist("roles"), "subject": request.form.get("subject", ""),
                    "body": request.form.get("body", "")}
            files = [(f.stream, f.filename) for f in request.files.getlist("files") if f and f.filename]
            try:
                messages.send(g.user.id, form["subject"], form["body"], kind=self.box, user_ids=form["users"],
                              department_ids=form["departments"], role_ids=form["roles"], files=files)
            except GuaranteeError as ex:
                errors[ex.field or "_"] = ex.message
                flash(ex.message, "danger")
            else:
                flash(gettext("Sent."), "success")
                return redirect(url_for(f"{self.endpoint}.sent"))
        from app.services.attachments import accept_attribute

        return self.render_template("office/compose.html", title=gettext("Write"), box=self.box, form=form,
                                    errors=errors, users=_active_users(), departments=_departments(),
                                    roles=_roles(), endpoint=self.endpoint, name=messages.user_name,
                                    accept=accept_attribute(), box_title=BOX_TITLES[self.box])

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        try:
            message, delivery = messages.open_for(pk, g.user.id)
            db.session.commit()  # opening it marks it read
        except GuaranteeError:
            db.session.rollback()
            abort(404)
        recipients = messages.recipients_of(message) if message.sender_id == g.user.id else []
        from app.services.attachments import human_size

        return self.render_template("office/message.html", title=message.subject, message=message,
                                    delivery=delivery, recipients=recipients, box=self.box, endpoint=self.endpoint,
                                    kinds=messages.KINDS, name=messages.user_name, human_size=human_size,
                                    box_title=BOX_TITLES[self.box])

    @expose("/file/<int:pk>")
    @has_access
    def download(self, pk):
        from app.services import office_files

        try:
            row = messages.file_for(pk, g.user.id)
            path = office_files.path_of(row)
        except GuaranteeError:
            abort(404)
        return _send_download(path, row.original_name, row.content_type, row.sha256)

    @expose("/mark/<int:pk>", methods=["POST"])
    @has_access
    def mark(self, pk):
        read = request.form.get("read") == "1"
        _commit(lambda: messages.set_read(pk, g.user.id, read),
                _l("Marked as read.") if read else _l("Marked as unread."))
        return redirect(url_for(f"{self.endpoint}.inbox"))

    @expose("/delete/<int:pk>", methods=["POST"])
    @has_access
    def remove(self, pk):
        box = "sent" if request.form.get("from") == "sent" else "inbox"
        _commit(lambda: messages.delete_for(pk, g.user.id, box), _l("Deleted."))
        return redirect(url_for(f"{self.endpoint}.{box}"))

    @expose("/readall", methods=["POST"])
    @has_access
    def read_all(self):
        _commit(lambda: messages.mark_all_read(g.user.id, self.box), _l("All marked as read."))
        return redirect(url_for(f"{self.endpoint}.inbox"))


class MessageView(_BoxView):
    route_base = "/office/messages"
    box = "message"


class MailView(_BoxView):
    route_base = "/office/mail"
    box = "mail"


def _message_json(message, delivery, user_id) -> dict:
    return {
        "id": message.id, "kind": message.kind, "subject": message.subject, "body": message.body,
        "link": message.link, "sender_id": message.sender_id, "sender": messages.user_name(message.sender),
        "addressed_to": message.addressed_to, "created_at": message.created_at.isoformat(timespec="seconds"),
        "read_at": delivery.read_at.isoformat(timespec="seconds") if delivery and delivery.read_at else None,
        "files": [{"id": f.id, "name": f.original_name, "size": f.size} for f in message.files],
    }


class MessageApi(ApiHardeningMixin, FabBaseApi):
    """/api/v1/office_message/: my inbox, one message (only mine), sending, and the unread count."""

    resource_name = "office_message"
    class_permission_name = P.OFFICE_MESSAGE
    allow_browser_login = True
    method_permission_name = {"inbox": P.READ, "one": P.READ, "unread": P.READ, "send": P.ADD}

    @api_expose("/", methods=["GET"])
    @protect()
    @safe
    def inbox(self):
        box = request.args.get("box", "message")
        rows, total = messages.inbox(g.user.id, box if box in messages.BOXES else "message",
                                     unread_only=request.args.get("unread") == "1", q=request.args.get("q", ""),
                                     page=_page(), page_size=50)
        return self.response(200, count=total, result=[
            {"id": r.message_id, "kind": r.message.kind, "subject": r.message.subject,
             "sender": messages.user_name(r.message.sender),
             "created_at": r.message.created_at.isoformat(timespec="seconds"),
             "read": r.read_at is not None} for r in rows])

    @api_expose("/unread_count", methods=["GET"])
    @protect()
    @safe
    def unread(self):
        return self.response(200, count=messages.unread_count(g.user.id))

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def one(self, pk):
        try:
            message, delivery = messages.open_for(pk, g.user.id)
            db.session.commit()
        except GuaranteeError:
            db.session.rollback()
            return self.response_404()
        return self.response(200, result=_message_json(message, delivery, g.user.id))

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    def send(self):
        data = request.get_json(silent=True) if request.is_json else None
        if not isinstance(data, dict):
            return self.response(400, message=gettext("The request body must be a JSON object."))
        kind = data.get("kind") or "message"

        def as_list(key):
            value = data.get(key) or []
            return value if isinstance(value, list) else [value]
        try:
            message = messages.send(g.user.id, str(data.get("subject") or ""), str(data.get("body") or ""),
                                    kind=str(kind), user_ids=as_list("users"), department_ids=as_list("departments"),
                                    role_ids=as_list("roles"))
        except GuaranteeError as ex:
            db.session.rollback()
            return self.response(ex.status, message=ex.message)
        return self.response(201, id=message.id, recipients=len(messages.recipients_of(message)))


def unread_badge() -> int:
    """Jinja global of the top bar: the current user's unread messages (0 without the permission)."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    cache = g.__dict__
    if "_oa_unread" not in cache:
        from flask import current_app

        sm = current_app.appbuilder.sm
        cache["_oa_unread"] = messages.unread_count(user.id) if sm.has_access(
            P.can(P.READ), P.OFFICE_MESSAGE) else None
    return cache["_oa_unread"]


# --- address books -------------------------------------------------------------------------------------------

class _OwnRows(BaseFilter):
    """Personal rows: each user sees and changes only his own (the administrator too)."""

    name = "own rows"
    arg_name = "own"

    def apply(self, query, value):
        return query.filter(self.model.owner_id == g.user.id)


class ContactGroupView(BaseModelView):
    datamodel = SafeInterface(ContactGroup)
    class_permission_name = P.ADDRESS_BOOK
    route_base = "/office/contactgroups"
    list_title, show_title = _l("My contact groups"), _l("Contact group")
    add_title, edit_title = _l("Add contact group"), _l("Edit contact group")
    list_columns = ["name", "sort_order"]
    add_columns = edit_columns = show_columns = ["name", "sort_order"]
    search_columns = ["name"]
    base_order = ("sort_order", "asc")
    label_columns = {"name": _l("Contact group name"), "sort_order": _l("Sort order")}
    base_filters = [["id", _OwnRows, None]]

    def pre_add(self, item):
        item.owner_id = g.user.id
        item.name = (item.name or "").strip()
        if not item.name:
            raise ValidationError(gettext("Enter the group name."), "name")
        exists = db.session.execute(select(ContactGroup.id).where(
            ContactGroup.owner_id == g.user.id, ContactGroup.name == item.name, ContactGroup.id != (item.id or 0))
        ).first()
        if exists:
            raise ValidationError(gettext("You already have a group with this name."), "name")

    pre_update = pre_add


def _own_groups_query():
    return db.session.query(ContactGroup).filter(ContactGroup.owner_id == g.user.id).order_by(ContactGroup.sort_order,
                                                                                              ContactGroup.name)


class ContactView(BaseModelView):
    datamodel = SafeInterface(Contact)
    class_permission_name = P.ADDRESS_BOOK
    route_base = "/office/contacts"
    list_title, show_title = _l("My contacts"), _l("Contact")
    add_title, edit_title = _l("Add contact"), _l("Edit contact")
    list_columns = ["group", "name", "company", "title", "mobile", "phone", "email"]
    add_columns = edit_columns = ["group", "name", "company", "title", "mobile", "phone", "email", "address", "note"]
    show_columns = add_columns
    search_columns = ["name", "company", "mobile", "phone", "email"]
    base_order = ("name", "asc")
    label_columns = {"group": _l("Group"), "name": _l("Person's name"), "company": _l("Company"), "title": _l("Title"),
                     "mobile": _l("Mobile"), "phone": _l("Phone"), "email": _l("E-mail"), "address": _l("Address"),
                     "note": _l("Note")}
    add_form_query_rel_fields = edit_form_query_rel_fields = {"group": [["owner_id", _OwnRows, None]]}
    base_filters = [["id", _OwnRows, None]]
    validators = (address_book.validate_contact,)

    def pre_add(self, item):
        item.owner_id = g.user.id
        super().pre_add(item)

    def pre_update(self, item):
        if item.owner_id != g.user.id:
            abort(404)
        super().pre_update(item)


class AddressBookView(BaseView):
    route_base = "/office/addressbook"
    default_view = "book"
    class_permission_name = P.ADDRESS_BOOK
    base_permissions = [P.can(P.READ), P.can(P.EXPORT)]
    method_permission_name = {"book": P.READ, "export": P.EXPORT}

    def _books(self):
        sm = self.appbuilder.sm
        books = dict(address_book.BOOKS)
        if not sm.has_access(P.can(P.READ), P.CUSTOMER):
            books.pop("customer")
        return books

    def _book(self, book):
        if book not in self._books():
            abort(404)
        return book

    @expose("/")
    @expose("/<book>")
    @has_access
    def book(self, book="personal"):
        book = self._book(book)
        page, q, group = _page(), request.args.get("q", ""), request.args.get("group") or None
        size = _page_size()
        try:
            data, total = address_book.rows(book, g.user.id, q, group, limit=size, offset=page * size)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            data, total = [], 0
        return self.render_template("office/address_book.html", title=str(address_book.BOOKS[book]), book=book,
                                    books=self._books(), headers=address_book.headers(book), rows=data, total=total,
                                    page=page, page_size=size, q=q, group=group,
                                    groups=address_book.own_groups(g.user.id) if book == "personal" else [])

    @expose("/<book>/export/<fmt>")
    @has_access
    def export(self, book, fmt):
        book = self._book(book)
        if fmt not in ("xlsx", "pdf"):
            abort(404)
        q, group = request.args.get("q", ""), request.args.get("group") or None
        try:
            make = address_book.export_xlsx if fmt == "xlsx" else address_book.export_pdf
            path, name = make(book, g.user.id, q, group)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            return redirect(url_for(".book", book=book))
        mime = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "application/pdf")
        return _send_download(path, name, mime, temporary=True)


# --- file cabinets -------------------------------------------------------------------------------------------

class CabinetView(BaseView):
    route_base = "/office/cabinet"
    default_view = "folders"
    class_permission_name = P.FILE_CABINET
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.DELETE)]
    method_permission_name = {"folders": P.READ, "folder": P.READ, "download": P.READ, "new_folder": P.ADD,
                              "upload": P.ADD, "delete_file": P.DELETE, "delete_folder": P.DELETE}

    @expose("/")
    @has_access
    def folders(self):
        from sqlalchemy import func

        from models.office import CabinetFile

        folders = cabinets.visible_folders(g.user)
        counts = dict(db.session.execute(select(CabinetFile.folder_id, func.count(CabinetFile.id)).where(
            CabinetFile.folder_id.in_([f.id for f in folders] or [0])).group_by(CabinetFile.folder_id)).all())
        return self.render_template("office/cabinet.html", title=gettext("File cabinets"), folders=folders,
                                    counts=counts,
                                    can_manage=self.appbuilder.sm.has_access(P.can(P.READ), P.CABINET_FOLDER))

    @expose("/folder/<int:pk>")
    @has_access
    def folder(self, pk):
        from app.services.attachments import accept_attribute, human_size

        try:
            folder = cabinets.folder_for(pk, g.user)
        except GuaranteeError:
            abort(404)
        q = request.args.get("q", "")
        files = cabinets.files_of(folder, q)
        return self.render_template("office/folder.html", title=folder.name, folder=folder, files=files, q=q,
                                    human_size=human_size, accept=accept_attribute(),
                                    can_delete=lambda f: cabinets.can_delete(f, g.user), name=messages.user_name)

    @expose("/new", methods=["POST"])
    @has_access
    def new_folder(self):
        folder = _commit(lambda: cabinets.create_personal_folder(g.user, request.form.get("name", ""),
                                                                 request.form.get("description")),
                         _l("Folder created."))
        if folder:
            return redirect(url_for(".folder", pk=folder.id))
        return redirect(url_for(".folders"))

    @expose("/folder/<int:pk>/upload", methods=["POST"])
    @has_access
    def upload(self, pk):
        try:
            folder = cabinets.folder_for(pk, g.user)
        except GuaranteeError:
            abort(404)
        files = [f for f in request.files.getlist("file") if f and f.filename]
        if not files:
            flash(gettext("Choose a file to upload."), "danger")
        for f in files:
            try:
                cabinets.upload(folder, g.user, f.stream, f.filename, request.form.get("description"))
            except GuaranteeError as ex:
                flash(f"{f.filename}: {ex.message}", "danger")
            else:
                flash(gettext("Uploaded: %(name)s", name=f.filename), "success")
        return redirect(url_for(".folder", pk=pk))

    @expose("/file/<int:pk>")
    @has_access
    def download(self, pk):
        from app.services import office_files

        try:
            row = cabinets.file_for(pk, g.user)
            path = office_files.path_of(row)
        except GuaranteeError:
            abort(404)
        return _send_download(path, row.original_name, row.content_type, row.sha256)

    @expose("/file/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete_file(self, pk):
        try:
            row = cabinets.file_for(pk, g.user)
        except GuaranteeError:
            abort(404)
        folder_id = row.folder_id
        try:
            cabinets.delete_file(row, g.user)
        except GuaranteeError as ex:
            db.session.rollback()
            flash(ex.message, "danger")
        else:
            flash(gettext("Deleted."), "success")
        return redirect(url_for(".folder", pk=folder_id))

    @expose("/folder/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete_folder(self, pk):
        try:
            folder = cabinets.folder_for(pk, g.user)
        except GuaranteeError:
            abort(404)
        if _commit(lambda: cabinets.delete_folder(folder, g.user), _l("Deleted.")):
            return redirect(url_for(".folders"))
        return redirect(url_for(".folder", pk=pk))


class _PublicOnly(BaseFilter):
    name = "public folders"
    arg_name = "public"

    def apply(self, query, value):
        return query.filter(CabinetFolder.scope == "public")


class PublicFolderView(BaseModelView):
    """Public folders and who may use them (the folder administrators)."""

    datamodel = SafeInterface(CabinetFolder)
    class_permission_name = P.CABINET_FOLDER
    route_base = "/office/publicfolders"
    list_title, show_title = _l("Public folders"), _l("Public folder")
    add_title, edit_title = _l("Add public folder"), _l("Edit public folder")
    list_columns = ["name", "description", "departments", "roles"]
    add_columns = edit_columns = show_columns = ["name", "description", "departments", "roles"]
    search_columns = ["name"]
    base_order = ("name", "asc")
    label_columns = {"name": _l("Folder name"), "description": _l("Description"),
                     "departments": _l("Departments allowed"), "roles": _l("Roles allowed")}
    description_columns = {"departments": _l("Members of these departments (and their sub-departments) may use the "
                                             "folder. Leave departments and roles empty to open it to everyone.")}
    base_filters = [["id", _PublicOnly, None]]
    validators = (cabinets.validate_public_folder,)
    delete_validators = (cabinets.check_empty,)


# --- help pages (SYS-11) ---------------------------------------------------------------------------------------

class HelpView(BaseView):
    route_base = "/office/help"
    default_view = "page"
    class_permission_name = P.HELP_PAGE
    base_permissions = [P.can(P.READ)]
    method_permission_name = {"page": P.READ}

    @expose("/")
    @has_access
    def page(self):
        q = (request.args.get("q") or "").strip()[:50]
        query = select(HelpEntry).where(HelpEntry.active.is_(True))
        if q:
            query = query.where(HelpEntry.title.ilike(f"%{q}%") | HelpEntry.body.ilike(f"%{q}%"))
        entries = list(db.session.execute(query.order_by(HelpEntry.sort_order, HelpEntry.id)).scalars())
        return self.render_template("office/help.html", title=gettext("Help and support"), q=q,
                                    faqs=[e for e in entries if e.kind == "faq"],
                                    contacts=[e for e in entries if e.kind == "contact"],
                                    can_edit=self.appbuilder.sm.has_access(P.can(P.EDIT), P.HELP_ENTRY))


def _check_help(entry):
    if entry.kind not in HELP_KINDS:
        raise ValidationError(gettext("Choose the kind of entry."), "kind")
    if not (entry.title or "").strip():
        raise ValidationError(gettext("Enter the title."), "title")


class HelpEntryView(BaseModelView):
    datamodel = SafeInterface(HelpEntry)
    class_permission_name = P.HELP_ENTRY
    route_base = "/office/helpentries"
    list_title, show_title = _l("Help entries"), _l("Help entry")
    add_title, edit_title = _l("Add help entry"), _l("Edit help entry")
    list_columns = ["kind", "title", "phone", "email", "sort_order", "active"]
    add_columns = edit_columns = show_columns = ["kind", "title", "body", "phone", "email", "sort_order", "active"]
    search_columns = ["kind", "title", "active"]
    base_order = ("sort_order", "asc")
    label_columns = {"kind": _l("Kind"), "title": _l("Question or contact"), "body": _l("Answer or duties"),
                     "phone": _l("Phone"), "email": _l("E-mail"), "sort_order": _l("Sort order"),
                     "active": _l("Shown")}
    formatters_columns = {"kind": lambda k: str(HELP_KINDS.get(k, k))}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField(_l("Kind"), choices=[(k, v) for k, v in HELP_KINDS.items()])}
    validators = (_check_help,)


# --- personal settings (WB-6, under 我的) ----------------------------------------------------------------------

class PersonalSettingsView(BaseView):
    route_base = "/mine/settings"
    default_view = "page"
    class_permission_name = P.PERSONAL_SETTINGS
    base_permissions = [P.can(P.READ), P.can(P.EDIT)]
    method_permission_name = {"page": P.READ, "password": P.EDIT, "rows": P.EDIT, "delegate": P.EDIT}

    @expose("/")
    @has_access
    def page(self, errors=None):
        from models.approval import ApprovalDelegation

        delegations = list(db.session.execute(select(ApprovalDelegation).where(
            ApprovalDelegation.from_user_id == g.user.id).order_by(ApprovalDelegation.date_from.desc())
            .limit(20)).scalars())
        from app.services import approval, business_date

        return self.render_template("office/settings.html", title=gettext("Personal settings"),
                                    rows_choices=personal.ROWS_CHOICES,
                                    rows=personal.rows_per_page(g.user.id, 20), errors=errors or {},
                                    delegations=delegations, users=[u for u in _active_users() if u.id != g.user.id],
                                    name=messages.user_name, kind_label=approval.kind_label,
                                    today=business_date.today(),
                                    can_delegate=self.appbuilder.sm.has_access(P.can(P.ADD), P.DELEGATION))

    @expose("/password", methods=["POST"])
    @has_access
    def password(self):
        try:
            personal.change_password(g.user, request.form.get("current_password", ""),
                                     request.form.get("new_password", ""), request.form.get("repeat_password", ""))
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            flash(ex.message, "danger")
            return self.page(errors={ex.field or "_": ex.message}), 400
        flash(gettext("Your password is changed."), "success")
        return redirect(url_for(".page"))

    @expose("/rows", methods=["POST"])
    @has_access
    def rows(self):
        _commit(lambda: personal.set_rows_per_page(g.user.id, request.form.get("rows_per_page")), _l("Saved."))
        return redirect(url_for(".page"))

    @expose("/delegate", methods=["POST"])
    @has_access
    def delegate(self):
        from app.services import approval

        if not self.appbuilder.sm.has_access(P.can(P.ADD), P.DELEGATION):
            abort(403)
        try:
            first = date.fromisoformat(request.form.get("date_from", ""))
            last = date.fromisoformat(request.form.get("date_to", ""))
            to_user = int(request.form.get("to_user", ""))
        except ValueError:
            flash(gettext("Choose who takes over and enter the first and the last day."), "danger")
            return redirect(url_for(".page"))
        _commit(lambda: approval.delegate(g.user.id, to_user, first, last, reason=request.form.get("reason") or None),
                _l("Your approvals are delegated for these days."))
        return redirect(url_for(".page"))


# --- registration ----------------------------------------------------------------------------------------------

def register(appbuilder):
    """Menu 办公 (messages, mail, address books, file cabinets, help) and 我的 → 个人设置."""
    from flask import current_app

    add = appbuilder.add_view
    add(MessageView, "InternalMessages", label=_l("Internal messages"), icon="fa-comments", **OFFICE)
    add(MailView, "InternalMail", label=_l("Internal mail"), icon="fa-envelope", **OFFICE)
    add(AddressBookView, "AddressBooks", label=_l("Address books"), icon="fa-address-card", **OFFICE)
    add(ContactView, "MyContacts", label=_l("My contacts"), icon="fa-user-plus", **OFFICE)
    add(ContactGroupView, "MyContactGroups", label=_l("My contact groups"), icon="fa-users", **OFFICE)
    add(CabinetView, "FileCabinets", label=_l("File cabinets"), icon="fa-folder-open", **OFFICE)
    add(PublicFolderView, "PublicFolders", label=_l("Public folders"), icon="fa-folder", **OFFICE)
    add(HelpView, "Help", label=_l("Help and support"), icon="fa-question-circle", **OFFICE)
    add(HelpEntryView, "HelpEntries", label=_l("Help entries"), icon="fa-pencil-square-o", **OFFICE)
    add(PersonalSettingsView, "PersonalSettings", label=_l("Personal settings"), icon="fa-cog",
        category="Mine", category_label=_l("Mine"), category_icon="fa-user")
    appbuilder.add_api(MessageApi)
    current_app.jinja_env.globals["office_unread"] = unread_badge
