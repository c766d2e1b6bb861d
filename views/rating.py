"""评级授信 (issue 6: RAT-1, RAT-2, RAT-4): scoring models with their indicators and grades (screens), rating a
customer (a custom page: score, breakdown, save, review through the approval engine), rating history and the
re-rating reminders, and batch re-rating with its review. Every rule lives in app/services/rating*.py."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterNotEqual
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import or_, select
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app import permissions as P
from app.errors import GuaranteeError
from app.extensions import db
from app.services import rating as R
from app.services import rating_batch as B
from app.services.statements import ITEMS
from models.rating import Rating, RatingBatch, RatingGrade, RatingIndicator, RatingModel
from views.base import BaseApi, BaseModelView, SafeInterface
from views.labels import YES_NO, choice_label

MENU = dict(category="Rating", category_label=_l("Rating and credit"), category_icon="fa-star-half-o")

CUSTOMER_KINDS = {"corporate": _l("Corporate"), "individual": _l("Individual")}
MISSING_POLICIES = {"zero": _l("Score 0"), "default": _l("Score the set default")}
INDICATOR_KINDS = {"quantitative": _l("Quantitative (financial)"), "qualitative": _l("Qualitative (non-financial)")}
RULES = {"bands": _l("Value bands"), "linear": _l("Linear between bounds")}
DIRECTIONS = {"higher": _l("Higher is better"), "lower": _l("Lower is better")}
LIMIT_BASES = {"none": _l("No limit"), "net_assets": _l("Multiple of net assets"), "fixed": _l("Fixed amount")}
BATCH_STATUSES = {"running": _l("Running"), "pending": _l("Waiting for review"), "accepted": _l("Accepted"),
                  "discarded": _l("Discarded"), "failed": _l("Failed")}
SCOPES = {"all": _l("All customers"), "changed": _l("Customers whose data changed")}


def _select(label, choices, required=True, description=None):
    return SelectField(label, widget=Select2Widget(), description=description or "",
                       validators=[DataRequired()] if required else [Optional()],
                       choices=lambda: [(k, str(v)) for k, v in choices.items()])


def _formula_help():
    codes = "; ".join(f"{item.code} {item.label}" for item in ITEMS)
    return gettext("Arithmetic (+ - * / and brackets) over statement item codes; prev.code is the earlier period; "
                   "functions abs, min, max, avg. Example: total_liabilities / total_assets. Items: %(codes)s",
                   codes=codes)


MODEL_LABELS = {
    "code": _l("Model code"), "name": _l("Model name"), "version": _l("Version"),
    "customer_kind": _l("Customer kind"), "industry_codes": _l("Industries (codes)"),
    "enterprise_sizes": _l("Enterprise sizes (codes)"), "active": _l("Active"),
    "missing_policy": _l("Missing data or division by zero"), "missing_points": _l("Default points"),
    "description": _l("Description"), "indicators": _l("Indicators"), "grades": _l("Grades"),
    "created_at": _l("Created at"), "updated_at": _l("Updated at"),
}
INDICATOR_LABELS = {
    "model": _l("Scoring model"), "code": _l("Indicator code"), "name": _l("Indicator name"), "kind": _l("Kind"),
    "position": _l("Order"), "weight": _l("Weight (%)"), "formula": _l("Formula"), "rule": _l("Scoring rule"),
    "direction": _l("Direction"), "bands": _l("Bands"), "lower": _l("Lower bound"), "upper": _l("Upper bound"),
    "question": _l("Question"), "options": _l("Answers and points"),
}
GRADE_LABELS = {
    "model": _l("Scoring model"), "grade": _l("Grade"), "min_score": _l("Minimum score"),
    "limit_basis": _l("Credit-limit rule"), "limit_multiple": _l("Multiple of net assets"),
    "limit_cap": _l("Limit or cap (yuan)"), "description": _l("Description"),
}


class RatingIndicatorView(BaseModelView):
    datamodel = SafeInterface(RatingIndicator)
    class_permission_name = P.RATING_MODEL
    list_title, show_title = _l("Rating indicators"), _l("Rating indicator")
    add_title, edit_title = _l("Add indicator"), _l("Edit indicator")
    list_columns = ["model", "position", "code", "name", "kind", "weight", "formula", "rule", "direction"]
    order_columns = ["position", "code", "name", "kind", "weight"]
    search_columns = ["model", "code", "name", "kind"]
    form_columns = ["model", "position", "code", "name", "kind", "weight", "formula", "rule", "direction", "bands",
                    "lower", "upper", "question", "options"]
    add_columns = edit_columns = show_columns = form_columns
    base_order = ("position", "asc")
    label_columns = INDICATOR_LABELS
    formatters_columns = {"kind": choice_label(INDICATOR_KINDS), "rule": choice_label(RULES),
                          "direction": choice_label(DIRECTIONS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": _select(INDICATOR_LABELS["kind"], INDICATOR_KINDS),
        "rule": _select(INDICATOR_LABELS["rule"], RULES, required=False),
        "direction": _select(INDICATOR_LABELS["direction"], DIRECTIONS, required=False),
    }
    description_columns = {
        "weight": _l("Share of the total score in percent; the indicator's 0–100 points × weight ÷ 100 is its "
                     "contribution."),
        "bands": _l("Quantitative, value bands: one band a line, lower~upper=points (lower ≤ value < upper; a bound "
                    "may be blank), e.g. 0.4~0.55=80."),
        "lower": _l("Linear rule: the value that scores 0 (higher is better) or 100 (lower is better)."),
        "upper": _l("Linear rule: the value that scores 100 (higher is better) or 0 (lower is better)."),
        "options": _l("Qualitative: one answer a line, answer=points (0–100), e.g. More than 10 years=100."),
    }
    validators = (R.validate_indicator,)
    delete_validators = (R.check_child_delete,)

    def _init_properties(self):
        super()._init_properties()
        self.description_columns = {**self.description_columns, "formula": _FormulaHelp()}


class _FormulaHelp:
    """Lazy description: the catalogue of item codes in the user's language."""

    def __str__(self):
        return _formula_help()

    def __html__(self):
        from markupsafe import escape

        return str(escape(str(self)))


