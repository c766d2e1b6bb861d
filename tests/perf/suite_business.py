"""Suite `business`: the to-do list (我的事项) with 100k approval items in the system, and 50 concurrent
approvers completing 1,000 approvals with no lost and no doubled transition.

To-do list: 100k approval instances of a perf-only kind are bulk-inserted (one task each; a fifth of them
assigned to the measured user, half of all tasks already done), then the user's /myapprovals/todo page is
requested through the whole app (login, permissions, queries, template) and timed.

Concurrency: 1,000 items are submitted through the engine (app.services.approval.submit) on 25 flows matched
by rule (one per pair of approvers, an "any one of two" first step and a final step). 50 threads, each a
logged-in browser session of one approver, POST /approval/act/<id> (approve) for every item of their pair in
the same order, so the two approvers of an item always race for it. Afterwards the database must show, per
item, exactly one approval on the first step and the item on its second step with exactly one open task.
"""
import threading
import time
from datetime import datetime

from tests.perf.harness import CSRF_RE, Figure, suite

ADMIN_PASSWORD = "Perf@2026-admin"
PASSWORD = "Perf@2026-user"
ITEMS = 100_000
RACE_ITEMS = 1_000
APPROVERS = 50
KIND = "perf.item"
RACE_KIND = "perf.race"
ID_BASE = 10_000_000  # bulk-inserted ids start here, far from the sequences' values

FIGURES = [
    Figure("todo_items", "items", "approval items in the system for the to-do measurement (scaled)"),
    Figure("todo_user_open", "tasks", "of those, open tasks of the measured user"),
    Figure("todo_ms_median", "ms", "the user's to-do list (/myapprovals/todo), median of 50", ("<", 150)),
    Figure("todo_ms_p95", "ms", "same, p95"),
    Figure("todo_sql_statements", "stmts", "SQL statements per to-do request"),
    Figure("done_ms_median", "ms", "the user's done list (/myhandled/done), median of 50"),
    Figure("race_items", "items", "items approved by the concurrent approvers (scaled)"),
    Figure("approvals_lost", "items", "items whose first-step approval was lost", ("==", 0)),
    Figure("approvals_doubled", "items", "items whose first step was approved twice or advanced twice", ("==", 0)),
    Figure("race_conflicts", "requests", "approve requests refused because the partner had just approved"),
    Figure("race_approvals_per_s", "1/s", "approvals applied per second by the 50 threads"),
]


def _register_kinds():
    from app.services import approval
    from models.system import ApprovalPost

    for kind in (KIND, RACE_KIND):
        approval.register_kind(kind, label="性能测试事项", model=ApprovalPost,
                               attributes=lambda o: {"product_code": o.code.split("-")[0]},
                               on_decided=lambda obj, outcome, inst: None, url=None)


def _users(ctx, names):
    from app import permissions as P
    from app.extensions import db

    sm = ctx.app.appbuilder.sm
    ids = {}
    with ctx.app.app_context():
        role = sm.find_role(P.RISK_OFFICER)
        for name in names:
            user = sm.add_user(name, "性能", name, f"{name}@perf.local", [role], PASSWORD)
            ids[name] = user.id
        db.session.commit()
    return ids


