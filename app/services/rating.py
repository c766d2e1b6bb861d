"""The rating scorecard engine (issue 6: RAT-1, RAT-2, RAT-4).

- Models (`RatingModel` versions) hold indicators and grade bands; every rule of them is checked here
  (validate_model / validate_indicator / validate_grade), so screens and any API meet the same checks.
- A model version that ratings use is never changed: an edit makes a new version (`prepare_edit`,
  `prepare_child_add`), a rating keeps the version it used.
- Scoring (`score_customer`) is float arithmetic in a fixed order; the batch (app/services/rating_batch.py)
  does the same operations column-wise, so both give the identical score.
  An indicator's points are 0–100; its contribution is points × weight ÷ 100; the total is the sum, rounded
  half up to cents; the grade is the first band (highest minimum first) the total reaches.
- A rating is saved as a draft, submitted to the approval engine (kind "rating"), and becomes the customer's
  current rating when approved: valid for one year from the approval's business date.

Public entry points: applicable_models, validate_model / validate_indicator / validate_grade, parse_bands,
parse_options, score_customer, preview, rate_customer, submit_rating, current_rating, history, breakdown_lines,
due_for_rerating, proposed_limit, prepare_edit, prepare_child, check_child_delete, check_model_delete,
new_version, register_approval, ensure_reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import exists, func, inspect as sa_inspect, select

from app.errors import Conflict, NotFound, ValidationError
from app.services import rating_formula as F
from models.rating import (
    DIRECTIONS, GRADES, INDICATOR_KINDS, LIMIT_BASES, MISSING_POLICIES, RULES, Rating, RatingGrade, RatingIndicator,
    RatingModel,
)

CENT = Decimal("0.01")
BOUND_LIMIT = Decimal("1e12")  # linear bounds: Numeric(18, 6)
MAX_LIMIT = Decimal("9999999999999999.99")  # Numeric(18, 2)
KIND = "rating"  # the approval kind
VALID_YEARS = 1
DUE_DAYS = 30
REASONS = {F.MISSING: _l("missing data"), F.DIV0: _l("division by zero"), "unanswered": _l("not answered"),
           "no_band": _l("outside every band")}
STATUS_LABELS = {"draft": _l("Draft"), "pending": _l("In review"), "approved": _l("Approved"),
                 "rejected": _l("Rejected"), "batch": _l("Batch result, not accepted"), "discarded": _l("Discarded")}


def _session():
    from app.extensions import db

    return db.session


def _today():
    from app.services import business_date

    return business_date.today()


def _dec(value, field_name, label) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("%(field)s: \"%(value)s\" is not a number.", field=label, value=value),
                              field_name) from None
    if not number.is_finite():
        raise ValidationError(gettext("%(field)s: \"%(value)s\" is not a number.", field=label, value=value),
                              field_name)
    return number


# --- bands and options (text a screen edits, one entry a line) -----------------------------------------------

def parse_bands(text) -> list[tuple[float | None, float | None, float]]:
    """"lower~upper=points" lines (lower ≤ value < upper; a blank bound is open) → [(lower, upper, points)]."""
    bands = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().replace("～", "~").replace("＝", "=").replace("：", "=").replace(":", "=")
        if not line:
            continue
        if "=" not in line or "~" not in line.split("=", 1)[0]:
            raise ValidationError(gettext("Band line %(n)s \"%(text)s\": write it as lower~upper=points, "
                                          "e.g. 0.5~0.7=60 (a bound may be left blank).", n=number, text=raw.strip()),
                                  "bands")
        span, points = line.split("=", 1)
        lower, upper = (part.strip() for part in span.split("~", 1))
        label = gettext("Band line %(n)s", n=number)
        lo = float(_dec(lower, "bands", label)) if lower else None
        hi = float(_dec(upper, "bands", label)) if upper else None
        pts = float(_dec(points, "bands", label))
        if lo is not None and hi is not None and lo >= hi:
            raise ValidationError(gettext("Band line %(n)s: the lower bound must be below the upper bound.",
                                          n=number), "bands")
        if not 0 <= pts <= 100:
            raise ValidationError(gettext("Band line %(n)s: points go from 0 to 100.", n=number), "bands")
        bands.append((lo, hi, pts))
    return bands


def parse_options(text) -> list[tuple[str, float]]:
    """"text=points" lines → [(text, points)]."""
    options = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().replace("＝", "=")
        if not line:
            continue
        if "=" not in line:
            raise ValidationError(gettext("Option line %(n)s \"%(text)s\": write it as answer=points, e.g. "
                                          "More than 10 years=100.", n=number, text=raw.strip()), "options")
        answer, points = line.rsplit("=", 1)
        pts = float(_dec(points, "options", gettext("Option line %(n)s", n=number)))
        if not answer.strip():
            raise ValidationError(gettext("Option line %(n)s: enter the answer's text.", n=number), "options")
        if not 0 <= pts <= 100:
            raise ValidationError(gettext("Option line %(n)s: points go from 0 to 100.", n=number), "options")
        options.append((answer.strip(), pts))
    return options


# --- checks (screens and APIs run these before a save) --------------------------------------------------------

def validate_model(model: RatingModel) -> None:
    model.code = (model.code or "").strip()
    if not model.code:
        raise ValidationError(gettext("Enter the model code."), "code")
    if model.customer_kind not in ("corporate", "individual"):
        raise ValidationError(gettext("Choose the customer kind of the model."), "customer_kind")
    if model.missing_policy not in MISSING_POLICIES:
        raise ValidationError(gettext("Choose how missing data is scored."), "missing_policy")
    if (model.missing_policy == "default" and model.missing_points is None) or (
            model.missing_points is not None and not 0 <= Decimal(model.missing_points) <= 100):
        raise ValidationError(gettext("Enter the points (0 to 100) given for missing data."), "missing_points")
    if model.customer_kind == "individual" and (model.industry_codes or model.enterprise_sizes):
        raise ValidationError(gettext("Industry and size filters apply to corporate models only."), "industry_codes")
    model.version = model.version or 1
    model.industry_codes = ",".join(_codes(model.industry_codes)) or None
    model.enterprise_sizes = ",".join(_codes(model.enterprise_sizes)) or None
    prepare_edit(model)


def validate_indicator(item: RatingIndicator) -> None:
    if item.model is None and item.model_id is None:
        raise ValidationError(gettext("Choose the model of the indicator."), "model")
    item.code = (item.code or "").strip()
    if not item.code:
        raise ValidationError(gettext("Enter the indicator code."), "code")
    if item.kind not in INDICATOR_KINDS:
        raise ValidationError(gettext("Choose quantitative or qualitative."), "kind")
    if item.weight is None or not 0 <= Decimal(item.weight) <= 100:
        raise ValidationError(gettext("The weight is a percentage from 0 to 100."), "weight")
    item.position = item.position or 0
    if not -1_000_000 < int(item.position) < 1_000_000:
        raise ValidationError(gettext("The order is a number below one million."), "position")
    _refuse_duplicate(item, "code", gettext("The model already has an indicator with the code %(code)s.",
                                            code=item.code))
    if item.kind == "quantitative":
        item.formula = (item.formula or "").strip()
        F.compile_formula(item.formula)  # FormulaError names the unknown item or what is not allowed
        if item.rule not in RULES:
            raise ValidationError(gettext("Choose the scoring rule: bands or linear."), "rule")
        if item.direction not in DIRECTIONS:
            raise ValidationError(gettext("Choose the direction: higher or lower is better."), "direction")
        if item.rule == "bands":
            if not parse_bands(item.bands):
                raise ValidationError(gettext("Enter at least one band."), "bands")
        elif item.lower is None or item.upper is None or Decimal(item.lower) >= Decimal(item.upper):
            raise ValidationError(gettext("A linear rule needs a lower bound below its upper bound."), "upper")
        for bound in ("lower", "upper"):  # Numeric(18, 6)
            if getattr(item, bound) is not None and abs(Decimal(getattr(item, bound))) >= BOUND_LIMIT:
                raise ValidationError(gettext("The bound is too large."), bound)
    else:
        if len(parse_options(item.options)) < 2:
            raise ValidationError(gettext("A qualitative indicator needs at least two answers."), "options")
        item.rule = item.rule or "bands"
        item.direction = item.direction or "higher"
    prepare_child(item)


def validate_grade(item: RatingGrade) -> None:
    if item.model is None and item.model_id is None:
        raise ValidationError(gettext("Choose the model of the grade."), "model")
    item.grade = (item.grade or "").strip().upper()
    if not item.grade:
        raise ValidationError(gettext("Enter the grade."), "grade")
    if item.min_score is None or not 0 <= Decimal(item.min_score) <= 100:
        raise ValidationError(gettext("The minimum score goes from 0 to 100."), "min_score")
    if item.limit_basis not in LIMIT_BASES:
        raise ValidationError(gettext("Choose the credit-limit rule."), "limit_basis")
    if item.limit_basis == "net_assets" and (item.limit_multiple is None or Decimal(item.limit_multiple) <= 0):
        raise ValidationError(gettext("Enter the multiple of net assets."), "limit_multiple")
    if item.limit_basis == "fixed" and (item.limit_cap is None or Decimal(item.limit_cap) <= 0):
        raise ValidationError(gettext("Enter the fixed credit limit."), "limit_cap")
    if item.limit_cap is not None and not 0 <= Decimal(item.limit_cap) <= MAX_LIMIT:
        raise ValidationError(gettext("The limit goes from 0 to 9,999,999,999,999,999.99 yuan."), "limit_cap")
    if item.limit_multiple is not None and not 0 <= Decimal(item.limit_multiple) <= 1000:
        raise ValidationError(gettext("The multiple of net assets goes from 0 to 1000."), "limit_multiple")
    _refuse_duplicate(item, "grade", gettext("The model already has the grade %(grade)s.", grade=item.grade))
    prepare_child(item)


def _refuse_duplicate(item, column: str, message: str) -> None:
    """A second indicator code / grade in one model version is refused before the database's unique index."""
    model_class = type(item)
    with _session().no_autoflush:
        model_id = item.model.id if item.model is not None else item.model_id
        if model_id is None:
            return
        other = _session().execute(select(model_class.id).where(
            model_class.model_id == model_id, getattr(model_class, column) == getattr(item, column),
            model_class.id != (item.id or 0)).limit(1)).scalar()
    if other is not None:
        raise ValidationError(message, column)


