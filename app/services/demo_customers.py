"""Demo data for the customer file (issue 3): field groups and sub-records of the first demo customers,
watch-list entries, guarantee partners and joint-guarantee groups. Set-based and bounded (the first
`limit` customers only), so loading 100k customers stays fast. Runs once: skipped when sub-records exist.
"""
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from stdnum.cn import ric, uscc

from app.services.demo import COMPANY_KINDS, COMPANY_WORDS, STREETS, bulk_insert, random_person_name

BANKS = ["中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "招商银行", "兴业银行", "浦发银行",
         "中信银行", "民生银行", "杭州银行", "江苏银行"]
EMPLOYERS = ["市第一人民医院", "市实验中学", "华信科技有限公司", "恒通贸易有限公司", "市自来水公司", "个体经营",
             "金盛制造有限公司", "区人民政府", "长江物流有限公司"]
POSITIONS = ["职员", "主管", "部门经理", "副总经理", "总经理", "教师", "医生", "会计", "店主"]


def _session():
    from app.extensions import db

    return db.session


def _ric(rng, born: date, male: bool, region="110101") -> str:
    seq = rng.randrange(0, 499) * 2 + (1 if male else 0)
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _uscc(n: int, region="110000") -> str:
    body = "91" + region + f"{(n * 7919) % 10**9:09d}"
    return body + uscc.calc_check_digit(body)


