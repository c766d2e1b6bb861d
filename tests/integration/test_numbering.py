"""SYS-7: numbering rules. The format follows the rule (prefix + date part + zero-padded sequence, reset
per period); numbers are unique and gap-free when many sessions, threads or processes take them at
once, and a rolled-back transaction gives its number back."""
import multiprocessing
import random
import threading
from datetime import date

import pytest
from sqlalchemy import select

from app.errors import ValidationError
from app.services import business_date, numbering
from models.system import DictItem, DictType, NumberingCounter, NumberingRule
from tests.conftest import unique
from tests.integration.datalayer import assert_message, assert_no_driver_text, msg, store  # noqa: F401


def _rule(db, prefix="T", date_format="yyyymmdd", width=3) -> str:
    kind = unique("k")
    db.session.add(NumberingRule(kind=kind, name="测试编号", prefix=prefix, date_format=date_format, seq_width=width))
    db.session.commit()
    return kind


def _take(db, kind, on=None) -> str:
    number = numbering.next_number(kind, on)
    db.session.commit()
    return number


# --- format --------------------------------------------------------------------------------------

def test_format_follows_the_rule_and_resets_per_period(db):
    daily = _rule(db, "T", "yyyymmdd", 3)
    assert _take(db, daily, date(2026, 3, 5)) == "T20260305001"
    assert _take(db, daily, date(2026, 3, 5)) == "T20260305002"
    assert _take(db, daily, date(2026, 3, 6)) == "T20260306001"  # a new day starts again at 1
    assert _take(db, daily, date(2026, 3, 5)) == "T20260305003"  # each period keeps its own counter

    monthly = _rule(db, "SQ-", "yyyymm", 4)
    assert _take(db, monthly, date(2026, 1, 31)) == "SQ-2026010001"
    assert _take(db, monthly, date(2026, 1, 1)) == "SQ-2026010002"
    assert _take(db, monthly, date(2026, 2, 1)) == "SQ-2026020001"

    yearly = _rule(db, "HT", "yyyy", 5)
    assert _take(db, yearly, date(2026, 1, 1)) == "HT202600001"
    assert _take(db, yearly, date(2026, 12, 31)) == "HT202600002"
    assert _take(db, yearly, date(2027, 1, 1)) == "HT202700001"

    plain = _rule(db, "N", "none", 6)
    assert _take(db, plain, date(2026, 1, 1)) == "N000001"
    assert _take(db, plain, date(2030, 6, 1)) == "N000002"  # never resets


def test_default_date_is_the_business_date(db):
    kind = _rule(db, "B", "yyyymmdd", 2)
    assert _take(db, kind) == f"B{business_date.today():%Y%m%d}01"


def test_width_is_a_minimum_not_a_cap(db):
    kind = _rule(db, "W", "none", 1)
    numbers = [_take(db, kind) for _ in range(11)]
    assert numbers[0] == "W1" and numbers[8] == "W9" and numbers[9] == "W10" and numbers[10] == "W11"


def test_unknown_kind_is_refused_with_a_message(db):
    with pytest.raises(ValidationError) as err:
        numbering.next_number(unique("nokind"))
    assert_message(err.value.message, "No numbering rule is defined", "未定义")


def test_rolled_back_transaction_leaves_no_gap(db):
    kind = _rule(db, "R", "none", 4)
    assert _take(db, kind) == "R0001"
    assert numbering.next_number(kind) == "R0002"
    db.session.rollback()  # the business record failed: its number goes back
    assert _take(db, kind) == "R0002"
    assert db.session.execute(select(NumberingCounter.last_value).where(NumberingCounter.kind == kind)).scalar() == 2


# --- concurrency ---------------------------------------------------------------------------------

def _prepare(db, width=4):
    kind = _rule(db, "C", "none", width)
    dict_type = DictType(code=unique("num"), name="编号并发测试")
    db.session.add(dict_type)
    db.session.commit()
    return kind, dict_type.id


def _take_and_store(kind, type_id, rounds, seed, barrier=None):
    """Each round is one business transaction: take a number, write the record that uses it (a row with a
    unique constraint on the number), then commit, or roll back about one round in five."""
    from app.extensions import db

    rng = random.Random(seed)
    committed = []
    if barrier is not None:
        barrier.wait(timeout=60)
    for _ in range(rounds):
        number = numbering.next_number(kind)
        db.session.add(DictItem(type_id=type_id, code=number, name=number, sort_order=0))
        db.session.flush()
        if rng.random() < 0.2:
            db.session.rollback()
        else:
            db.session.commit()
            committed.append(number)
    return committed


def _assert_gap_free(db, kind, type_id, committed, width=4):
    db.session.rollback()
    stored = sorted(db.session.execute(select(DictItem.code).where(DictItem.type_id == type_id)).scalars())
    assert len(committed) == len(set(committed)), "a number was issued twice"
    assert stored == sorted(committed)
    assert stored == [f"C{i:0{width}d}" for i in range(1, len(stored) + 1)], "the numbers have a gap"
    last = db.session.execute(select(NumberingCounter.last_value).where(NumberingCounter.kind == kind)).scalar()
    assert last == len(stored)


def test_parallel_threads_get_unique_gap_free_numbers(app, db):
    kind, type_id = _prepare(db)
    threads, rounds = 8, 12
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def worker(seed):
        try:
            with app.app_context():  # its own app context: its own session and connection
                results.extend(_take_and_store(kind, type_id, rounds, seed, barrier))
        except Exception as ex:  # pragma: no cover - reported below
            errors.append(repr(ex))

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) > threads * rounds // 2
    _assert_gap_free(db, kind, type_id, results)