class RatingGradeView(BaseModelView):
    datamodel = SafeInterface(RatingGrade)
    class_permission_name = P.RATING_MODEL
    list_title, show_title = _l("Grades"), _l("Grade")
    add_title, edit_title = _l("Add grade"), _l("Edit grade")
    list_columns = ["model", "grade", "min_score", "limit_basis", "limit_multiple", "limit_cap"]
    order_columns = ["grade", "min_score"]
    search_columns = ["model", "grade"]
    add_columns = edit_columns = show_columns = ["model", "grade", "min_score", "limit_basis", "limit_multiple",
                                                 "limit_cap", "description"]
    base_order = ("min_score", "desc")
    label_columns = GRADE_LABELS
    formatters_columns = {"limit_basis": choice_label(LIMIT_BASES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "limit_basis": _select(GRADE_LABELS["limit_basis"], LIMIT_BASES)}
    description_columns = {
        "min_score": _l("The total reaches this grade at this score and above."),
        "limit_cap": _l("Fixed rule: the limit. Multiple of net assets: the cap (blank: no cap)."),
    }
    validators = (R.validate_grade,)
    delete_validators = (R.check_child_delete,)


class RatingModelView(BaseModelView):
    datamodel = SafeInterface(RatingModel)
    class_permission_name = P.RATING_MODEL
    list_title, show_title = _l("Scoring models"), _l("Scoring model")
    add_title, edit_title = _l("Add scoring model"), _l("Edit scoring model")
    list_columns = ["code", "name", "version", "customer_kind", "industry_codes", "enterprise_sizes", "active"]
    order_columns = ["code", "name", "version", "customer_kind", "active"]
    search_columns = ["code", "name", "customer_kind", "active"]
    add_columns = edit_columns = ["code", "name", "customer_kind", "industry_codes", "enterprise_sizes",
                                  "missing_policy", "missing_points", "active", "description"]
    show_columns = ["code", "name", "version", "customer_kind", "industry_codes", "enterprise_sizes",
                    "missing_policy", "missing_points", "active", "description", "created_at", "updated_at"]
    base_order = ("code", "asc")
    label_columns = MODEL_LABELS
    formatters_columns = {"customer_kind": choice_label(CUSTOMER_KINDS), "active": choice_label(YES_NO),
                          "missing_policy": choice_label(MISSING_POLICIES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "customer_kind": _select(MODEL_LABELS["customer_kind"], CUSTOMER_KINDS),
        "missing_policy": _select(MODEL_LABELS["missing_policy"], MISSING_POLICIES),
    }
    description_columns = {
        "industry_codes": _l("Corporate models only: industry codes (GB/T 4754 sections) separated by commas; blank "
                             "for every industry."),
        "enterprise_sizes": _l("Corporate models only: L, M, S, XS separated by commas; blank for every size."),
        "active": _l("Editing a version that ratings used makes a new version; the ratings keep theirs."),
    }
    related_views = [RatingIndicatorView, RatingGradeView]
    validators = (R.validate_model,)
    delete_validators = (R.check_model_delete,)


# --- rating a customer ---------------------------------------------------------------------------------------

def _commit(action, success_message=None):
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


def _can(permission, resource) -> bool:
    from app.extensions import appbuilder

    return appbuilder.sm.has_access(permission, resource)


def _scoped(query):
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    return apply_scope(query, Customer)


class RatingView(BaseView):
    """Rating of one customer (RAT-2): pick the model, answer, see the breakdown, save, submit, history."""

    route_base = "/rating"
    default_view = "index"
    class_permission_name = P.RATING
    base_permissions = [P.can(P.READ), P.can(P.ADD)]
    method_permission_name = {"index": P.READ, "customer": P.READ, "show": P.READ, "rate": P.ADD, "submit": P.ADD}

    @expose("/")
    @has_access
    def index(self):
        from models.customers import Customer

        q = (request.args.get("q") or "").strip()[:50]
        found = []
        if q:
            like = f"%{q}%"
            found = db.session.execute(_scoped(select(Customer).where(or_(Customer.name.like(like),
                                                                           Customer.code.like(like))))
                                       .order_by(Customer.code).limit(20)).scalars().all()
        recent = db.session.execute(_scoped(select(Rating).join(Customer, Customer.id == Rating.customer_id)
                                            .where(Rating.status != "discarded")).order_by(Rating.id.desc())
                                    .limit(20)).scalars().all()
        return self.render_template("rating/index.html", title=gettext("Customer ratings"), q=q, found=found,
                                    recent=recent, due=R.due_for_rerating(), statuses=R.STATUS_LABELS,
                                    due_days=R.DUE_DAYS, today=R._today())

    @expose("/customer/<int:customer_id>")
    @has_access
    def customer(self, customer_id):
        try:
            customer = R._customer(customer_id)
        except GuaranteeError:
            abort(404)
        models = R.applicable_models(customer)
        model_id = request.args.get("model_id", type=int) or (models[0].id if models else None)
        model = next((m for m in models if m.id == model_id), None)
        answers = {k[2:]: v for k, v in request.args.items() if k.startswith("a_")} or R.carried_answers(customer.id)
        result = R.score_customer(customer, model, answers) if model is not None else None
        return self.render_template(
            "rating/customer.html", title=gettext("Rate %(name)s", name=customer.name), customer=customer,
            models=models, model=model, answers={k: str(v) for k, v in answers.items()}, result=result,
            history=R.history(customer.id), statuses=R.STATUS_LABELS, reason_text=R.reason_text,
            parse_options=R.parse_options, can_rate=_can(P.can(P.ADD), P.RATING), current=R.current_rating(customer.id))

    @expose("/rate/<int:customer_id>", methods=["POST"])
    @has_access
    def rate(self, customer_id):
        answers = {k[2:]: v for k, v in request.form.items() if k.startswith("a_")}
        rating = _commit(lambda: R.rate_customer(customer_id, request.form.get("model_id", type=int), answers,
                                                 g.user.id, request.form.get("note")), _l("The rating is saved."))
        if rating is None:
            return redirect(url_for("RatingView.customer", customer_id=customer_id,
                                    model_id=request.form.get("model_id"), **{f"a_{k}": v for k, v in answers.items()}))
        return redirect(url_for("RatingView.show", rating_id=rating.id))

    @expose("/show/<int:rating_id>")
    @has_access
    def show(self, rating_id):
        try:
            rating = R.get_rating(rating_id)
        except GuaranteeError:
            abort(404)
        return self.render_template(
            "rating/show.html", title=gettext("Rating of %(name)s", name=rating.customer.name), rating=rating,
            lines=R.breakdown_lines(rating),
            statuses=R.STATUS_LABELS, reason_text=R.reason_text, limit=R.proposed_limit(rating),
            grade_row=R.grade_row(rating), limit_bases=LIMIT_BASES,
            can_submit=rating.status == "draft" and _can(P.can(P.ADD), P.RATING))

    @expose("/submit/<int:rating_id>", methods=["POST"])
    @has_access
    def submit(self, rating_id):
        _commit(lambda: R.submit_rating(rating_id, g.user.id, request.form.get("comment", "")),
                _l("The rating is submitted for review."))
        return redirect(url_for("RatingView.show", rating_id=rating_id))


class CustomerRatingsTab(BaseModelView):
    """评级记录: the tab of the customer pages listing the customer's ratings (read only; each opens its page with
    the breakdown). Rating and reviewing happen on the rating page and in the approval engine."""

    route_base = "/customerratings"
    datamodel = SafeInterface(Rating)  # data scope: who sees the customer sees its ratings
    class_permission_name = P.RATING
    base_permissions = [P.can(P.READ)]
    list_title = _l("Ratings")
    list_columns = ["rated_on", "model", "score", "grade", "status", "valid_from", "valid_to", "is_current"]
    label_columns = {"rated_on": _l("Rated on"), "model": _l("Scoring model"), "score": _l("Score"),
                     "grade": _l("Grade"), "status": _l("Status"), "valid_from": _l("Valid from"),
                     "valid_to": _l("Valid to"), "is_current": _l("Current"), "customer": _l("Customer")}
    formatters_columns = {"status": choice_label(R.STATUS_LABELS), "is_current": choice_label(YES_NO)}
    base_filters = [["status", FilterNotEqual, "discarded"]]
    base_order = ("id", "desc")
    page_size = 10

    include_route_methods = {"list", "show"}  # read only: ratings are made on the rating page

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):  # the rating's own page has the breakdown
        if self.datamodel.get(pk) is None:  # unknown, or outside the user's data scope
            abort(404)
        return redirect(url_for("RatingView.show", rating_id=int(pk)))


CUSTOMER_TABS = [CustomerRatingsTab]


# --- batch re-rating -----------------------------------------------------------------------------------------

class RatingBatchView(BaseView):
    """Batch re-rating (RAT-4): start, watch the progress, review and accept or discard."""

    route_base = "/ratingbatch"
    default_view = "index"
    class_permission_name = P.RATING_BATCH
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"index": P.READ, "show": P.READ, "start": P.RUN, "accept": P.RUN, "discard": P.RUN}

    @expose("/")
    @has_access
    def index(self):
        batches = db.session.execute(select(RatingBatch).order_by(RatingBatch.id.desc()).limit(30)).scalars().all()
        return self.render_template("rating/batches.html", title=gettext("Batch re-rating"), batches=batches,
                                    statuses=BATCH_STATUSES, scopes=SCOPES, can_run=_can(P.can(P.RUN), P.RATING_BATCH))

    @expose("/show/<int:batch_id>")
    @has_access
    def show(self, batch_id):
        batch = db.session.get(RatingBatch, batch_id) or abort(404)
        rows = db.session.execute(select(Rating).where(Rating.batch_id == batch.id).order_by(Rating.id)
                                  .limit(50)).scalars().all()
        return self.render_template("rating/batch.html", title=gettext("Batch %(id)s", id=batch.id), batch=batch,
                                    rows=rows, summary=B.summary(batch.id), statuses=BATCH_STATUSES, scopes=SCOPES,
                                    can_run=_can(P.can(P.RUN), P.RATING_BATCH))

    @expose("/start", methods=["POST"])
    @has_access
    def start(self):
        batch = _commit(lambda: B.start(request.form.get("scope", ""), g.user.id),
                        _l("The batch re-rating has started."))
        return redirect(url_for("RatingBatchView.show", batch_id=batch.id) if batch
                        else url_for("RatingBatchView.index"))

    @expose("/accept/<int:batch_id>", methods=["POST"])
    @has_access
    def accept(self, batch_id):
        _commit(lambda: B.accept(batch_id, g.user.id), _l("The batch is accepted: its grades are now current."))
        return redirect(url_for("RatingBatchView.show", batch_id=batch_id))

    @expose("/discard/<int:batch_id>", methods=["POST"])
    @has_access
    def discard(self, batch_id):
        _commit(lambda: B.discard(batch_id, g.user.id), _l("The batch is discarded."))
        return redirect(url_for("RatingBatchView.show", batch_id=batch_id))