def load_customer_records(limit: int = 2000, seed: int = 2026) -> dict:
    """Fill the field groups and sub-records of the first `limit` customers (by id)."""
    from models.customer_records import (
        BankAccount, CreditReport, CustomerResume, CustomerStore, ExistingLoan, FamilyMember, KeyPerson, MajorEvent,
        Shareholder, WatchEntry,
    )
    from models.customers import Customer

    session = _session()
    if session.execute(select(func.count()).select_from(FamilyMember)).scalar() or \
            session.execute(select(func.count()).select_from(KeyPerson)).scalar():
        return {}
    rng = random.Random(seed)
    now = datetime.now()
    stamp = dict(created_at=now, updated_at=now)
    customers = session.execute(
        select(Customer.id, Customer.kind, Customer.name, Customer.gender, Customer.birth_date, Customer.region_code,
               Customer.legal_representative, Customer.manager_id).order_by(Customer.id).limit(limit)).all()
    if not customers:
        return {}
    today = date.today()
    rows = {model: [] for model in (CustomerResume, FamilyMember, CustomerStore, BankAccount, ExistingLoan,
                                    KeyPerson, Shareholder, MajorEvent, CreditReport, WatchEntry)}
    person_updates, company_updates, blacklisted = [], [], []
    for n, (pk, kind, name, gender, birth, region, legal_rep, manager_id) in enumerate(customers):
        if kind == "individual":
            income = Decimal(rng.randrange(30, 300)) * 100
            person_updates.append(dict(
                id=pk, political_status=rng.choice(["01", "13", "13", "13", "03"]), ethnicity="01",
                marital_status=rng.choice(["20", "20", "20", "10", "40"]), education=rng.choice(["10", "20", "30", "60"]),
                degree=rng.choice(["2", "3", "9"]), health="1", household_type=rng.choice(["1", "2"]),
                residence_status=rng.choice(["1", "2", "5"]), post_code="100000",
                occupation=rng.choice(["1", "4", "7", "9"]), employer=rng.choice(EMPLOYERS),
                employer_nature=rng.choice(["10", "20", "30", "50"]), employer_since=rng.randrange(2005, 2024),
                job_position=rng.choice(POSITIONS), main_income_source="工资薪金", monthly_income=income,
                family_monthly_income=income * 2, monthly_expenses=(income * Decimal("0.6")).quantize(Decimal("1")),
                family_size=rng.choice([2, 3, 3, 4, 5]), dependants=rng.choice([0, 1, 2]),
                total_assets=Decimal(rng.randrange(20, 800)) * 10000,
                total_liabilities=Decimal(rng.randrange(0, 200)) * 10000,
                assessment_grade=rng.choice(["AA", "A", "A", "BBB", "BB"]), credit_customer=rng.random() < 0.2))
            if birth and rng.random() < 0.8:
                spouse_birth = birth + timedelta(days=rng.randrange(-1500, 1500))
                male = gender != "M"
                rows[FamilyMember].append(dict(
                    customer_id=pk, relation="SPOUSE", name=random_person_name(rng), id_type="RIC",
                    id_number=_ric(rng, spouse_birth, male, region or "110101"), gender="M" if male else "F",
                    phone=f"13{rng.randrange(10**8, 10**9)}", employer=rng.choice(EMPLOYERS), health="1", **stamp))
            start = date(rng.randrange(2000, 2012), rng.randrange(1, 13), 1)
            middle = start + timedelta(days=rng.randrange(700, 3000))
            for begin, end in ((start, middle), (middle + timedelta(days=1), None)):
                rows[CustomerResume].append(dict(
                    customer_id=pk, start_date=begin, end_date=end, employer=rng.choice(EMPLOYERS),
                    department=rng.choice(["销售部", "财务部", "生产部", "办公室"]), position=rng.choice(POSITIONS),
                    employer_nature=rng.choice(["10", "20", "30"]), employer_phone=None, employer_post_code=None,
                    employer_address=None, **stamp))
            if rng.random() < 0.3:
                rows[CustomerStore].append(dict(
                    customer_id=pk, store_name=f"{name}{rng.choice(['便利店', '餐馆', '五金店', '服装店'])}",
                    registered_capital=Decimal(rng.choice([5, 10, 30, 50])) * 10000, business_scale="小型",
                    address=f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号", licence_no=f"92{pk:016d}"[:18],
                    tax_reg_no=None, registered_on=date(rng.randrange(2010, 2023), rng.randrange(1, 13), 1),
                    last_inspection_on=None, basic_account_no=None, basic_account_bank=rng.choice(BANKS), **stamp))
        else:
            company_updates.append(dict(
                id=pk, enterprise_nature=rng.choice(["160", "160", "170", "150"]),
                established_on=date(rng.randrange(1998, 2022), rng.randrange(1, 13), rng.randrange(1, 28)),
                paid_in_capital=Decimal(rng.choice([100, 200, 500, 1000])) * 10000,
                enterprise_size=rng.choice(["M", "S", "S", "XS"]), employee_count=rng.randrange(8, 600),
                main_business=f"{rng.choice(COMPANY_KINDS)}产品的研发、生产与销售", premises=rng.choice(["OWN", "RENT"]),
                annual_revenue=Decimal(rng.randrange(200, 20000)) * 10000, contact_person=random_person_name(rng),
                basic_account_bank=rng.choice(BANKS), basic_account_no=f"6222{pk:012d}",
                credit_customer=rng.random() < 0.3))
            controller = legal_rep or random_person_name(rng)
            born = date(rng.randrange(1960, 1990), rng.randrange(1, 13), rng.randrange(1, 28))
            male = rng.random() < 0.7
            rows[KeyPerson].append(dict(
                customer_id=pk, role="LEGAL", name=controller, id_type="RIC", id_number=_ric(rng, born, male),
                gender="M" if male else "F", birth_date=born, phone=f"13{rng.randrange(10**8, 10**9)}",
                education=rng.choice(["10", "20", "30"]), industry_years=rng.randrange(5, 30), resume=None, **stamp))
            rows[KeyPerson].append(dict(
                customer_id=pk, role="CFO", name=random_person_name(rng), id_type=None, id_number=None, gender=None,
                birth_date=None, phone=f"13{rng.randrange(10**8, 10**9)}", education="20",
                industry_years=rng.randrange(3, 20), resume=None, **stamp))
            main = Decimal(rng.choice([51, 60, 70, 80]))
            shares = [(controller, "individual", main), (f"{rng.choice(COMPANY_WORDS)}投资有限公司", "corporate",
                                                         Decimal(100) - main - 10), (random_person_name(rng), "individual", Decimal(10))]
            for holder, holder_kind, pct in shares:
                rows[Shareholder].append(dict(
                    customer_id=pk, shareholder_kind=holder_kind, name=holder, id_type=None, id_number=None,
                    contribution=pct * 10000, share_pct=pct, contribution_method="CASH", contribution_date=None,
                    **stamp))
            rows[BankAccount].append(dict(
                customer_id=pk, bank_name=rng.choice(BANKS), account_no=f"6222{pk:012d}", account_kind="basic",
                opened_on=date(rng.randrange(2005, 2023), 1, 1), balance=Decimal(rng.randrange(10, 5000)) * 1000,
                note=None, **stamp))
            if rng.random() < 0.5:
                rows[BankAccount].append(dict(
                    customer_id=pk, bank_name=rng.choice(BANKS), account_no=f"6228{pk:012d}", account_kind="general",
                    opened_on=None, balance=Decimal(rng.randrange(1, 800)) * 1000, note=None, **stamp))
            if rng.random() < 0.4:
                amount = Decimal(rng.choice([100, 200, 300, 500, 1000])) * 10000
                start = today - timedelta(days=rng.randrange(30, 700))
                rows[ExistingLoan].append(dict(
                    customer_id=pk, lender=rng.choice(BANKS), loan_kind="SHORT", amount=amount,
                    balance=(amount * Decimal(rng.choice(["0.3", "0.6", "1"]))).quantize(Decimal("0.01")),
                    start_date=start, end_date=start + timedelta(days=365 * rng.choice([1, 2, 3])),
                    guarantee_method=rng.choice(["GUARANTEE", "MORTGAGE", "CREDIT"]), classification="1",
                    note=None, **stamp))
            if rng.random() < 0.1:
                rows[MajorEvent].append(dict(
                    customer_id=pk, event_date=today - timedelta(days=rng.randrange(30, 1500)),
                    event_kind=rng.choice(["INVEST", "CHANGE", "LAWSUIT"]),
                    description=rng.choice(["新建生产线投产", "股东变更，引入战略投资者", "买卖合同纠纷被诉"]),
                    amount=Decimal(rng.randrange(50, 2000)) * 10000, impact=None, **stamp))
        if rng.random() < 0.2:
            clean = rng.random() < 0.8
            rows[CreditReport].append(dict(
                customer_id=pk, query_date=today - timedelta(days=rng.randrange(1, 300)), queried_by_id=manager_id,
                query_reason="APPLY", report_no=f"ZX{pk:010d}", credit_accounts=rng.randrange(1, 8),
                outstanding_balance=Decimal(rng.randrange(0, 500)) * 10000, overdue_accounts=0 if clean else 1,
                overdue_amount=Decimal(0) if clean else Decimal(rng.randrange(1, 50)) * 1000,
                overdue_times_5y=0 if clean else rng.randrange(1, 6), max_overdue_months=0 if clean else rng.randrange(1, 4),
                guarantee_balance=Decimal(0), queries_6m=rng.randrange(0, 5), result="clean" if clean else "minor",
                summary="无不良记录" if clean else "近五年有逾期记录，已结清", **stamp))
        roll = rng.random()
        list_kind = "blacklist" if roll < 0.01 else "vip" if roll < 0.04 else "potential" if roll < 0.07 else None
        if list_kind:
            reason = {"blacklist": "恶意拖欠担保费，经风险管理部认定", "vip": "合作多年，信用记录良好",
                      "potential": "有扩大经营融资需求，持续跟进"}[list_kind]
            rows[WatchEntry].append(dict(
                customer_id=pk, list_kind=list_kind, reason=reason, set_on=today - timedelta(days=rng.randrange(1, 200)),
                set_by_id=manager_id, active=True, removed_on=None, removed_by_id=None, removal_reason=None, **stamp))
            if list_kind == "blacklist":
                blacklisted.append(pk)
    if person_updates:
        session.execute(update(Customer), person_updates)
    if company_updates:
        session.execute(update(Customer), company_updates)
    if blacklisted:
        session.execute(update(Customer).where(Customer.id.in_(blacklisted)).values(blacklisted=True))
    counts = {}
    for model, model_rows in rows.items():
        counts[model.__tablename__] = bulk_insert(session, model.__table__, model_rows)
    counts.update(_partners(session, rng, stamp, [pk for pk, kind, *_ in customers if kind == "individual"]))
    session.commit()
    return counts