def _process_main(database_url, kind, type_id, rounds, seed, queue):
    from app import create_app

    try:
        app = create_app(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
        with app.app_context():
            queue.put(("ok", _take_and_store(kind, type_id, rounds, seed)))
    except Exception as ex:  # pragma: no cover - reported by the parent
        queue.put(("error", repr(ex)))


def test_parallel_processes_get_unique_gap_free_numbers(app, db):
    """Separate processes (as gunicorn and Celery workers are): the database alone keeps the numbers straight."""
    kind, type_id = _prepare(db)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    processes, rounds = 4, 10
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    procs = [ctx.Process(target=_process_main, args=(url, kind, type_id, rounds, 100 + i, queue))
             for i in range(processes)]
    for p in procs:
        p.start()
    try:
        outcomes = [queue.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    errors = [value for status, value in outcomes if status != "ok"]
    assert not errors, errors
    committed = [n for status, numbers in outcomes for n in numbers]
    _assert_gap_free(db, kind, type_id, committed)


# --- rule maintenance ----------------------------------------------------------------------------

def test_rule_checks_in_the_service():
    good = NumberingRule(kind="x", name="x", prefix="AB-1", date_format="yyyymm", seq_width=4)
    numbering.validate_rule(good)
    for field, bad in [("date_format", "yyyy-mm"), ("seq_width", 0), ("seq_width", 13), ("prefix", "A B"),
                       ("prefix", "A%"), ("prefix", "A/B")]:
        rule = NumberingRule(kind="x", name="x", prefix="AB", date_format="yyyymm", seq_width=4)
        setattr(rule, field, bad)
        with pytest.raises(ValidationError) as err:
            numbering.validate_rule(rule)
        assert err.value.field == field


def _rule_form(**overrides):
    data = {"kind": unique("r"), "name": "测试规则", "prefix": "CS", "date_format": "yyyymm", "seq_width": "4"}
    data.update(overrides)
    return data


def test_rule_screen_creates_a_valid_rule(admin_web, store):
    form = _rule_form()
    response = admin_web.post_form("/numberingruleview/add", form)
    assert response.status_code == 302
    rule = store.one(select(NumberingRule).where(NumberingRule.kind == form["kind"]))
    assert (rule.prefix, rule.date_format, rule.seq_width) == ("CS", "yyyymm", 4)


WIDTH = "The sequence width must be between 1 and 12 digits."


def test_rule_screen_accepts_an_empty_prefix(db, admin_web, store):
    form = _rule_form(prefix="", date_format="none", seq_width="5")
    assert admin_web.post_form("/numberingruleview/add", form).status_code == 302
    rule = store.one(select(NumberingRule).where(NumberingRule.kind == form["kind"]))
    assert rule.prefix == ""
    assert numbering.next_number(form["kind"]) == "00001"
    db.session.rollback()


def test_api_refuses_an_unknown_date_part(api_as, store):
    """The REST API meets the same service check as the screen."""
    from app import permissions as P

    kind = unique("r")
    response = api_as(P.ADMIN).post("/api/v1/numbering_rule/", json={
        "kind": kind, "name": "接口规则", "prefix": "A", "date_format": "yyyy-mm", "seq_width": 4})
    assert 400 <= response.status_code < 500
    assert store.scalar(select(NumberingRule.id).where(NumberingRule.kind == kind)) is None
    assert_no_driver_text(response.get_data(as_text=True))


@pytest.mark.parametrize("overrides,message", [
    ({"date_format": "yyyy-mm"}, "Not a valid choice."),  # the screen offers the four date parts only
    ({"seq_width": "0"}, WIDTH),
    ({"seq_width": "20"}, WIDTH),
    ({"seq_width": "four"}, "Not a valid integer value."),
    ({"prefix": "A B"}, "The prefix may contain only letters, digits and '-'."),
    ({"prefix": "X" * 21}, "Field cannot be longer than %(max)d character."),
    ({"name": ""}, "This field is required."),
])
def test_rule_screen_refuses_invalid_rules(app, admin_web, store, overrides, message):
    form = _rule_form(**overrides)
    before = store.count(NumberingRule)
    response = admin_web.post_form("/numberingruleview/add", form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert store.count(NumberingRule) == before
    assert store.scalar(select(NumberingRule.id).where(NumberingRule.kind == form["kind"])) is None
    assert_message(html, *_form_message(app, message))
    assert_no_driver_text(html)


def _form_message(app, message):
    """Service messages come from our catalogue; field messages from WTForms' own (checked loosely)."""
    if message.startswith("Field cannot be longer"):
        return ("Field cannot be longer than 20 characters.", "字段长度不能超过 20 个字符")
    if message == "Not a valid integer value.":
        return (message, "不是有效的整数")
    if message == "Not a valid choice.":
        return (message, "不是有效的选择")
    if message == "This field is required.":
        return (message, "该字段是必填字段")
    return msg(app, message)


def test_the_rule_example_follows_the_business_date(app):
    from app.services import business_date, numbering
    from models.system import NumberingRule

    with app.app_context():
        today = business_date.today()
        rule = NumberingRule(kind="x", name="x", prefix="HT", date_format="yyyymm", seq_width=3)
        assert numbering.example(rule) == f"HT{today:%Y%m}001"
        rule.date_format = "none"
        assert numbering.example(rule) == "HT001"
