"""Role administration screens (issue 11): role list, permission matrix with data scope, compare, users, export.

Thin: every rule lives in app/services/role_admin.py; errors come back as flashed, translated messages.
"""
import os

from flask import after_this_request, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import permission_names as N
from app import permissions as P
from app.errors import GuaranteeError, NotFound
from app.services import role_admin
from app.services.data_scope import SCOPES


class RoleAdminView(BaseView):
    route_base = "/roleadmin"
    default_view = "index"
    class_permission_name = P.ROLE_ADMIN
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT), P.can(P.DELETE), P.can(P.EXPORT)]
    method_permission_name = {
        "index": P.READ, "matrix": P.READ, "users": P.READ, "compare": P.READ,
        "save": P.EDIT, "rename": P.EDIT, "reset": P.EDIT,
        "create": P.ADD, "delete": P.DELETE, "export": P.EXPORT,
    }
    title = _l("Roles and permissions")

    def _role(self, pk):
        try:
            return role_admin.get_role(pk)
        except NotFound:
            from flask import abort

            abort(404)

    def _can(self, verb) -> bool:
        return self.appbuilder.sm.has_access(P.can(verb), P.ROLE_ADMIN)

    def _rights(self) -> dict:
        return {verb: self._can(verb) for verb in (P.ADD, P.EDIT, P.DELETE, P.EXPORT)}

    @expose("/")
    @has_access
    def index(self):
        return self.render_template("roles/index.html", roles=role_admin.roles_with_counts(), rights=self._rights(),
                                    title=self.title)

    @expose("/matrix/<int:pk>")
    @has_access
    def matrix(self, pk):
        role = self._role(pk)
        editable = self._can(P.EDIT) and role.name != P.ADMIN
        return self.render_template(
            "roles/matrix.html", role=role, groups=role_admin.matrix_view(role), columns=N.COLUMNS,
            column_names=N.COLUMN_NAMES, scope=role_admin.get_scope(role), scopes=SCOPES,
            scope_labels=role_admin.scope_labels(), editable=editable, builtin=role_admin.is_builtin(role),
            is_admin_role=role.name == P.ADMIN, rights=self._rights(), title=self.title,
            users=role_admin.role_users(role),
        )

    @expose("/matrix/<int:pk>/save", methods=["POST"])
    @has_access
    def save(self, pk):
        role = self._role(pk)
        try:
            result = role_admin.save_matrix(role, role_admin.parse_ticked(request.form.getlist("perm")),
                                            request.form.get("scope"))
        except GuaranteeError as ex:
            role_admin._session().rollback()
            flash(ex.message, "danger")
        else:
            message = gettext("Role %(name)s saved: %(added)s permission(s) granted, %(removed)s removed.",
                              name=role.name, added=result["added"], removed=result["removed"])
            if result["scope_changed"]:
                message += " " + gettext("The data scope changed.")
            flash(message, "success")
        return redirect(url_for(".matrix", pk=pk))

    @expose("/create", methods=["POST"])
    @has_access
    def create(self):
        source = None
        try:
            if request.form.get("copy_from"):
                source = role_admin.get_role(request.form.get("copy_from"))
            role = role_admin.create_role(request.form.get("name", ""), copy_from=source)
        except GuaranteeError as ex:
            role_admin._session().rollback()
            flash(ex.message, "danger")
            return redirect(url_for(".index"))
        flash(gettext("Role %(name)s created.", name=role.name), "success")
        return redirect(url_for(".matrix", pk=role.id))

    @expose("/rename/<int:pk>", methods=["POST"])
    @has_access
    def rename(self, pk):
        role = self._role(pk)
        try:
            role_admin.rename_role(role, request.form.get("name", ""))
            flash(gettext("Role renamed to %(name)s.", name=role.name), "success")
        except GuaranteeError as ex:
            role_admin._session().rollback()
            flash(ex.message, "danger")
        return redirect(url_for(".matrix", pk=pk))

    @expose("/delete/<int:pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        role = self._role(pk)
        name = role.name
        try:
            role_admin.delete_role(role)
            flash(gettext("Role %(name)s deleted.", name=name), "success")
        except GuaranteeError as ex:
            role_admin._session().rollback()
            flash(ex.message, "danger")
        return redirect(url_for(".index"))

    @expose("/reset/<int:pk>", methods=["POST"])
    @has_access
    def reset(self, pk):
        role = self._role(pk)
        try:
            role_admin.reset_role(role)
            flash(gettext("Role %(name)s is back to its shipped definition.", name=role.name), "success")
        except GuaranteeError as ex:
            role_admin._session().rollback()
            flash(ex.message, "danger")
        return redirect(url_for(".matrix", pk=pk))

    @expose("/users/<int:pk>")
    @has_access
    def users(self, pk):
        role = self._role(pk)
        return self.render_template("roles/users.html", role=role, users=role_admin.role_users(role),
                                    title=self.title)

    @expose("/compare")
    @has_access
    def compare(self):
        roles = [r["role"] for r in role_admin.roles_with_counts()]
        a = b = groups = None
        if request.args.get("a") and request.args.get("b"):
            a, b = self._role(request.args.get("a")), self._role(request.args.get("b"))
            groups = role_admin.compare(a, b)
        return self.render_template(
            "roles/compare.html", roles=roles, a=a, b=b, groups=groups, columns=N.COLUMNS,
            column_names=N.COLUMN_NAMES, scope_labels=role_admin.scope_labels(),
            scope_a=role_admin.get_scope(a) if a else None, scope_b=role_admin.get_scope(b) if b else None,
            title=self.title,
        )

    @expose("/export")
    @has_access
    def export(self):
        path = role_admin.export_matrix()

        @after_this_request
        def _cleanup(response):
            try:
                os.remove(path)
            except OSError:
                pass
            return response

        return send_file(path, as_attachment=True, download_name=gettext("Permission matrix") + ".xlsx")
