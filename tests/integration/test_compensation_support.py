"""Helpers of the settlement tests (compensation, recovery, release, extension): a guarantee in force made the
way the backfill makes one (stage in_force, balance = loan), the business date, and approving every step of an
item with whoever the open step is assigned to."""
from datetime import date
from decimal import Decimal

from app import permissions as P
from tests.conftest import unique
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id

uid = user_id


def set_business_date(db, day: date):
    from app.services import business_date

    business_date.set_date(day)
    db.session.commit()


def in_force_guarantee(db, *, amount="1000000.00", loan_date=date(2036, 1, 10), months=12, deposit=None,
                       bank=None, customer=None, product=None, fee_rate="0.02", repayment_method="lump_sum"):
    """A guarantee in force at a fresh bank for a fresh customer of the account manager."""
    from app.services.fees import add_months
    from models.business import CounterMeasure, Guarantee, GuaranteeContract

    am = uid(P.ACCOUNT_MANAGER)
    product = product or make_product(db)
    bank = bank or make_bank(db)
    customer = customer or make_customer(db, manager_id=am)
    value = Decimal(amount)
    g = Guarantee(code=unique("G"), customer_id=customer.id, product_id=product.id, bank_id=bank.id, amount=value,
                  term_months=months, fee_rate=Decimal(fee_rate), repayment_method=repayment_method,
                  stage="in_force", status="active", approval_status="approved", contract_status="signed",
                  apply_date=loan_date, loan_number=unique("JK"), loan_amount=value, loan_date=loan_date,
                  due_date=add_months(loan_date, months), balance=value, manager_id=am, owner_id=am)
    db.session.add(g)
    db.session.flush()
    db.session.add(GuaranteeContract(guarantee_id=g.id, kind="guarantee", number=unique("HT"), status="signed",
                                     start_date=loan_date, end_date=g.due_date))
    if deposit:
        measure = CounterMeasure(guarantee_id=g.id, kind="deposit", description="保证金", value=Decimal(deposit))
        db.session.add(measure)
        db.session.flush()
        db.session.add(GuaranteeContract(guarantee_id=g.id, kind="counter", measure_id=measure.id,
                                         number=unique("FDB"), status="signed", start_date=loan_date,
                                         end_date=g.due_date))
    db.session.commit()
    return g


def approve_all(db, kind, obj_id):
    """Approve every step of the open approval of (kind, obj_id) with the first assignee of each step."""
    from app.services import approval
    from models.approval import ApprovalTask

    for _ in range(10):
        inst = approval.open_instance(kind, obj_id)
        if inst is None:
            return
        task = db.session.query(ApprovalTask).filter(ApprovalTask.instance_id == inst.id,
                                                     ApprovalTask.status == "open").order_by(ApprovalTask.id).first()
        assert task is not None, "no open task"
        approval.act(inst.id, task.assignee_id, "approve", "同意")
        db.session.commit()
    raise AssertionError("approval did not finish")