def _codes(text) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip()]


# --- versions --------------------------------------------------------------------------------------------

def model_in_use(model_id) -> bool:
    if model_id is None:
        return False
    return bool(_session().execute(select(exists().where(Rating.model_id == model_id))).scalar())


_COPY_SKIP = {"id", "model_id", "created_at", "updated_at", "created_by_id", "updated_by_id"}


def _columns(obj) -> list[str]:
    return [c.key for c in sa_inspect(type(obj)).column_attrs if c.key not in _COPY_SKIP]


def new_version(model: RatingModel, exclude=()) -> tuple[RatingModel, dict]:
    """Copy `model` (as stored) into the next version, active; the old version stops being offered.
    Returns (the copy, {id(old child): new child})."""
    session = _session()
    latest = session.execute(select(func.max(RatingModel.version)).where(RatingModel.code == model.code)).scalar()
    copy = RatingModel(**{key: getattr(model, key) for key in _columns(model)})
    copy.version, copy.active = (latest or model.version) + 1, True
    mapping = {}
    for child in list(model.indicators) + list(model.grades):
        if any(child is other for other in exclude):
            continue
        twin = type(child)(**{key: getattr(child, key) for key in _columns(child)})
        (copy.indicators if isinstance(child, RatingIndicator) else copy.grades).append(twin)
        mapping[id(child)] = twin
    model.active = False
    session.add(copy)
    return copy, mapping


