"""Online financing portal (issue 10, PORTAL-1..3).

Two parts:

* the enterprise area, a plain Flask blueprint under /portal with its own mobile-first templates
  (templates/portal/): login, registration, the company's needs, notices, letters and margin deposits;
* the staff screen 企业在线申请 (PortalReviewView, resource P.PORTAL_REVIEW under 业务管理): verify
  registrations, accept needs (submit the draft application), ask for documents, see the rating (PORTAL-3).

Isolation: `portal_guard` runs before every request; an enterprise user (session or bearer token) reaches
the portal blueprint, static files, the language switch and logout only — every staff screen answers 403
and every /api/ endpoint 403 in JSON, whatever permissions its role might be given. Inside the portal,
records are looked up through the company (`portal.need_of`), so another company's id is a 404.
"""
from functools import wraps

from flask import (
    Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for,
)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from app import permissions as P
from app.errors import GuaranteeError
from app.services import portal as svc

MENU_LABEL = _l("Online applications")
bp = Blueprint("portal", __name__, url_prefix="/portal")


# --- the guard --------------------------------------------------------------------------------------------

def _request_users():
    users = []
    if getattr(current_user, "is_authenticated", False):
        users.append(current_user)
    if request.path.startswith("/api/"):
        from app.web_hooks import _bearer_user

        bearer = _bearer_user()
        if bearer is not None:
            users.append(bearer)
    return users


def portal_guard():
    """Keep enterprise users off everything that is not theirs (default deny)."""
    if not any(svc.is_portal_user(u) for u in _request_users()):
        return None
    from app.extensions import appbuilder

    endpoint = request.endpoint or ""
    auth = appbuilder.sm.auth_view.endpoint
    if (endpoint.startswith("portal.") or endpoint == "static" or endpoint.endswith(".static")
            or endpoint in (f"{auth}.logout", "LocaleView.index")):
        return None
    if request.path.startswith("/api/"):
        return jsonify(message=gettext("This is not available to enterprise users.")), 403
    if not request.endpoint:
        return None  # an unknown address: the usual 404
    if request.method == "GET" and endpoint in (f"{auth}.login", _index_endpoint(appbuilder)):
        return redirect(url_for("portal.home"))
    return _error(403, gettext("This is not available to enterprise users."))


def _index_endpoint(appbuilder) -> str:
    index = appbuilder.indexview
    return f"{getattr(index, 'endpoint', None) or type(index).__name__}.index"


def _error(status, message):
    return render_template("portal/error.html", status=status, message=message), status


def public(view):
    """A portal page a visitor reaches without logging in (app/web_hooks.require_login honours the mark)."""
    view.public_endpoint = True
    return view


def enterprise(view):
    """The page of a logged-in enterprise user; `g.company` is the user's company."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not getattr(current_user, "is_authenticated", False):
            return redirect(url_for("portal.login", next=request.path))
        if not svc.is_portal_user(current_user):
            return _error(403, gettext("This area is for enterprise users. Staff work in the management system."))
        g.company = svc.company_of(current_user)
        return view(*args, **kwargs)

    return public(wrapped)  # the login check is ours: it sends visitors to the portal's own login


@bp.errorhandler(GuaranteeError)
def _portal_error(ex):
    from app.extensions import db

    db.session.rollback()
    return _error(ex.status, ex.message)


@bp.errorhandler(404)
def _portal_404(ex):
    return _error(404, gettext("The page or record does not exist."))


# --- login, registration ----------------------------------------------------------------------------------

def _safe_next(value) -> str:
    value = value or ""
    return value if value.startswith("/portal/") and not value.startswith("//") else url_for("portal.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The staff login's checks: lockout and login log (security manager), the same rate limit (below)."""
    from app.extensions import appbuilder

    if getattr(current_user, "is_authenticated", False):
        return _already_logged_in()
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        user = appbuilder.sm.auth_user_db(username, request.form.get("password") or "")
        if user is not None and svc.is_portal_user(user):
            login_user(user, remember=False)
            return redirect(_safe_next(request.args.get("next")))
        until = g.pop("login_locked_until", None)
        if until is not None:
            from app.security import lock_message

            flash(lock_message(until), "danger")
        else:
            flash(gettext("Wrong user name or password."), "danger")
    return render_template("portal/login.html", username=username)


def _already_logged_in():
    if svc.is_portal_user(current_user):
        return redirect(url_for("portal.home"))
    return _error(403, gettext("This area is for enterprise users. Staff work in the management system."))


