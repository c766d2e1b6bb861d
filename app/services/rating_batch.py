"""Batch re-rating (RAT-4): every customer (or those whose data changed) rated at once, column-wise.

One pandas frame holds, per customer, the figures of the latest statement ("code") and of the earlier one of
the same period type ("prev.code"); every formula is evaluated over whole columns by the same checked tree
the single rating uses (rating_formula.evaluate_vector), points and contributions are numpy operations in
the same order as rating.score_customer, so a customer gets the identical score either way.

The results are stored as a batch of ratings (status "batch"); they replace the current grades only when an
authorised user other than the one who started it accepts the batch (`accept`), or are dropped (`discard`).
The run itself is the Celery task app.tasks.rate_batch; progress is `RatingBatch.done` of `total`.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from flask_babel import gettext
from sqlalchemy import Float, cast, insert, select, update

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.services import rating as R
from app.services import rating_formula as F
from models.rating import Rating, RatingBatch, RatingModel

CHUNK = 5000  # ratings stored (and progress reported) per commit
SCOPES = ("all", "changed")


def _session():
    from app.extensions import db

    return db.session


def start(scope: str, user_id: int) -> RatingBatch:
    """Create the batch and run it in the background (inline when Celery is eager); commits."""
    if scope not in SCOPES:
        raise ValidationError(gettext("Choose which customers to re-rate."), "scope")
    session = _session()
    _discard_orphans()
    running = session.execute(select(RatingBatch.id).where(RatingBatch.status.in_(("running", "pending")))
                              .limit(1)).scalar()
    if running is not None:
        raise Conflict(gettext("Batch %(id)s is still running or waiting for review: accept or discard it first.",
                               id=running))
    batch = RatingBatch(scope=scope, status="running", total=0, done=0, rated=0, started_by_id=user_id,
                        started_at=datetime.now())
    session.add(batch)
    session.commit()
    from flask import current_app

    from app.tasks import rate_batch

    try:
        rate_batch.delay(batch.id)
    except Exception:  # the broker is down: the batch must not stay "running" and block the next one
        if batch.status == "running":
            current_app.logger.exception("rating batch %s could not be queued", batch.id)
            batch.status, batch.finished_at = "failed", datetime.now()
            batch.error = gettext("The batch could not be started: the background worker is not reachable.")
            session.commit()
            raise Conflict(batch.error) from None
        raise
    return batch


def _discard_orphans() -> None:
    """Mark failed (and drop the results of) batches still "running" long after their start: their worker
    died (killed, machine restarted), and they would otherwise block every later batch."""
    from flask import current_app

    session = _session()
    limit = datetime.now() - timedelta(minutes=current_app.config["RATING_BATCH_STALE_MINUTES"])
    stale = list(session.execute(select(RatingBatch).where(RatingBatch.status == "running",
                                                            RatingBatch.started_at < limit)
                                 .with_for_update()).scalars())
    for batch in stale:
        session.execute(Rating.__table__.delete().where(Rating.batch_id == batch.id))
        batch.status, batch.finished_at = "failed", datetime.now()
        batch.error = gettext("The batch stopped without finishing (its background worker was interrupted); "
                              "it was discarded.")
    if stale:
        session.commit()


def run(batch_id: int) -> RatingBatch:
    """The task's body: rate, store, report progress; a failure marks the batch failed and keeps no results."""
    from flask import current_app

    session = _session()
    batch = session.get(RatingBatch, batch_id)
    if batch is None or batch.status != "running":
        return batch
    try:
        compute_and_store(batch)
        batch.status, batch.finished_at = "pending", datetime.now()
        session.commit()
    except Exception:
        session.rollback()
        current_app.logger.exception("rating batch %s failed", batch_id)
        session.execute(Rating.__table__.delete().where(Rating.batch_id == batch_id))
        batch = session.get(RatingBatch, batch_id)
        batch.status, batch.finished_at = "failed", datetime.now()
        batch.error = gettext("The batch failed; the error has been logged.")
        session.commit()
    return batch


# --- loading -----------------------------------------------------------------------------------------------

