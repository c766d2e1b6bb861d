"""Demo data (realistic Chinese names, valid ID numbers and credit codes), inserted in bulk.

Later modules add their own generators to GENERATORS; `flask demo-data` and `run.py --demo` run them.
"""
import itertools
import random
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select
from stdnum.cn import ric, uscc

from app import permissions as P
from app.services.reference import INDUSTRIES, REGIONS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥建华飞鹏宇浩然子轩欣怡梓涵晨曦思远俊杰嘉怡雨桐一鸣志强海燕晓东春梅国庆文博佳琪"
COMPANY_WORDS = ["华信", "恒通", "金盛", "宏达", "鑫源", "瑞丰", "嘉禾", "联创", "中科", "天成", "长江", "东方", "新亚", "博远",
                 "汇丰", "永安", "盛世", "同创", "锦程", "万达", "泰和", "安康", "凯旋", "远航", "明德", "优品", "信达"]
COMPANY_KINDS = ["科技", "贸易", "制造", "建设", "物流", "食品", "电子", "机械", "农业", "医药", "纺织", "环保", "新材料"]
STREETS = ["人民路", "解放路", "中山路", "建设大道", "和平街", "长江路", "黄河路", "文化路", "科技园路", "工业大道"]

DEMO_PASSWORD = "Demo@2026"
DEMO_USERS = [  # username, name, role, department code
    ("manager1", "张经理", P.ACCOUNT_MANAGER, "BIZ1"),
    ("manager2", "李经理", P.ACCOUNT_MANAGER, "BIZ2"),
    ("head1", "钱部长", P.DEPARTMENT_HEAD, "BIZ1"),  # sees the customers of 业务一部 (data scope, issue 11)
    ("risk1", "王风控", P.RISK_OFFICER, "RISK"),
    ("committee1", "赵委员", P.COMMITTEE_MEMBER, "RISK"),
    ("gm", "陈总", P.GENERAL_MANAGER, "HQ"),
    ("accountant", "刘会计", P.ACCOUNTANT, "FIN"),
    ("reviewer", "周复核", P.FINANCE_REVIEWER, "FIN"),
    ("cashier", "吴出纳", P.CASHIER, "FIN"),
    ("auditor", "孙审计", P.AUDITOR, "AUDIT"),
]
DEMO_DEPARTMENTS = [("BIZ1", "业务一部"), ("BIZ2", "业务二部"), ("RISK", "风险管理部"), ("FIN", "计划财务部"),
                    ("AUDIT", "稽核审计部"), ("OFFICE", "综合管理部")]


def _session():
    from app.extensions import db

    return db.session


def random_person_name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _cities():
    return [code for cities in REGIONS.values() for code, _ in cities]


def ensure_demo_org(appbuilder) -> dict:
    """Departments, employees and one login per role. Returns {username: user}."""
    from models.system import Department, Employee

    session = _session()
    head = session.execute(select(Department).where(Department.code == "HQ")).scalar()
    departments = {"HQ": head}
    for order, (code, name) in enumerate(DEMO_DEPARTMENTS, start=1):
        dep = session.execute(select(Department).where(Department.code == code)).scalar()
        if dep is None:
            dep = Department(code=code, name=name, parent=head, sort_order=order)
            session.add(dep)
        departments[code] = dep
    session.flush()
    users = {}
    for number, (username, name, role_name, dep_code) in enumerate(DEMO_USERS, start=1):
        user = appbuilder.sm.find_user(username=username)
        if user is None:
            role = appbuilder.sm.find_role(role_name)
            user = appbuilder.sm.add_user(username, name[0], name[1:], f"{username}@demo.local", [role], DEMO_PASSWORD)
        users[username] = user
        if session.execute(select(Employee.id).where(Employee.user_id == user.id)).scalar() is None:
            session.add(Employee(code=f"E{number:04d}", name=name, department=departments[dep_code], user_id=user.id,
                                 phone=f"1380000{number:04d}", email=f"{username}@demo.local"))
    session.commit()
    return users


def generate_customers(count: int, seed: int = 2026, managers=None, batch: int = 5000) -> int:
    """Insert `count` customers (60% individual, 40% corporate) with valid, unique identity numbers."""
    from models.customers import Customer
    from models.system import Department

    session = _session()
    start = (session.execute(select(func.max(Customer.id))).scalar() or 0) + 1
    departments = [d for d, in session.execute(select(Department.id))]
    from app.services import numbering

    codes = numbering.next_numbers("customer", count) if count else []  # same numbers a clerk's entry gets
    rows = _customer_rows(zip(range(start, start + count), codes), random.Random(seed), managers or [(None, None)],
                          departments)
    inserted = bulk_insert(session, Customer.__table__, rows, batch=batch)
    session.commit()
    return inserted