@bp.route("/logout")
@public
def logout():
    if svc.is_portal_user(current_user):  # a staff session is ended by the staff logout only
        from app.extensions import appbuilder

        appbuilder.sm.on_user_logout(current_user)  # the login log, like the staff logout
        logout_user()
    return redirect(url_for("portal.login"))


REGISTER_FIELDS = ("name", "credit_code", "contact_name", "contact_phone", "email", "username")


@bp.route("/register", methods=["GET", "POST"], endpoint="register")
@public
def register_company():
    from app.extensions import db

    if getattr(current_user, "is_authenticated", False):
        return _already_logged_in()
    values, error = {}, None
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in REGISTER_FIELDS}
        try:
            svc.register({**values, "password": request.form.get("password"), "confirm": request.form.get("confirm")})
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            error = ex
        else:
            flash(gettext("Registration received. You can log in; we will verify your company shortly."), "success")
            return redirect(url_for("portal.login"))
    from app.services import settings

    return render_template("portal/register.html", values=values, error=error, resubmit=False,
                           min_length=settings.get("password_min_length"))


# --- the enterprise area --------------------------------------------------------------------------------

@bp.route("/")
@enterprise
def home():
    company = g.company
    needs, notice_rows = [], []
    if company.status == "verified":
        needs = svc.needs_of(company)
    notice_rows = svc.notices(company)
    return render_template("portal/home.html", company=company, needs=needs, notices=notice_rows,
                           status_label=str(svc.COMPANY_STATUS_LABELS[company.status]), stage=svc.public_stage_label,
                           stage_key=svc.public_stage)


@bp.route("/resubmit", methods=["GET", "POST"])
@enterprise
def resubmit():
    from app.extensions import db

    company, error = g.company, None
    values = {k: getattr(company, k) for k in REGISTER_FIELDS if k != "username"}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in REGISTER_FIELDS if k != "username"}
        try:
            svc.resubmit(company, values)
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            error = ex
        else:
            flash(gettext("Sent again for verification."), "success")
            return redirect(url_for("portal.home"))
    return render_template("portal/register.html", values=values, error=error, resubmit=True)


NEED_FIELDS = ("product_id", "bank_id", "amount", "term_months", "purpose", "repayment_method", "measure_kind",
               "measure_description", "measure_value")


@bp.route("/needs/new", methods=["GET", "POST"])
@enterprise
def need_new():
    from app.extensions import db
    from app.services.guarantees import REPAYMENT_METHODS

    company = g.company
    svc.require_verified(company)
    values, error = {}, None
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in NEED_FIELDS}
        try:
            need = svc.submit_need(company, values)
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            error = ex
        else:
            failed = _store_files(company, need, request.files.getlist("files"))
            if failed:
                flash(gettext("Your need was sent, but these files were not accepted: %(files)s. Upload them again "
                              "on this page.", files="; ".join(failed)), "warning")
            else:
                flash(gettext("Your need was sent to your account manager."), "success")
            return redirect(url_for("portal.need_show", need_id=need.id))
    products, banks = svc.choices()
    return render_template("portal/need_form.html", values=values, error=error, products=products, banks=banks,
                           repayment_methods=REPAYMENT_METHODS, counter_kinds=svc.counter_kind_choices(),
                           accept=_accept())


def _accept() -> str:
    from app.services.attachments import accept_attribute

    return accept_attribute()


def _store_files(company, need, files) -> list[str]:
    failed = []
    for storage in files:
        if storage is None or not storage.filename:
            continue
        try:
            svc.upload_document(company, need, storage.stream, storage.filename)
        except GuaranteeError as ex:
            failed.append(f"{storage.filename}: {ex.message}")
    return failed


@bp.route("/needs/<need_id>")
@enterprise
def need_show(need_id):
    company = g.company
    svc.require_verified(company)
    need = svc.need_of(company, need_id)
    return render_template("portal/need.html", need=need, stage=svc.public_stage_label(need.guarantee),
                           stage_key=svc.public_stage(need.guarantee),
                           documents=svc.documents_of(need), letters=svc.letters_of(need), accept=_accept())


@bp.route("/needs/<need_id>/upload", methods=["POST"])
@enterprise
def need_upload(need_id):
    company = g.company
    svc.require_verified(company)
    need = svc.need_of(company, need_id)
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash(gettext("Choose a file to upload."), "warning")
    else:
        failed = _store_files(company, need, files)
        for message in failed:
            flash(message, "danger")
        if not failed:
            flash(gettext("Documents uploaded."), "success")
    return redirect(url_for("portal.need_show", need_id=need.id))