def _restore(obj) -> dict:
    """Put the stored values back on `obj` and return the edited ones."""
    edited = {}
    state = sa_inspect(obj)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.deleted:
            edited[attr.key] = getattr(obj, attr.key)
            setattr(obj, attr.key, history.deleted[0])
    return edited


def prepare_edit(model: RatingModel) -> RatingModel:
    """Before saving edits of a model version: when ratings use it, the edits go to a new version instead."""
    with _session().no_autoflush:  # the pending edits must not reach the database before they are moved
        return _prepare_edit(model)


def _prepare_edit(model: RatingModel) -> RatingModel:
    if model.id is None or not model_in_use(model.id):
        return model
    edited = _restore(model)
    edited.pop("version", None)
    copy, _ = new_version(model)
    for key, value in edited.items():
        if key not in _COPY_SKIP and key != "active":
            setattr(copy, key, value)
    return copy


def prepare_child(item) -> object:
    """Before saving a new or edited indicator / grade: when its model version is in use, the change lands on
    a new version of the model (the rated version stays as it was)."""
    with _session().no_autoflush:  # the pending edits must not reach the database before they are moved
        return _prepare_child(item)


def _prepare_child(item) -> object:
    model = item.model if item.model is not None else _session().get(RatingModel, item.model_id)
    if not model_in_use(model.id):
        return item
    if item.id is None:  # a new child: the copy gets the model's children, then this one
        copy, _ = new_version(model, exclude=[item])
        item.model = copy
        return item
    edited = _restore(item)
    copy, mapping = new_version(model)
    twin = mapping[id(item)]
    for key, value in edited.items():
        if key not in _COPY_SKIP:
            setattr(twin, key, value)
    return twin