def _models() -> list[RatingModel]:
    rows = _session().execute(select(RatingModel).where(RatingModel.active.is_(True))).scalars().all()
    # the order applicable_models() prefers: the most specific first, then by code
    return sorted(rows, key=R.model_preference)


def load_customers(customer_ids=None) -> pd.DataFrame:
    from models.customers import Customer

    query = select(Customer.id, Customer.kind, Customer.industry_code, Customer.enterprise_size,
                   Customer.total_assets, Customer.total_liabilities, Customer.department_id)
    if customer_ids is not None:
        query = query.where(Customer.id.in_(list(customer_ids)))
    rows = list(map(tuple, _session().execute(query.order_by(Customer.id))))
    # not named like statement items (total_assets …): the frame holds both
    return pd.DataFrame(rows, columns=["customer_id", "kind", "industry_code", "enterprise_size", "cust_assets",
                                       "cust_liabilities", "department_id"])


def assign_models(customers: pd.DataFrame, models) -> pd.Series:
    """The model id each customer is rated with (the first applicable, as in rating.applicable_models)."""
    chosen = pd.Series(np.nan, index=customers.index)
    for model in models:
        mask = (customers["kind"] == model.customer_kind) & chosen.isna()
        industries, sizes = R._codes(model.industry_codes), R._codes(model.enterprise_sizes)
        if industries:
            mask &= customers["industry_code"].isin(industries)
        if sizes:
            mask &= customers["enterprise_size"].isin(sizes)
        chosen[mask] = model.id
    return chosen


def statement_pairs(customer_ids) -> pd.DataFrame:
    """Per customer: the latest statement id and the earlier one of the same period type (the order of
    statements.statement_history: period end desc, longest period first, id desc)."""
    from app.services.statements import PERIOD_RANK
    from models.customer_finance import FinancialStatement as S

    rows = list(map(tuple, _session().execute(select(S.id, S.customer_id, S.period_end, S.period_type, S.updated_at))))
    frame = pd.DataFrame(rows, columns=["statement_id", "customer_id", "period_end", "period_type", "updated_at"])
    frame = frame[frame["customer_id"].isin(customer_ids)]
    if frame.empty:
        return pd.DataFrame(columns=["customer_id", "latest_id", "prev_id", "period_end", "statement_changed"])
    frame["rank"] = frame["period_type"].map(PERIOD_RANK).fillna(len(PERIOD_RANK))
    frame = frame.sort_values(["customer_id", "period_end", "rank", "statement_id"],
                              ascending=[True, False, True, False])
    latest = frame.groupby("customer_id", sort=False).head(1).set_index("customer_id")
    joined = frame.join(latest[["period_end", "period_type"]], on="customer_id", rsuffix="_latest")
    earlier = joined[(joined["period_type"] == joined["period_type_latest"])
                     & (joined["period_end"] < joined["period_end_latest"])]
    previous = earlier.groupby("customer_id", sort=False).head(1).set_index("customer_id")["statement_id"]
    changed = frame.groupby("customer_id")["updated_at"].max()
    out = pd.DataFrame({"latest_id": latest["statement_id"], "period_end": latest["period_end"]})
    out["prev_id"] = previous.reindex(out.index)
    out["statement_changed"] = changed.reindex(out.index)
    return out.reset_index().rename(columns={"index": "customer_id"})


def item_values(statement_ids, codes) -> pd.DataFrame:
    """statement id × item code → float (NaN where the statement does not state the item)."""
    from models.customer_finance import FinancialStatementItem as I

    if not codes:
        return pd.DataFrame()
    session = _session()
    # PostgreSQL converts numeric to double exactly as Python's float(Decimal) does (correctly rounded);
    # SQLite keeps the figure as it was bound, read back through the column type.
    postgres = session.get_bind().dialect.name == "postgresql"
    amount = cast(I.amount, Float) if postgres else I.amount
    result = session.execute(select(I.statement_id, I.item_code, amount).where(I.item_code.in_(sorted(codes))))
    columns = list(zip(*result.tuples())) or [(), (), ()]  # column lists: pandas builds them fast (not Row objects)
    frame = pd.DataFrame({"statement_id": columns[0], "item_code": columns[1], "amount": columns[2]})
    frame = frame[frame["statement_id"].isin(statement_ids)]
    if not postgres:
        frame["amount"] = [float(Decimal(a).quantize(R.CENT)) for a in frame["amount"]]
    wide = frame.pivot(index="statement_id", columns="item_code", values="amount").astype("float64")
    return wide.reindex(columns=sorted(codes))