def _partners(session, rng, stamp, individuals) -> dict:
    from models.customer_records import GuaranteeGroup, GuaranteeGroupMember, PartnerCompany

    if session.execute(select(func.count()).select_from(PartnerCompany)).scalar():
        return {}
    partners = []
    for n, (city, word) in enumerate([("北京", "中关村科技"), ("上海", "创业"), ("江苏", "再"), ("浙江", "中小企业"),
                                      ("广东", "粤财")], start=1):
        limit = Decimal(rng.choice([5000, 10000, 20000])) * 10000
        partners.append(dict(
            name=f"{city}{word}融资担保有限公司", credit_code=_uscc(900000 + n), partner_kind=rng.choice(
                ["guarantee", "reguarantee"]), contact_person=random_person_name(rng),
            contact_phone=f"010-6{rng.randrange(1000000, 9999999)}", address=f"{city}{rng.choice(STREETS)}1号",
            cooperation_limit=limit, single_limit=limit / 10, agreement_start=date(2024, 1, 1),
            agreement_end=date(2026, 12, 31), status="active", note=None, **stamp))
    bulk_insert(session, PartnerCompany.__table__, partners)
    groups = 0
    members = []
    pool = individuals[-60:]  # members from the end of the bounded set
    today = date.today()
    for n in range(3):
        chunk = pool[n * 5:n * 5 + 5]
        if len(chunk) < 3:
            break
        group = GuaranteeGroup(name=f"{rng.choice(['城东', '城西', '开发区'])}商户联保体{n + 1}号",
                               established_on=today - timedelta(days=300 + n * 30),
                               group_limit=Decimal(500) * 10000, member_limit=Decimal(100) * 10000, status="active")
        session.add(group)
        session.flush()
        groups += 1
        for i, customer_id in enumerate(chunk):
            members.append(dict(group_id=group.id, customer_id=customer_id, joined_on=group.established_on,
                                is_leader=i == 0, active=True, left_on=None, **stamp))
    bulk_insert(session, GuaranteeGroupMember.__table__, members)
    return {"cus_partner_company": len(partners), "cus_guarantee_group": groups,
            "cus_guarantee_group_member": len(members)}


