"""Helpers of the post-guarantee tests (no tests here): a guarantee in force made directly, with its product,
bank and customer; the account manager of the conftest users manages it."""
from datetime import date
from decimal import Decimal as D

from app import permissions as P
from tests.conftest import unique
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id


def in_force(db, *, amount="120000.00", loan_date=date(2031, 1, 31), due_date=None, months=12, manager=None,
             product=None, customer=None):
    from models.business import Guarantee

    manager_id = user_id(manager or P.ACCOUNT_MANAGER)
    product = product or make_product(db)
    customer = customer or make_customer(db, manager_id=manager_id)
    bank = make_bank(db)
    g = Guarantee(code=unique("PG"), customer_id=customer.id, product_id=product.id, bank_id=bank.id,
                  amount=D(amount), term_months=months, fee_rate=D("0.02"), stage="in_force", status="active",
                  loan_amount=D(amount), loan_date=loan_date, due_date=due_date, balance=D(amount),
                  manager_id=manager_id, owner_id=manager_id)
    db.session.add(g)
    db.session.flush()
    return g


def mine(rows, guarantee=None, customer=None):
    """The warnings of one guarantee / customer (the engine evaluates the whole portfolio)."""
    return [w for w in rows if (guarantee is None or w.guarantee_id == guarantee.id)
            and (customer is None or w.customer_id == customer.id)]


def warnings_of(db, code, guarantee=None, customer=None):
    from sqlalchemy import select

    from models.post_guarantee import PostWarning

    query = select(PostWarning).where(PostWarning.rule_code == code).order_by(PostWarning.id)
    if guarantee is not None:
        query = query.where(PostWarning.guarantee_id == guarantee.id)
    if customer is not None:
        query = query.where(PostWarning.customer_id == customer.id)
    return list(db.session.execute(query).scalars())


class business_day:
    """Set the business date for a block and put the previous one back (committed: services read it)."""

    def __init__(self, db, day: date):
        self.db, self.day = db, day

    def __enter__(self):
        from app.services import business_date, settings

        self.before = settings.get("business_date")
        business_date.set_date(self.day)
        self.db.session.commit()
        return self.day

    def __exit__(self, *exc):
        from app.services import settings

        self.db.session.rollback()
        settings.set_value("business_date", self.before or "")
        self.db.session.commit()