def current_answers(customer_ids) -> dict:
    rows = _session().execute(select(Rating.customer_id, Rating.answers, Rating.created_at)
                              .where(Rating.is_current.is_(True))).all()
    keep = set(customer_ids)
    return {cid: (answers or {}, created) for cid, answers, created in rows if cid in keep}


# --- scoring ----------------------------------------------------------------------------------------------

def score_frame(model: RatingModel, frame: pd.DataFrame, answers: list) -> dict:
    """Column-wise rating of the customers in `frame` through `model` (see rating.score_customer)."""
    n = len(frame)
    total = np.zeros(n)
    fallback = R.missing_points(model)
    lines = []
    for ind in model.indicators:
        weight = float(ind.weight)
        reasons = np.full(n, None, dtype=object)
        values = np.full(n, np.nan)
        answer_index = answer_text = None
        if ind.kind == "quantitative":
            values, reasons = F.evaluate_vector(ind.formula, frame)
            scored = np.array([r is None for r in reasons], dtype=bool)
            if ind.rule == "bands":
                bands = R.parse_bands(ind.bands)
                conditions = []
                for lo, hi, _ in bands:
                    cond = np.ones(n, dtype=bool)
                    if lo is not None:
                        cond &= values >= lo
                    if hi is not None:
                        cond &= values < hi
                    conditions.append(cond)
                matched = np.logical_or.reduce(conditions) if conditions else np.zeros(n, dtype=bool)
                points = np.select(conditions, [pts for _, _, pts in bands], default=0.0)
                reasons = np.where(scored & ~matched, "no_band", reasons)
            else:
                lower, upper = float(ind.lower), float(ind.upper)
                with np.errstate(all="ignore"):
                    if ind.direction == "higher":
                        raw = (values - lower) / (upper - lower) * 100.0
                    else:
                        raw = (upper - values) / (upper - lower) * 100.0
                points = np.minimum(np.maximum(raw, 0.0), 100.0)
            points = np.where(scored, points, fallback)
        else:
            options = R.parse_options(ind.options)
            index = np.full(n, None, dtype=object)
            for row, carried in enumerate(answers):  # only the customers with a current rating's answers
                if carried:
                    index[row] = R._answer_index(carried.get(ind.code), options)
            given = np.array([i is not None for i in index], dtype=bool)
            option_points = np.zeros(n)
            for choice, (_, pts) in enumerate(options):
                option_points[index == choice] = pts
            points = np.where(given, option_points, fallback)
            reasons = np.where(given, None, "unanswered").astype(object)
            answer_index = index
            answer_text = [options[i][0] if i is not None else None for i in index]
        contribution = points * weight / 100.0
        total = total + contribution
        lines.append((ind, weight, values, points, contribution, reasons, answer_index, answer_text))
    return {"total": total, "lines": lines}