@bp.route("/needs/<need_id>/letters/<doc_type>")
@enterprise
def letter(need_id, doc_type):
    fmt = "docx" if request.args.get("format") == "docx" else "pdf"
    data, name = svc.render_letter(g.company, need_id, doc_type, fmt)
    mimetype = "application/pdf" if fmt == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    from urllib.parse import quote

    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/margins")
@enterprise
def margins():
    company = g.company
    svc.require_verified(company)
    return render_template("portal/margins.html", data=svc.margins(company))


# --- staff: verification and accepting needs ----------------------------------------------------------------

class PortalReviewView(BaseView):
    route_base = "/portalreview"
    default_view = "index"
    class_permission_name = P.PORTAL_REVIEW
    method_permission_name = {"index": P.READ, "need": P.READ, "approve": P.RUN, "reject": P.RUN,
                              "accept": P.RUN, "request_documents": P.RUN}
    base_permissions = [P.can(P.READ), P.can(P.RUN)]

    def _may_run(self) -> bool:
        return self.appbuilder.sm.has_access(P.can(P.RUN), P.PORTAL_REVIEW)

    @expose("/")
    @has_access
    def index(self):
        return self.render_template("portal_review/index.html", title=gettext("Online applications"),
                                    pending=svc.pending_registrations(), decided=svc.recent_registrations(),
                                    needs=svc.staff_needs(), may_run=self._may_run(),
                                    status_labels=svc.COMPANY_STATUS_LABELS, stage_label=_stage_label)

    def _decide(self, operation, pk, *args, ok_message):
        from app.extensions import db

        try:
            operation(pk, g.user.id, *args)
            db.session.commit()
            flash(ok_message, "success")
        except GuaranteeError as ex:
            db.session.rollback()
            flash(ex.message, "danger")

    @expose("/company/<pk>/approve", methods=["POST"])
    @has_access
    def approve(self, pk):
        self._decide(svc.approve_registration, pk, ok_message=gettext("Registration verified."))
        return redirect(url_for("PortalReviewView.index"))

    @expose("/company/<pk>/reject", methods=["POST"])
    @has_access
    def reject(self, pk):
        self._decide(svc.reject_registration, pk, request.form.get("reason"),
                     ok_message=gettext("Registration turned down."))
        return redirect(url_for("PortalReviewView.index"))

    @expose("/need/<pk>")
    @has_access
    def need(self, pk):
        need = svc.staff_need(pk)
        return self.render_template("portal_review/need.html", title=gettext("Online application"), need=need,
                                    documents=svc.documents_of(need), rating=svc.risk_assessment(need.customer_id),
                                    may_run=self._may_run(), stage_label=_stage_label,
                                    public_stage=svc.public_stage_label(need.guarantee))

    @expose("/need/<pk>/accept", methods=["POST"])
    @has_access
    def accept(self, pk):
        self._decide(svc.accept_need, pk, ok_message=gettext("Accepted: the application is submitted."))
        return redirect(url_for("PortalReviewView.need", pk=pk))

    @expose("/need/<pk>/request", methods=["POST"])
    @has_access
    def request_documents(self, pk):
        self._decide(svc.request_documents, pk, request.form.get("message"),
                     ok_message=gettext("The company was asked for the documents."))
        return redirect(url_for("PortalReviewView.need", pk=pk))


def _stage_label(guarantee) -> str:
    from app.services.guarantees import STATUS_LABELS, stage_label

    if guarantee.status != "active":
        return str(STATUS_LABELS.get(guarantee.status, guarantee.status))
    return stage_label(guarantee.stage)


def register(appbuilder):
    from views.products import BUSINESS_MENU

    from flask import current_app

    app = current_app._get_current_object()
    app.register_blueprint(bp)
    app.before_request(portal_guard)
    limiter = getattr(appbuilder.sm, "limiter", None)
    if appbuilder.sm.is_auth_limited and limiter is not None:
        # The staff login's rate limit, on the portal's login form too.
        app.view_functions["portal.login"] = limiter.limit(appbuilder.sm.auth_rate_limit, methods=["POST"])(login)
    appbuilder.add_view(PortalReviewView, "PortalReview", label=MENU_LABEL, icon="fa-globe", **BUSINESS_MENU)
