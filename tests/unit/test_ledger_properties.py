"""GL-3 / GL-7 invariants under random sequences of voucher operations (hypothesis), on the real database
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set): whatever people do — make, review, post, reverse,
delete, close and reopen periods — the posted lines balance, every (period, type) is numbered 1..n without
gaps, the hash chain verifies and a posted voucher never changes."""
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from app.errors import GuaranteeError
from app.services import ledger
from models.ledger import Voucher, VoucherLine
from tests.integration.ledger_support import account_ids, cash_lines, fresh_day, plain_lines, users

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
operations = st.lists(st.one_of(
    st.tuples(st.just("create"), st.integers(0, 1), st.sampled_from(["ji", "zhuan", "shou"]), amounts),
    st.tuples(st.just("review"), st.integers(0, 9)),
    st.tuples(st.just("sign"), st.integers(0, 9)),
    st.tuples(st.just("post"), st.integers(0, 9)),
    st.tuples(st.just("reverse"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("unreview"), st.integers(0, 9)),
    st.tuples(st.just("close"), st.integers(0, 1)),
    st.tuples(st.just("reopen"), st.integers(0, 1)),
), min_size=1, max_size=14)


def _snapshot(voucher):
    return (voucher.number, voucher.voucher_type, voucher.voucher_date, voucher.hash, voucher.post_seq,
            tuple((ln.account_id, ln.debit, ln.credit, ln.summary, ln.posted) for ln in voucher.lines))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=operations)
def test_random_voucher_histories_keep_the_invariants(app, db, ops):
    u, accounts = users(app), account_ids(db)
    first = fresh_day(1, 10)
    days = [first, first.replace(month=2)]
    made: list[int] = []
    posted: dict[int, tuple] = {}

    def pick(index):
        return made[index % len(made)] if made else None

    for op in ops:
        try:
            kind = op[0]
            if kind == "create":
                _, month, voucher_type, amount = op
                lines = cash_lines(accounts, amount) if voucher_type == "shou" else plain_lines(accounts, amount)
                made.append(ledger.create_voucher(days[month], lines, voucher_type=voucher_type,
                                                  maker_id=u["maker"]).id)
            elif kind in ("close", "reopen"):
                period = ledger.lock_period(ledger.ensure_period(days[op[1]]).id)
                period.status = "closed" if kind == "close" else "open"  # stand-in for the month-end close
            elif pick(op[1]) is not None:
                pk = pick(op[1])
                if kind == "review":
                    ledger.review_voucher(pk, u["reviewer"])
                elif kind == "unreview":
                    ledger.unreview_voucher(pk, u["reviewer"])
                elif kind == "sign":
                    ledger.sign_voucher(pk, u["cashier"])
                elif kind == "post":
                    voucher = ledger.post_voucher(pk, u["reviewer"])
                    db.session.flush()
                    posted[pk] = _snapshot(voucher)
                elif kind == "reverse":
                    made.append(ledger.reverse_voucher(pk, u["maker"], on=days[1]).id)
                elif kind == "delete":
                    ledger.delete_voucher(pk)
                    made.remove(pk)
            db.session.commit()
        except GuaranteeError:
            db.session.rollback()

    db.session.expire_all()
    totals = db.session.execute(select(func.coalesce(func.sum(VoucherLine.debit), 0),
                                       func.coalesce(func.sum(VoucherLine.credit), 0))
                                .where(VoucherLine.posted.is_(True))).one()
    assert totals[0] == totals[1]
    for day in days:
        period = ledger.ensure_period(day)
        for voucher_type in ("ji", "zhuan", "shou"):
            numbers = db.session.execute(select(Voucher.number).where(
                Voucher.period_id == period.id, Voucher.voucher_type == voucher_type)
                .order_by(Voucher.number)).scalars().all()
            assert numbers == list(range(1, len(numbers) + 1))
        period.status = "open"
    db.session.commit()
    for pk, snapshot in posted.items():
        voucher = db.session.get(Voucher, pk)
        assert voucher is not None and voucher.status == "posted" and _snapshot(voucher) == snapshot
    report = ledger.verify_chain()
    assert report.ok, report.message