def check_child_delete(item) -> None:
    if model_in_use(item.model_id):
        raise ValidationError(gettext("Ratings use this model version, so it stays as it is: set the weight to 0 "
                                      "to drop the indicator (a new version is made)."))


def check_model_delete(model: RatingModel) -> None:
    if model_in_use(model.id):
        raise ValidationError(gettext("Ratings use this model version: untick Active instead of deleting it."))


# --- choosing a model ---------------------------------------------------------------------------------------

def applicable_models(customer) -> list[RatingModel]:
    """Active models for the customer's kind whose industry/size filters match; the most specific first."""
    rows = _session().execute(select(RatingModel).where(RatingModel.active.is_(True),
                                                        RatingModel.customer_kind == customer.kind)
                              .order_by(RatingModel.code, RatingModel.version.desc())).scalars().all()
    out = []
    for model in rows:
        industries, sizes = _codes(model.industry_codes), _codes(model.enterprise_sizes)
        if industries and customer.industry_code not in industries:
            continue
        if sizes and getattr(customer, "enterprise_size", None) not in sizes:
            continue
        out.append(model)
    return sorted(out, key=model_preference)


def model_preference(model: RatingModel):
    """The order models are preferred in (single and batch alike): the most specific first, then by code."""
    return (-(bool(model.industry_codes) + bool(model.enterprise_sizes)), model.code, -model.version, model.id)


# --- scoring -----------------------------------------------------------------------------------------------

@dataclass
class Line:
    code: str
    name: str
    kind: str
    weight: float
    value: float | None = None
    answer: int | None = None
    answer_text: str | None = None
    points: float = 0.0
    contribution: float = 0.0
    reason: str | None = None  # missing | div0 | unanswered | no_band

    def compact(self) -> list:
        """As stored in Rating.breakdown: [value, points, reason, answer] (names, weights and answers' texts
        come from the rating's model version, which never changes once used)."""
        return [self.value, self.points, self.reason, self.answer]