def compute(customer_ids=None, scope: str = "all") -> list[dict]:
    """Rate the customers (all, or `customer_ids`) column-wise; one row per customer rated, ready to store:
    {customer_id, model_id, score, grade, breakdown, answers, statement_id, period_end, net_assets, department_id}."""
    models = _models()
    customers = load_customers(customer_ids)
    if customers.empty or not models:
        return []
    customers["model_id"] = assign_models(customers, models)
    customers = customers[customers["model_id"].notna()].copy()
    customers["model_id"] = customers["model_id"].astype(int)
    pairs = statement_pairs(customers["customer_id"])
    customers = customers.merge(pairs, on="customer_id", how="left")
    carried = current_answers(customers["customer_id"])
    if scope == "changed":  # never rated, or a statement saved after the current rating
        rated_at = customers["customer_id"].map(lambda c: carried[c][1] if c in carried else pd.NaT)
        changed = rated_at.isna() | (pd.to_datetime(customers["statement_changed"]) > pd.to_datetime(rated_at))
        customers = customers[changed.to_numpy()].copy()
    by_id = {m.id: m for m in models}
    codes = {"total_equity"}
    for model_id in customers["model_id"].unique():
        for ind in by_id[int(model_id)].indicators:
            if ind.kind == "quantitative":
                codes |= {name.split(".", 1)[-1] for name in F.compile_formula(ind.formula).names}
    ids = set(customers["latest_id"].dropna().astype(int)) | set(customers["prev_id"].dropna().astype(int))
    wide = item_values(ids, codes)
    current = wide.reindex(customers["latest_id"].to_numpy()).reset_index(drop=True)
    previous = wide.reindex(customers["prev_id"].to_numpy()).reset_index(drop=True)
    previous.columns = [f"{F.PREV}.{c}" for c in previous.columns]
    frame = pd.concat([customers.reset_index(drop=True), current, previous], axis=1)

    out = []
    for model_id, group in frame.groupby("model_id", sort=True):
        model = by_id[int(model_id)]
        group = group.reset_index(drop=True)
        answers = [carried.get(c, ({}, None))[0] for c in group["customer_id"]]
        result = score_frame(model, group, answers)
        out.extend(_rows(model, group, result))
    return out


def _rows(model, group, result) -> list[dict]:
    """One row to store per customer; built column by column (zip), not indicator by indicator per customer."""
    n = len(group)
    scores = [R.round_score(t) for t in result["total"].tolist()]
    grades = {}
    for score in set(scores):
        grades[score] = R.grade_for(score, model)
    columns, answer_columns = [], []
    for ind, weight, values, points, contribution, reasons, index, texts in result["lines"]:
        value_list = np.where(np.isnan(values), None, values).tolist()
        reason_list = [None if r is None else str(r) for r in reasons]
        index_list = list(index) if index is not None else [None] * n
        columns.append(zip(value_list, points.tolist(), reason_list, index_list))
        if index is not None:
            answer_columns.append((ind.code, index_list))
    breakdowns = list(zip(*columns)) if columns else [()] * n
    if "total_equity" in group:
        equity = group["total_equity"].tolist()
    else:
        equity = [None] * n
    kinds, assets = group["kind"].tolist(), group["cust_assets"].tolist()
    liabilities = group["cust_liabilities"].tolist()
    latest, periods = group["latest_id"].tolist(), group["period_end"].tolist()
    departments, customer_ids = group["department_id"].tolist(), group["customer_id"].tolist()
    rows = []
    for i in range(n):
        if kinds[i] == "corporate":
            net = equity[i]
            net_assets = Decimal(repr(net)).quantize(R.CENT) if net is not None and net == net else None
        elif assets[i] is not None and assets[i] == assets[i]:
            owed = liabilities[i] if liabilities[i] is not None and liabilities[i] == liabilities[i] else 0
            net_assets = (Decimal(assets[i]) - Decimal(owed)).quantize(R.CENT)
        else:
            net_assets = None
        answers = {code: index[i] for code, index in answer_columns if index[i] is not None}
        statement = latest[i]
        rows.append({"customer_id": int(customer_ids[i]), "model_id": model.id, "score": scores[i],
                     "grade": grades[scores[i]], "breakdown": [list(entry) for entry in breakdowns[i]],
                     "answers": answers,
                     "statement_id": int(statement) if statement is not None and statement == statement else None,
                     "period_end": periods[i] if isinstance(periods[i], date) else None,
                     "net_assets": net_assets,
                     "department_id": int(departments[i]) if departments[i] is not None
                     and departments[i] == departments[i] else None})
    return rows


_COLUMNS = ("customer_id", "model_id", "batch_id", "status", "score", "grade", "breakdown", "answers", "statement_id",
            "period_end", "net_assets", "rated_on", "valid_from", "valid_to", "is_current", "note", "owner_id",
            "department_id", "created_at", "updated_at", "created_by_id", "updated_by_id")