def _load_todo(ctx, users, items):
    """Bulk insert `items` instances with one task each (core executemany, chunked)."""
    from sqlalchemy import insert

    from app.extensions import db
    from app.services import approval
    from models.approval import ApprovalAction, ApprovalInstance, ApprovalMessage, ApprovalTask

    me, others = users["me"], [users[f"a{i}"] for i in range(APPROVERS)]
    with ctx.app.app_context():
        flow = approval.create_flow(KIND, "perf-flow", "性能流程", [
            {"name": "审批", "mode": "any", "user_ids": [me, *others]}])
        db.session.commit()
        step_id, flow_id = flow.steps[0].id, flow.id
        now = datetime.now()
        chunk, instances, tasks, actions = 5_000, [], [], []
        mine = 0
        for n in range(items):
            iid = ID_BASE + n
            assignee = me if n % 5 == 0 else others[n % APPROVERS]
            status = "open" if n % 2 == 0 else "done"
            mine += assignee == me and status == "open"
            instances.append({"id": iid, "kind": KIND, "object_id": iid, "title": f"性能事项{n:06d}", "flow_id": flow_id,
                              "path": [step_id], "attributes": {}, "status": "pending" if status == "open" else "approved",
                              "current_step_id": step_id if status == "open" else None, "round": 1,
                              "submitter_id": users["sub"], "submitted_at": now, "version": 1})
            tasks.append({"id": iid, "instance_id": iid, "step_id": step_id, "round": 1, "assignee_id": assignee,
                          "status": status, "created_at": now, "acted_at": None if status == "open" else now,
                          "acted_by_id": None if status == "open" else assignee,
                          "result": None if status == "open" else "approve"})
            if status == "done":
                actions.append({"instance_id": iid, "step_id": step_id, "step_name": "审批", "round": 1,
                                "action": "approve", "acted_by_id": assignee, "comment": "同意", "at": now})
            if len(instances) >= chunk or n == items - 1:
                db.session.execute(insert(ApprovalInstance.__table__), instances)
                db.session.execute(insert(ApprovalTask.__table__), tasks)
                if actions:
                    db.session.execute(insert(ApprovalAction.__table__), actions)
                instances, tasks, actions = [], [], []
        db.session.execute(insert(ApprovalMessage.__table__), [
            {"user_id": me, "instance_id": ID_BASE + 5 * k, "title": f"待审批：性能事项{5 * k:06d}", "created_at": now}
            for k in range(min(1_000, items // 5))])
        db.session.commit()
    return mine


def _csrf(browser) -> str:
    html = browser.http.get("/delegationview/add").get_data(as_text=True)
    match = CSRF_RE.search(html)
    if not match:
        raise RuntimeError("no CSRF token on /delegationview/add")
    return match.group(1)


def _race(ctx, users, items):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.services import approval
    from models.approval import ApprovalAction, ApprovalInstance, ApprovalRule, ApprovalTask
    from models.system import ApprovalPost

    pairs = APPROVERS // 2
    by_pair: dict[int, list[int]] = {p: [] for p in range(pairs)}
    with ctx.app.app_context():
        for p in range(pairs):
            flow = approval.create_flow(RACE_KIND, f"race-{p}", f"并发流程{p}", [
                {"name": "初审", "mode": "any", "user_ids": [users[f"a{2 * p}"], users[f"a{2 * p + 1}"]]},
                {"name": "终审", "mode": "single", "user_ids": [users["final"]]}])
            db.session.add(ApprovalRule(kind=RACE_KIND, priority=p, flow_code=flow.code, product_codes=f"P{p}",
                                        active=True))
        db.session.commit()
        for n in range(items):
            p = n % pairs
            obj = ApprovalPost(code=f"P{p}-{n}", name=f"并发事项{n}")
            db.session.add(obj)
            db.session.flush()
            by_pair[p].append(approval.submit(RACE_KIND, obj, users["sub"]).id)
            if n % 100 == 99:
                db.session.commit()
        db.session.commit()

    browsers = {}
    for k in range(APPROVERS):
        b = ctx.login(f"a{k}", PASSWORD)
        browsers[k] = (b, _csrf(b))
    barrier = threading.Barrier(APPROVERS)
    errors = []

    def work(k):
        browser, token = browsers[k]
        try:
            barrier.wait(60)
            for iid in by_pair[k // 2]:
                r = browser.http.post(f"/approval/act/{iid}", data={"action": "approve", "comment": "同意",
                                                                     "csrf_token": token})
                if r.status_code != 302:
                    errors.append(f"a{k} item {iid}: HTTP {r.status_code}")
        except Exception as ex:  # reported, never hidden
            errors.append(f"a{k}: {ex!r}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(APPROVERS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    elapsed = time.perf_counter() - started
    if errors:
        ctx.note(f"{len(errors)} request errors, first: {errors[0]}")

    ids = [i for p in by_pair.values() for i in p]
    with ctx.app.app_context():
        approvals = dict(db.session.execute(
            select(ApprovalAction.instance_id, func.count()).where(ApprovalAction.instance_id.in_(ids),
                                                                   ApprovalAction.action == "approve")
            .group_by(ApprovalAction.instance_id)).all())
        open_final = dict(db.session.execute(
            select(ApprovalTask.instance_id, func.count()).where(ApprovalTask.instance_id.in_(ids),
                                                                 ApprovalTask.status == "open",
                                                                 ApprovalTask.assignee_id == users["final"])
            .group_by(ApprovalTask.instance_id)).all())
        states = {i: (r, s) for i, r, s in db.session.execute(
            select(ApprovalInstance.id, ApprovalInstance.round, ApprovalInstance.status)
            .where(ApprovalInstance.id.in_(ids))).all()}
    lost = sum(1 for i in ids if approvals.get(i, 0) == 0 or states[i][0] < 2)
    doubled = sum(1 for i in ids if approvals.get(i, 0) > 1 or states[i][0] > 2 or open_final.get(i, 0) > 1)
    applied = sum(min(approvals.get(i, 0), 1) for i in ids)
    ctx.record("race_items", len(ids))
    ctx.record("approvals_lost", lost)
    ctx.record("approvals_doubled", doubled)
    ctx.record("race_conflicts", 2 * len(ids) - sum(approvals.values()))
    ctx.record("race_approvals_per_s", applied / elapsed if elapsed else 0)
    ctx.note(f"{APPROVERS} threads (25 racing pairs), {2 * len(ids):,} approve requests in {elapsed:.1f} s; "
             f"{applied:,} applied, {lost} lost, {doubled} doubled")


@suite("business", "approvals: the to-do list and concurrent approvers", FIGURES)
def run(ctx):
    items = ctx.size(ITEMS, minimum=2_000)
    race = ctx.size(RACE_ITEMS, minimum=100)
    repeat, warmup = ctx.repeat(50), ctx.repeat(5, minimum=2)
    ctx.log("bootstrap (migrate, roles, reference data, admin)")
    ctx.bootstrap(ADMIN_PASSWORD)
    _register_kinds()
    users = _users(ctx, ["me", "sub", "final", *[f"a{i}" for i in range(APPROVERS)]])
    ctx.log(f"bulk load: {items:,} approval items")
    mine = _load_todo(ctx, users, items)
    ctx.analyze()
    ctx.record("todo_items", items)
    ctx.record("todo_user_open", mine)
    ctx.note(f"{items:,} approval instances with one task each (bulk insert), a fifth assigned to the measured "
             f"user, half of all tasks done: {mine:,} open tasks of the user; requests through the whole app "
             f"in-process (Flask test client, logged in), {warmup} warm-up, {repeat} timed")
    browser = ctx.login("me", PASSWORD)
    todo = ctx.time_get(browser, "/myapprovals/todo", repeat, warmup, check=lambda html: "性能事项" in html)
    ctx.record("todo_ms_median", todo.median)
    ctx.record("todo_ms_p95", todo.p95)
    ctx.record("todo_sql_statements", int(todo.statements_median))
    ctx.note(f"GET /myapprovals/todo: {todo.summary()}")
    ctx.explain(browser, "/myapprovals/todo", "to-do")
    done = ctx.time_get(browser, "/myhandled/done", repeat, warmup)
    ctx.record("done_ms_median", done.median)
    ctx.log(f"race: {race:,} items, {APPROVERS} concurrent approvers")
    _race(ctx, users, race)