@dataclass
class Result:
    model: RatingModel
    lines: list[Line]
    score: Decimal
    grade: str
    statement_id: int | None = None
    period_end: date | None = None
    net_assets: Decimal | None = None
    answers: dict = field(default_factory=dict)


def band_points(value: float, bands) -> float | None:
    for lo, hi, pts in bands:
        if (lo is None or value >= lo) and (hi is None or value < hi):
            return pts
    return None


def linear_points(value: float, lower: float, upper: float, direction: str) -> float:
    if direction == "higher":
        points = (value - lower) / (upper - lower) * 100.0
    else:
        points = (upper - value) / (upper - lower) * 100.0
    return min(max(points, 0.0), 100.0)


def missing_points(model) -> float:
    return float(model.missing_points) if model.missing_policy == "default" and model.missing_points is not None \
        else 0.0


def round_score(total: float) -> Decimal:
    """The total rounded half up to cents (from the float's shortest decimal form, the same in batch)."""
    return Decimal(repr(total)).quantize(CENT, rounding=ROUND_HALF_UP)


def grade_for(score: Decimal, model: RatingModel) -> str:
    for band in sorted(model.grades, key=lambda g: Decimal(g.min_score), reverse=True):
        if score >= Decimal(band.min_score):
            return band.grade
    return GRADES[-1] if not model.grades else sorted(model.grades, key=lambda g: Decimal(g.min_score))[0].grade


def statement_pair(customer_id) -> tuple:
    """(latest statement figures, the earlier one of the same period type or None); (None, None) without any."""
    from app.services.statements import statement_history

    latest = statement_history(customer_id, 1)
    if not latest:
        return None, None
    same = statement_history(customer_id, 2, period_type=latest[0].period_type)
    previous = next((s for s in same if s.period_end < latest[0].period_end), None)
    return latest[0], previous


def carried_answers(customer_id) -> dict:
    """The qualitative answers of the customer's current rating (reused when a rating gives none)."""
    current = current_rating(customer_id)
    return dict(current.answers or {}) if current is not None else {}


def score_customer(customer, model: RatingModel, answers: dict | None = None) -> Result:
    """Score one customer through `model`: quantitative indicators from the latest statements (and the earlier
    period), qualitative ones from `answers` {indicator code: option index} (None: the current rating's)."""
    if answers is None:
        answers = carried_answers(customer.id)
    latest, previous = statement_pair(customer.id) if customer.kind == "corporate" else (None, None)
    current_values = latest.values if latest else {}
    previous_values = previous.values if previous else {}
    lines, total, given = [], 0.0, {}
    fallback = missing_points(model)
    for ind in model.indicators:
        weight = float(ind.weight)
        line = Line(ind.code, ind.name, ind.kind, weight)
        if ind.kind == "quantitative":
            value, reason = F.evaluate(ind.formula, current_values, previous_values)
            if reason is not None:
                line.reason, line.points = reason, fallback
            else:
                line.value = value
                if ind.rule == "bands":
                    points = band_points(value, parse_bands(ind.bands))
                    line.points, line.reason = (0.0, "no_band") if points is None else (points, None)
                else:
                    line.points = linear_points(value, float(ind.lower), float(ind.upper), ind.direction)
        else:
            options = parse_options(ind.options)
            choice = _answer_index(answers.get(ind.code), options)
            if choice is None:
                line.reason, line.points = "unanswered", fallback
            else:
                given[ind.code] = choice
                line.answer, line.answer_text, line.points = choice, options[choice][0], options[choice][1]
        line.contribution = line.points * weight / 100.0
        total = total + line.contribution
        lines.append(line)
    score = round_score(total)
    net_assets = _net_assets(customer, current_values)
    return Result(model, lines, score, grade_for(score, model), latest.statement_id if latest else None,
                  latest.period_end if latest else None, net_assets, given)


def _answer_index(raw, options) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        index = int(raw)
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < len(options) else None