# --- REST APIs: the screens' resources, columns and service checks ---------------------------------------------

class RatingModelApi(BaseApi):
    resource_name = "rating_model"
    datamodel = SafeInterface(RatingModel)
    class_permission_name = P.RATING_MODEL
    list_columns = ["id", "code", "name", "version", "customer_kind", "industry_codes", "enterprise_sizes", "active",
                    "missing_policy", "missing_points"]
    show_columns = list_columns + ["description", "created_at", "updated_at"]
    add_columns = edit_columns = ["code", "name", "customer_kind", "industry_codes", "enterprise_sizes",
                                  "missing_policy", "missing_points", "active", "description"]
    search_columns = ["code", "name", "customer_kind", "active"]
    order_columns = ["code", "name", "version", "customer_kind", "active"]
    base_order = ("code", "asc")
    validators = (R.validate_model,)
    delete_validators = (R.check_model_delete,)


class RatingIndicatorApi(BaseApi):
    resource_name = "rating_indicator"
    datamodel = SafeInterface(RatingIndicator)
    class_permission_name = P.RATING_MODEL
    list_columns = ["id", "model_id", "position", "code", "name", "kind", "weight", "formula", "rule", "direction",
                    "bands", "lower", "upper", "question", "options"]
    show_columns = list_columns
    add_columns = edit_columns = ["model", "position", "code", "name", "kind", "weight", "formula", "rule",
                                  "direction", "bands", "lower", "upper", "question", "options"]
    search_columns = ["model", "code", "name", "kind"]
    order_columns = ["position", "code", "name", "weight"]
    base_order = ("position", "asc")
    validators = (R.validate_indicator,)
    delete_validators = (R.check_child_delete,)