def _store(session, rows: list[dict]) -> None:
    """Insert the batch's ratings: PostgreSQL's COPY (in the session's transaction), a bulk INSERT elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(Rating.__table__), rows)
        return
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY rat_rating ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(json.dumps(row[c], ensure_ascii=False) if c in ("breakdown", "answers")
                                 else row[c] for c in _COLUMNS))


def compute_and_store(batch: RatingBatch, customer_ids=None) -> int:
    session = _session()
    rows = compute(customer_ids, batch.scope)
    batch.total, batch.done = len(rows), 0
    session.commit()
    today, now = R._today(), datetime.now()
    for start_at in range(0, len(rows), CHUNK):
        chunk = rows[start_at:start_at + CHUNK]
        _store(session, [
            dict(row, batch_id=batch.id, status="batch", rated_on=today, is_current=False, valid_from=None,
                 valid_to=None, note=None, owner_id=batch.started_by_id, created_at=now, updated_at=now,
                 created_by_id=batch.started_by_id, updated_by_id=batch.started_by_id) for row in chunk])
        batch.done = batch.rated = start_at + len(chunk)
        session.commit()  # the progress the user watches; the rows are not current until accepted
    return len(rows)


# --- review -------------------------------------------------------------------------------------------------

def _lock(batch_id) -> RatingBatch:
    session = _session()
    batch = session.execute(select(RatingBatch).where(RatingBatch.id == batch_id).with_for_update()).scalar()
    if batch is None:
        raise NotFound(gettext("The batch does not exist."))
    session.refresh(batch)
    if batch.status != "pending":
        raise Conflict(gettext("Only a batch waiting for review can be accepted or discarded."))
    return batch


def accept(batch_id: int, user_id: int) -> RatingBatch:
    """The batch's ratings become the customers' current ratings (valid one year from today); commits."""
    session = _session()
    batch = _lock(batch_id)
    if batch.started_by_id == user_id:
        raise Forbidden(gettext("Whoever started a batch does not accept it: another authorised user reviews it."))
    day = R._today()
    customers = select(Rating.customer_id).where(Rating.batch_id == batch.id).scalar_subquery()
    session.execute(update(Rating).where(Rating.is_current.is_(True), Rating.customer_id.in_(customers))
                    .values(is_current=False).execution_options(synchronize_session=False))
    session.execute(update(Rating).where(Rating.batch_id == batch.id)
                    .values(status="approved", is_current=True, valid_from=day, valid_to=R.valid_until(day),
                            updated_at=datetime.now(), updated_by_id=user_id)
                    .execution_options(synchronize_session=False))
    batch.status, batch.decided_by_id, batch.decided_at = "accepted", user_id, datetime.now()
    session.commit()
    session.expire_all()
    return batch


def discard(batch_id: int, user_id: int) -> RatingBatch:
    session = _session()
    batch = _lock(batch_id)
    session.execute(update(Rating).where(Rating.batch_id == batch.id).values(status="discarded")
                    .execution_options(synchronize_session=False))
    batch.status, batch.decided_by_id, batch.decided_at = "discarded", user_id, datetime.now()
    session.commit()
    return batch


def summary(batch_id: int) -> dict:
    """Grades of the batch against the customers' current grades: {(old, new): count} and the totals."""
    from sqlalchemy import func
    from sqlalchemy.orm import aliased

    old = aliased(Rating)
    session = _session()
    rows = session.execute(select(Rating.grade, func.count(Rating.id)).where(Rating.batch_id == batch_id)
                           .group_by(Rating.grade)).all()
    changed = session.execute(select(func.count(Rating.id)).join(
        old, (old.customer_id == Rating.customer_id) & old.is_current.is_(True) & (old.batch_id.is_distinct_from(
            Rating.batch_id))).where(Rating.batch_id == batch_id, old.grade != Rating.grade)).scalar()
    return {"grades": dict(rows), "changed": changed}