def _net_assets(customer, values) -> Decimal | None:
    if customer.kind == "corporate":
        value = values.get("total_equity")
        return Decimal(value).quantize(CENT) if value is not None else None
    if customer.total_assets is None:
        return None
    return (Decimal(customer.total_assets) - Decimal(customer.total_liabilities or 0)).quantize(CENT)


def breakdown_lines(rating: Rating) -> list[Line]:
    """The stored breakdown of a rating with the names, weights and answers of its model version."""
    lines = []
    for ind, row in zip(rating.model.indicators, rating.breakdown or []):
        value, points, reason, answer = (list(row) + [None] * 4)[:4]
        weight = float(ind.weight)
        line = Line(ind.code, ind.name, ind.kind, weight, value=value, answer=answer, points=points or 0.0,
                    reason=reason)
        line.contribution = line.points * weight / 100.0
        if answer is not None and ind.kind == "qualitative":
            options = parse_options(ind.options)
            line.answer_text = options[answer][0] if 0 <= answer < len(options) else None
        lines.append(line)
    return lines


def reason_text(reason) -> str:
    return str(REASONS.get(reason, reason or ""))


# --- ratings -----------------------------------------------------------------------------------------------

def _customer(customer_id):
    from app.services.data_scope import ensure_visible
    from models.customers import Customer

    customer = _session().get(Customer, customer_id) if customer_id is not None else None
    if customer is None:
        raise NotFound(gettext("The customer does not exist."))
    ensure_visible(customer)  # outside the user's data scope: like a missing customer
    return customer


def _model_for(customer, model_id) -> RatingModel:
    model = _session().get(RatingModel, model_id) if model_id else None
    if model is None:
        raise ValidationError(gettext("Choose the scoring model."), "model_id")
    if not model.active or model not in applicable_models(customer):
        raise ValidationError(gettext("The model %(model)s does not apply to this customer.", model=str(model)),
                              "model_id")
    return model


def preview(customer_id, model_id, answers: dict | None) -> Result:
    customer = _customer(customer_id)
    return score_customer(customer, _model_for(customer, model_id), answers)


def rate_customer(customer_id, model_id, answers: dict, user_id, note: str | None = None) -> Rating:
    """Save a draft rating (every qualitative question answered); the caller commits."""
    customer = _customer(customer_id)
    model = _model_for(customer, model_id)
    result = score_customer(customer, model, answers or {})
    unanswered = [line.name for line in result.lines if line.reason == "unanswered"]
    if unanswered:
        raise ValidationError(gettext("Answer every question: %(names)s", names="、".join(unanswered)), "answers")
    rating = Rating(customer_id=customer.id, model_id=model.id, status="draft", score=result.score,
                    grade=result.grade, breakdown=[line.compact() for line in result.lines], answers=result.answers,
                    statement_id=result.statement_id, period_end=result.period_end, net_assets=result.net_assets,
                    rated_on=_today(), is_current=False, note=(note or "").strip() or None,
                    owner_id=user_id, department_id=getattr(customer, "department_id", None))
    _session().add(rating)
    _session().flush()
    return rating


def get_rating(rating_id) -> Rating:
    rating = _session().get(Rating, rating_id) if rating_id else None
    if rating is None:
        raise NotFound(gettext("The rating does not exist."))
    _customer(rating.customer_id)
    return rating


def submit_rating(rating_id, user_id, comment: str = ""):
    """Send a draft to review (approval kind "rating"); the caller commits."""
    from app.services import approval

    rating = get_rating(rating_id)
    _session().execute(select(Rating.id).where(Rating.id == rating.id).with_for_update()).all()
    _session().refresh(rating)
    if rating.status != "draft":
        raise Conflict(gettext("Only a draft rating can be submitted for review."))
    rating.status = "pending"
    title = gettext("Rating of %(customer)s: %(grade)s (%(score)s)", customer=rating.customer.name,
                    grade=rating.grade, score=rating.score)
    return approval.submit(KIND, rating, user_id, comment=comment, title=title)