def load_demo_statements(limit: int = 60, years: int = 3, seed: int = 2026) -> int:
    """Annual statements of the first `limit` corporate customers for the last `years` years: a balance
    sheet that balances and an income statement, growing a little each year. Every statement passes the
    statement service's checks (check_values, which also computes the subtotals); stored in bulk. The
    rating engine (issue 6) rates on them. Runs once."""
    from app.services import business_date
    from app.services.statements import check_values
    from models.customer_finance import FinancialStatement, FinancialStatementItem
    from models.customers import Customer

    session = _session()
    if session.execute(select(func.count(FinancialStatement.id))).scalar():
        return 0
    rng = random.Random(seed)
    ids = session.execute(select(Customer.id).where(Customer.kind == "corporate").order_by(Customer.id)
                          .limit(limit)).scalars().all()
    last_year = business_date.today().year - 1
    now = datetime.now()
    figures = {}
    for customer_id in ids:
        scale = Decimal(rng.choice([300, 800, 1500, 3000, 6000])) * 10000  # total assets, yuan
        for year in range(last_year - years + 1, last_year + 1):
            scale = (scale * Decimal(rng.uniform(0.95, 1.2))).quantize(Decimal("1"))
            figures[(customer_id, date(year, 12, 31))] = check_values(_statement_figures(rng, scale))
    made = bulk_insert(session, FinancialStatement.__table__, (
        dict(customer_id=customer_id, period_end=day, period_type="annual", audited=False, auditor=None,
             currency_unit="元", note=None, created_at=now, updated_at=now, created_by_id=None, updated_by_id=None)
        for customer_id, day in figures))
    statement_ids = {(c, d): pk for pk, c, d in session.execute(
        select(FinancialStatement.id, FinancialStatement.customer_id, FinancialStatement.period_end))}
    bulk_insert(session, FinancialStatementItem.__table__, (
        dict(statement_id=statement_ids[key], item_code=code, amount=amount)
        for key, values in figures.items() for code, amount in values.items()))
    session.commit()
    return made


def _statement_figures(rng, assets: Decimal) -> dict:
    """Leaf items of a plausible small enterprise whose balance sheet balances; subtotals are computed."""
    def part(total, share):
        return (total * Decimal(share)).quantize(Decimal("0.01"))

    current = part(assets, rng.uniform(0.45, 0.7))
    cash, receivables = part(current, 0.25), part(current, 0.35)
    inventories = part(current, 0.3)
    other_current = current - cash - receivables - inventories
    fixed_net = assets - current
    depreciation = part(fixed_net, rng.uniform(0.1, 0.3))
    liabilities = part(assets, rng.uniform(0.35, 0.7))
    short_loans = part(liabilities, 0.4)
    payables = part(liabilities, 0.3)
    long_loans = liabilities - short_loans - payables
    equity = assets - liabilities
    capital = part(equity, 0.6)
    surplus = part(equity, 0.05)
    revenue = part(assets, rng.uniform(0.8, 1.6))
    cost = part(revenue, rng.uniform(0.7, 0.85))
    admin = part(revenue, 0.05)
    finance = part(short_loans + long_loans, 0.045)
    profit_before_tax = revenue - cost - admin - finance
    tax = part(max(profit_before_tax, Decimal(0)), 0.25)
    return {
        "cash": cash, "accounts_receivable": receivables, "inventories": inventories,
        "other_current_assets": other_current, "fixed_assets_cost": fixed_net + depreciation,
        "accumulated_depreciation": depreciation, "short_term_loans": short_loans, "accounts_payable": payables,
        "long_term_loans": long_loans, "paid_in_capital": capital, "surplus_reserve": surplus,
        "undistributed_profit": equity - capital - surplus, "revenue": revenue, "cost_of_sales": cost,
        "admin_expenses": admin, "finance_expenses": finance, "income_tax": tax,
    }