class RatingGradeApi(BaseApi):
    resource_name = "rating_grade"
    datamodel = SafeInterface(RatingGrade)
    class_permission_name = P.RATING_MODEL
    list_columns = ["id", "model_id", "grade", "min_score", "limit_basis", "limit_multiple", "limit_cap", "description"]
    show_columns = list_columns
    add_columns = edit_columns = ["model", "grade", "min_score", "limit_basis", "limit_multiple", "limit_cap",
                                  "description"]
    search_columns = ["model", "grade"]
    order_columns = ["grade", "min_score"]
    base_order = ("min_score", "desc")
    validators = (R.validate_grade,)
    delete_validators = (R.check_child_delete,)


class RatingApi(BaseApi):
    """Ratings, read only (rating, submitting and reviewing go through the rating page and the approval engine)."""

    resource_name = "rating"
    datamodel = SafeInterface(Rating)
    class_permission_name = P.RATING
    include_route_methods = {"get", "get_list", "info"}
    list_columns = ["id", "customer_id", "model_id", "batch_id", "status", "score", "grade", "rated_on", "valid_from",
                    "valid_to", "is_current", "net_assets"]
    show_columns = list_columns + ["breakdown", "answers", "statement_id", "period_end", "note", "created_at"]
    search_columns = ["customer_id", "status", "grade", "is_current", "valid_to"]
    order_columns = ["id", "rated_on", "valid_to", "score", "grade"]
    base_order = ("id", "desc")


def register(appbuilder):
    """Menu 评级授信: rating, batch re-rating, scoring models (indicators and grades open from a model)."""
    R.register_approval()
    add = appbuilder.add_view
    add(RatingView, "CustomerRating", label=_l("Customer ratings"), icon="fa-star", **MENU)
    add(RatingBatchView, "RatingBatch", label=_l("Batch re-rating"), icon="fa-tasks", **MENU)
    add(RatingModelView, "RatingModels", label=_l("Scoring models"), icon="fa-sliders", **MENU)
    appbuilder.add_view_no_menu(RatingIndicatorView)
    appbuilder.add_view_no_menu(RatingGradeView)
    appbuilder.add_view_no_menu(CustomerRatingsTab)  # tab 评级记录 of the customer pages
    for api in (RatingModelApi, RatingIndicatorApi, RatingGradeApi, RatingApi):
        appbuilder.add_api(api)