def on_decided(rating: Rating, outcome: str, instance) -> None:
    """The approval engine's verdict: approved → the customer's current rating; rejected; withdrawn → draft."""
    if outcome == "approved":
        make_current([rating], _today())
    elif outcome == "rejected":
        rating.status = "rejected"
    else:
        rating.status = "draft"


def valid_until(day: date) -> date:
    try:
        return day.replace(year=day.year + VALID_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + VALID_YEARS, day=28)


def make_current(ratings, day: date) -> None:
    from sqlalchemy import update

    customer_ids = [r.customer_id for r in ratings]
    _session().execute(update(Rating).where(Rating.customer_id.in_(customer_ids), Rating.is_current.is_(True))
                       .values(is_current=False).execution_options(synchronize_session="fetch"))
    for rating in ratings:
        rating.status, rating.is_current = "approved", True
        rating.valid_from, rating.valid_to = day, valid_until(day)


def current_rating(customer_id) -> Rating | None:
    return _session().execute(select(Rating).where(Rating.customer_id == customer_id, Rating.is_current.is_(True))
                              .order_by(Rating.id.desc()).limit(1)).scalar()


def history(customer_id) -> list[Rating]:
    return list(_session().execute(select(Rating).where(Rating.customer_id == customer_id,
                                                        Rating.status != "discarded")
                                   .order_by(Rating.id.desc())).scalars())


def due_query(days: int = DUE_DAYS, on: date | None = None):
    """Current ratings expiring within `days` (or already expired): the re-rating reminders."""
    limit = (on or _today()) + timedelta(days=days)
    return select(Rating).where(Rating.is_current.is_(True), Rating.valid_to <= limit).order_by(Rating.valid_to)


def due_for_rerating(days: int = DUE_DAYS, on: date | None = None) -> list[Rating]:
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    query = due_query(days, on).join(Customer, Customer.id == Rating.customer_id)
    return list(_session().execute(apply_scope(query, Customer)).scalars())


def grade_row(rating: Rating) -> RatingGrade | None:
    return next((g for g in rating.model.grades if g.grade == rating.grade), None)


def proposed_limit(rating: Rating) -> Decimal | None:
    """The credit limit the grade's rule proposes (RAT-3 builds on it): a multiple of net assets (capped when
    a cap is set; 0 when net assets are not positive) or a fixed amount; None when the grade gives none."""
    band = grade_row(rating) if rating is not None else None
    if band is None or band.limit_basis == "none":
        return None
    if band.limit_basis == "fixed":
        return Decimal(band.limit_cap).quantize(CENT)
    net = Decimal(rating.net_assets) if rating.net_assets is not None else Decimal(0)
    limit = max(net, Decimal(0)) * Decimal(band.limit_multiple)
    if band.limit_cap is not None:
        limit = min(limit, Decimal(band.limit_cap))
    return limit.quantize(CENT, rounding=ROUND_HALF_UP)


# --- approval engine and reference data -----------------------------------------------------------------------

def _url(rating):
    try:
        from flask import url_for

        return url_for("RatingView.show", rating_id=rating.id)
    except RuntimeError:  # outside a request
        return f"/rating/show/{rating.id}"


def register_approval() -> None:
    """Make ratings approvable (idempotent, no database access)."""
    from app.services import approval

    approval.register_kind(KIND, label=_l("Customer rating"), model=Rating,
                           attributes=lambda r: {"customer_grade": r.grade}, on_decided=on_decided, url=_url)


def ensure_reference() -> None:
    """Default models and the default review flow (a single 风控专员 step); idempotent, runs at every start."""
    from app.services import approval
    from app.services.rating_reference import ensure_default_models

    register_approval()
    ensure_default_models()
    approval.ensure_default_flow(KIND, "客户评级审核", [
        {"name": "风控审核评级", "mode": "single", "post_code": "RISK", "role": "风控专员"}])
    _session().flush()