def _customer_rows(numbers, rng, managers, departments):
    """One dict per (sequence, customer no.), all with the same keys (a bulk insert needs that)."""
    cities = _cities()
    industries = [code for code, _ in INDUSTRIES[:19]]
    now = datetime.now()
    blank = dict.fromkeys(("gender", "birth_date", "legal_representative", "registered_capital"))
    for n, code in numbers:
        region = rng.choice(cities)
        manager_id, department_id = rng.choice(managers)
        if rng.random() < 0.6:
            gender = rng.choice("MF")
            # (birth date, sequence) is unique per n: 500 sequences a day, days spread over 42 years
            birth = date(1960, 1, 1) + timedelta(days=(n // 500) * 37 % (365 * 42))
            body = f"{region}{birth:%Y%m%d}{(n % 500) * 2 + (1 if gender == 'M' else 0):03d}"
            row = dict(kind="individual", name=random_person_name(rng), id_type="RIC",
                       id_number=body + ric.calc_check_digit(body + "0"), gender=gender, birth_date=birth)
        else:
            name = f"{rng.choice(['北京', '上海', '杭州', '苏州', '深圳', '广州', '成都', '武汉'])}" \
                   f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}有限公司"
            body = "91" + region + f"{n:09d}"[-9:]
            row = dict(kind="corporate", name=name, id_type="USCC", id_number=body + uscc.calc_check_digit(body),
                       legal_representative=random_person_name(rng),
                       registered_capital=f"{rng.choice([100, 200, 500, 1000, 3000, 5000])}万元")
        row = {**blank, **row}
        row.update(
            code=code, phone=f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}", region_code=region,
            industry_code=rng.choice(industries), address=f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号",
            direct=rng.choice(["direct", "direct", "indirect"]), manager_id=manager_id, owner_id=manager_id,
            department_id=department_id or (rng.choice(departments) if departments else None),
            created_at=now, updated_at=now,
        )
        yield row


def bulk_insert(session, table, rows: Iterable[dict], batch: int = 5000) -> int:
    """Insert `rows` (dicts with the same keys; a list or a generator) into `table`, in the session's
    transaction, fast. Returns the number of rows.

    PostgreSQL (psycopg 3): one COPY ... FROM STDIN streaming every row. psycopg would send an
    executemany as one INSERT per row; COPY is several times faster, and because rows are sent as they
    are made, PostgreSQL indexes one part while Python makes the next. Elsewhere: executemany of one
    INSERT per `batch` rows. Like any bulk path it bypasses ORM events (no operation-log entries), and
    on PostgreSQL Python-side column defaults are not applied: rows carry every NOT NULL column that
    has no server default.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        columns = list(first)
        quote = connection.dialect.identifier_preparer
        sql = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) FROM STDIN"
        count = 0
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in itertools.chain((first,), rows):
                copy.write_row([row[c] for c in columns])
                count += 1
        return count
    count = 0
    for chunk in _chunks(itertools.chain((first,), rows), batch):
        session.execute(insert(table), chunk)
        count += len(chunk)
    return count


def _chunks(iterable, size):
    """Lists of `size` items (the last one shorter)."""
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_demo(appbuilder, customers: int = 200, seed: int = 2026) -> dict:
    from models.system import Employee

    users = ensure_demo_org(appbuilder)
    session = _session()
    managers = [
        (user.id, session.execute(select(Employee.department_id).where(Employee.user_id == user.id)).scalar())
        for name, user in users.items() if name.startswith("manager")
    ]
    from models.customers import Customer

    existing = session.execute(select(func.count(Customer.id))).scalar()
    created = generate_customers(max(0, customers - existing), seed=seed, managers=managers) if customers else 0
    from app.services.demo_customers import load_customer_records

    load_customer_records(seed=seed)  # field groups and sub-records of the first 2,000 customers (issue 3)
    from app.services.demo_customers import load_demo_statements

    load_demo_statements(seed=seed)  # three years of annual statements of the first corporate customers
    from app.services.relations import generate_relations
    from models.customer_relations import CustomerRelation

    if session.execute(select(func.count(CustomerRelation.id))).scalar() == 0:
        generate_relations(min(3000, 2 * max(customers, existing)), seed=seed)  # groups, families, guarantors
    from app.services.demo_ledger import load_demo_ledger

    load_demo_ledger(seed=seed)  # two years of posted vouchers (issue 5)
    from app.services.demo_business import load_demo_business

    load_demo_business(seed=seed, appbuilder=appbuilder)  # products, banks, applications at every stage (issue 4)
    from app.services.office_requests import load_demo_requests

    load_demo_requests()  # issue 9: a paid borrowing, a reimbursement in approval and a leave of manager1
    from app.services.demo_office import load_demo_office

    load_demo_office()  # help pages and public folders (issue 9)

    from app.services.classification import load_demo_post

    load_demo_post(seed=seed)  # repayment plans, first inspections, warnings of the guarantees in force (issue 7)
    from app.services.collateral import load_demo_collateral

    load_demo_collateral()  # collateral of the guarantees in force, certificates in the vault (issue 7)
    from app.services.compensation import load_demo_settlement

    load_demo_settlement(users)  # a compensation paid and under recovery, an extension, a release (issue 7)
    return {"users": len(users), "customers": created}
