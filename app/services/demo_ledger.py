"""Demo general ledger: two years of posted vouchers from the demo business (capital, guarantee fees, margins in
and out, salaries, expenses, taxes, reserve charges, a compensation and its recovery), inserted in bulk with
numbers gap-free per type and month and a valid hash chain; plus a few business events waiting for review.

`load_demo_ledger()` is idempotent (it does nothing when posted vouchers exist) and fast: about 20,000 lines
in a few seconds (bulk insert; the hashes are computed in Python with the ledger's own canonical form).
"""
import calendar
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text

from app.services import ledger
from app.services.demo import bulk_insert


def _session():
    from app.extensions import db

    return db.session


def _users():
    from flask_appbuilder.security.sqla.models import User

    session = _session()
    by_name = dict(session.execute(select(User.username, User.id)).all())
    ids = sorted(by_name.values())
    maker = by_name.get("accountant") or ids[0]
    reviewer = by_name.get("reviewer") or next((i for i in ids if i != maker), maker)
    cashier = by_name.get("cashier") or reviewer
    return maker, reviewer, cashier


def load_demo_ledger(seed: int = 2026, months: int = 24, vouchers_per_month: int = 400, end: date | None = None,
                     pending_events: int = 6) -> dict:
    """Insert `months` months of posted vouchers ending with the month before the business date."""
    from app.services import business_date
    from models.customers import Customer
    from models.ledger import Account, ChainHead, Voucher, VoucherLine
    from models.system import Department

    session = _session()
    if session.execute(select(Voucher.id).where(Voucher.status == "posted").limit(1)).scalar() is not None:
        return {"vouchers": 0, "lines": 0}
    rng = random.Random(seed)
    end = end or business_date.today().replace(day=1) - timedelta(days=1)
    starts = []
    y, m = end.year, end.month
    for _ in range(months):
        starts.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    starts.reverse()
    acc = dict(session.execute(select(Account.code, Account.id)).all())
    codes = {v: k for k, v in acc.items()}
    customers = [c for c, in session.execute(select(Customer.id).order_by(Customer.id).limit(300))]
    departments = [d for d, in session.execute(select(Department.id).order_by(Department.id))] or [None]
    maker, reviewer, cashier = _users()
    periods = {start: ledger.ensure_period(start) for start in starts}
    session.flush()

    head = ledger.lock_chain_head()
    seq, prev_hash = head.last_seq, head.last_hash or ""
    next_id = (session.execute(select(func.max(Voucher.id))).scalar() or 0) + 1
    vouchers, lines = [], []
    now = datetime.now()
    banks = ["工商银行 6222 0201", "建设银行 6217 0001", "农业银行 6228 4801"]

    def line(account, summary, debit=0, credit=0, customer=None, department=None, project=None, bank=None):
        return {"account_id": acc[account], "summary": summary, "debit": Decimal(debit), "credit": Decimal(credit),
                "customer_id": customer, "department_id": department, "project_code": project, "bank_account": bank}

    def money(low, high, step=100):
        return Decimal(rng.randrange(low // step, high // step + 1) * step).quantize(Decimal("0.01"))

    plans = []  # (day, voucher type, summary, lines)
    for index, start in enumerate(starts):
        last_day = calendar.monthrange(start.year, start.month)[1]

        def day():
            return start + timedelta(days=rng.randrange(last_day))

        if index == 0:
            plans.append((start, "shou", "收到股东投入资本", [line("1002", "收到股东投入资本", debit="500000000.00",
                                                                bank=banks[0]),
                                                           line("4001", "收到股东投入资本", credit="500000000.00")]))
        month_plans = []
        for _ in range(vouchers_per_month):
            kind = rng.random()
            customer = rng.choice(customers) if customers else None
            project = f"DB{start.year}{rng.randrange(1, 999):04d}"
            bank = rng.choice(banks)
            if kind < 0.35 and customer:
                amount = money(2000, 90000)
                summary = "收取担保费"
                month_plans.append((day(), "shou", summary, [
                    line("1002", summary, debit=amount, bank=bank, customer=customer, project=project),
                    line("6001", summary, credit=amount, customer=customer, project=project)]))
            elif kind < 0.55 and customer:
                amount = money(50000, 2000000, 1000)
                summary = "收取存入保证金"
                month_plans.append((day(), "shou", summary, [
                    line("1002", summary, debit=amount, bank=bank, customer=customer, project=project),
                    line("224101", summary, credit=amount, customer=customer, project=project)]))
            elif kind < 0.68 and customer:
                amount = money(20000, 800000, 1000)
                summary = "解保退还保证金"
                month_plans.append((day(), "fu", summary, [
                    line("224101", summary, debit=amount, customer=customer, project=project),
                    line("1002", summary, credit=amount, bank=bank, customer=customer, project=project)]))
            else:
                account, summary = rng.choice([("660202", "购买办公用品"), ("660203", "报销差旅费"),
                                               ("660204", "业务招待费"), ("660299", "报销其他费用"),
                                               ("660302", "银行手续费")])
                amount = money(100, 20000, 10)
                department = rng.choice(departments)
                debit = line(account, summary, debit=amount,
                             department=department if account != "660302" else None)
                month_plans.append((day(), "fu", summary, [debit, line("1002", summary, credit=amount, bank=bank)]))
        # month-end: salaries, reserve charges, taxes
        end_day = date(start.year, start.month, last_day)
        salary = money(600000, 900000, 1000)
        month_plans.append((end_day, "zhuan", "计提本月工资", [
            line("660201", "计提本月工资", debit=salary, department=departments[0]),
            line("221101", "计提本月工资", credit=salary)]))
        month_plans.append((end_day, "fu", "发放本月工资", [
            line("221101", "发放本月工资", debit=salary), line("1002", "发放本月工资", credit=salary, bank=banks[0])]))
        for account, reserve, summary, low, high in (("6501", "2601", "提取未到期责任准备金", 200000, 400000),
                                                     ("6502", "2602", "提取担保赔偿准备金", 100000, 300000)):
            amount = money(low, high, 1000)
            month_plans.append((end_day, "zhuan", summary, [line(account, summary, debit=amount),
                                                           line(reserve, summary, credit=amount)]))
        tax = money(20000, 60000, 10)
        month_plans.append((end_day, "zhuan", "计提城建税及教育费附加", [
            line("6403", "计提城建税及教育费附加", debit=tax), line("222102", "计提城建税及教育费附加", credit=tax)]))
        if customers and index == months // 2:
            customer, project = customers[0], f"DB{start.year}0001"
            month_plans.append((start + timedelta(days=9), "fu", "为客户代偿银行贷款", [
                line("1131", "为客户代偿银行贷款", debit="3000000.00", customer=customer, project=project),
                line("1002", "代偿款支付", credit="3000000.00", bank=banks[1])]))
        if customers and index == months // 2 + 3:
            customer, project = customers[0], f"DB{starts[months // 2].year}0001"
            month_plans.append((start + timedelta(days=14), "shou", "收回代偿款（追偿）", [
                line("1002", "收回代偿款（追偿）", debit="1200000.00", bank=banks[1]),
                line("1131", "收回代偿款（追偿）", credit="1200000.00", customer=customer, project=project)]))
        month_plans.sort(key=lambda p: p[0])
        plans.extend(month_plans)

    counters: dict = {}
    for voucher_day, voucher_type, summary, voucher_lines in plans:
        period = periods[voucher_day.replace(day=1)]
        key = (period.id, voucher_type)
        counters[key] = counters.get(key, 0) + 1
        seq += 1
        total = sum((ln["debit"] for ln in voucher_lines), Decimal("0.00"))
        touches_cash = any(codes[ln["account_id"]] in ("1001", "1002", "1012") for ln in voucher_lines)
        row = {"id": next_id, "period_id": period.id, "voucher_type": voucher_type, "number": counters[key],
               "voucher_date": voucher_day, "summary": summary, "attachment_count": rng.randrange(0, 4),
               "status": "posted", "total_debit": total, "total_credit": total, "maker_id": maker,
               "reviewer_id": reviewer, "reviewed_at": now, "cashier_id": cashier if touches_cash else None,
               "signed_at": now if touches_cash else None, "poster_id": reviewer, "posted_at": now,
               "reversal_of_id": None, "source": "manual", "post_seq": seq, "prev_hash": prev_hash, "hash": None,
               "version_id": 1, "created_at": now, "updated_at": now, "created_by_id": maker,
               "updated_by_id": reviewer}
        own = []
        for no, ln in enumerate(voucher_lines, start=1):
            own.append({**ln, "voucher_id": next_id, "line_no": no, "period_id": period.id,
                        "voucher_date": voucher_day, "posted": True,
                        "debit": Decimal(ln["debit"]).quantize(Decimal("0.01")),
                        "credit": Decimal(ln["credit"]).quantize(Decimal("0.01"))})
        row["hash"] = prev_hash = ledger.chain_hash(prev_hash, ledger.canonical_content(
            row, own, codes, f"{period.year}-{period.month:02d}"))
        vouchers.append(row)
        lines.extend(own)
        next_id += 1

    bulk_insert(session, Voucher.__table__, vouchers)
    bulk_insert(session, VoucherLine.__table__, lines)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('gl_voucher', 'id'), "
                             "(SELECT MAX(id) FROM gl_voucher))"))
    session.execute(ChainHead.__table__.update().where(ChainHead.__table__.c.id == 1).values(
        last_seq=seq, last_hash=prev_hash, last_voucher_id=next_id - 1 if vouchers else head.last_voucher_id))
    session.expire(head)
    _pending_events(rng, customers, departments, pending_events)
    session.commit()
    return {"vouchers": len(vouchers), "lines": len(lines)}


def _pending_events(rng, customers, departments, count):
    """A few events from the business waiting in finance's review queue."""
    from app.services import business_date, ledger_events

    today = business_date.today()
    kinds = ["fee_received", "margin_received", "margin_refunded", "recovery_received", "staff_reimbursement",
             "compensation_paid"]
    for i in range(count if customers else 0):
        kind = kinds[i % len(kinds)]
        amount = Decimal(rng.randrange(10, 500) * 100)
        ledger_events.record_event(kind, amount, today, "demo", f"D{i + 1:04d}", customer_id=rng.choice(customers),
                                   department_id=departments[0], project_code=f"DB{today.year}{i + 1:04d}",
                                   bank_account="工商银行 6222 0201", summary="演示业务")
