"""Backfill (历史补录, BIZ-13): guarantees already in force before the system, imported from Excel.

The file is the template of reports/guarantee_backfill.py. All or nothing, like the customer import
(app/services/customer_import.py, whose reader and cell parsers this reuses): every row is parsed and
checked first — the customer found by its ID number, the product and the lending bank by code or name,
amounts, dates and terms, the product's ranges through products.check_terms (the same rule an
application meets), duplicate loan numbers (per bank) and guarantee numbers inside the file and
against the database — and when any row is wrong nothing is written and the caller gets every
(row, column, reason). Otherwise each row becomes a guarantee straight in stage "in_force" with
backfilled=True and one stage-history entry marked as backfilled; the approval engine is not involved
(the business was approved before the system existed), and no fee or ledger event is made.

Deliberately not checked: the bank's line and single-loan cap, the concentration limits and the
blacklist. A backfill records facts that already exist; refusing them would only keep the system's
liability figures wrong. Those checks apply to the next application, which then sees these balances.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationError
from app.services.customer_import import (
    CellError, CellProblem, ImportColumn, ImportRefused, _name_map, _normal, _parse_date, _text, _user_map,
)

MAX_ROWS = 5_000  # a backfill is a company's historic book, not a mass load
CHUNK = 1_000  # values per IN list
STAGE_IN_FORCE = "in_force"
HISTORY_ACTION = "backfilled"  # the history entry's action (labelled in guarantees.ACTION_LABELS)


COLUMNS: list[ImportColumn] = [
    ImportColumn("code", _l("Guarantee number"), False,
                 note=_l("The number in the old records; the numbering rule gives one when blank")),
    ImportColumn("id_number", _l("Customer ID number"), True,
                 note=_l("ID number or unified social credit code of a customer already in the system; "
                         "enter as text")),
    ImportColumn("customer_name", _l("Customer name"), False,
                 note=_l("Optional; when given it must match the customer found by the ID number")),
    ImportColumn("product", _l("Guarantee product"), True, "product", note=_l("Code or name of a product")),
    ImportColumn("bank", _l("Lending bank"), True, "bank", note=_l("Code or name of a cooperating bank")),
    ImportColumn("amount", _l("Guarantee amount"), True, "decimal", note=_l("Yuan, e.g. 1000000.00")),
    ImportColumn("term_months", _l("Term (months)"), True, "int"),
    ImportColumn("fee_rate", _l("Annual fee rate"), True, "rate", note=_l("e.g. 1.5% or 0.015")),
    ImportColumn("loan_number", _l("Loan number"), True,
                 note=_l("The bank's loan contract or receipt number; unique per bank")),
    ImportColumn("loan_amount", _l("Loan amount"), True, "decimal",
                 note=_l("Amount the bank lent; not more than the guarantee amount")),
    ImportColumn("loan_date", _l("Loan date"), True, "date",
                 note=_l("Date like 2025-06-30; not later than the business date")),
    ImportColumn("due_date", _l("Due date"), False, "date",
                 note=_l("Loan date plus the term when blank")),
    ImportColumn("balance", _l("Outstanding balance"), False, "decimal",
                 note=_l("Liability still outstanding; the loan amount when blank")),
    ImportColumn("purpose", _l("Loan purpose")),
    ImportColumn("repayment_method", _l("Repayment method"), False, "choice",
                 note=_l("One of the repayment methods of an application (see the allowed values sheet)")),
    ImportColumn("manager_id", _l("Account manager"), False, "user",
                 note=_l("Login name or full name of a user; the customer's account manager when blank")),
]
BY_FIELD = {c.field: c for c in COLUMNS}


def _session():
    from app.extensions import db

    return db.session


@dataclass
class BackfillResult:
    rows: int = 0
    imported: int = 0
    errors: list[CellError] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    raw_rows: list[tuple[int, tuple]] = field(default_factory=list)
    total_balance: Decimal = Decimal("0.00")

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def error_workbook(self) -> bytes:
        from reports.guarantee_backfill import build_error_workbook

        return build_error_workbook(self.headers, self.raw_rows, self.errors)


# --- reading ------------------------------------------------------------------------------------------

def read_sheet(data: bytes):
    """(headers, [(Excel row, values)]) of the first sheet, blank rows skipped (the customer import's reader)."""
    from app.services import customer_import

    headers, body = customer_import.read_sheet(data)
    if len(body) > MAX_ROWS:
        raise ImportRefused(gettext("The file has more than %(n)s rows; split it.", n=f"{MAX_ROWS:,}"), "file")
    return headers, body


def map_headers(headers: list[str]) -> dict[str, int]:
    """field → column index (Chinese header, English msgid or field name; the * of required ones ignored)."""
    names = {}
    for column in COLUMNS:
        for text in (str(column.label), column.msgid, column.field):
            names[_normal(text)] = column.field
    positions: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = names.get(_normal(header))
        if name and name not in positions:
            positions[name] = index
    missing = [str(c.label) for c in COLUMNS if c.required and c.field not in positions]
    if missing:
        raise ImportRefused(gettext("The sheet lacks the required column(s): %(columns)s. Use the template.",
                                    columns="、".join(missing)), "file")
    return positions


# --- lookups (one query each) ---------------------------------------------------------------------------

def _code_or_name(rows) -> dict[str, object]:
    """normalised code or name → object; a name shared with another object's code maps to None (ambiguous)."""
    out: dict[str, object] = {}
    for obj in rows:
        out[_normal(obj.code)] = obj
    for obj in rows:
        key = _normal(obj.name)
        if key in out and out[key] is not obj:
            out[key] = None
        else:
            out[key] = obj
    return out


class Lookups:
    def __init__(self):
        from models.products import CooperatingBank, Product

        session = _session()
        self.products = _code_or_name(session.execute(select(Product)).scalars().all())
        self.banks = _code_or_name(session.execute(select(CooperatingBank)).scalars().all())
        self.users = _user_map()
        self.repayment = _name_map(repayment_methods())


def repayment_methods() -> list[tuple[str, str]]:
    """(code, label) of the repayment methods an application offers (app/services/guarantees.py), with the
    English msgids too so a file filled in either language reads."""
    from app.services.guarantees import REPAYMENT_METHODS

    return ([(code, str(label)) for code, label in REPAYMENT_METHODS.items()]
            + [(code, ImportColumn("", label).msgid) for code, label in REPAYMENT_METHODS.items()])


# --- parsing one cell ------------------------------------------------------------------------------------

def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("，", "").replace("元", "").strip())
    except InvalidOperation:
        raise CellProblem(gettext("\"%(value)s\" is not an amount.", value=text)) from None
    if not value.is_finite():
        raise CellProblem(gettext("\"%(value)s\" is not an amount.", value=text))
    return value


def parse_rate(value) -> Decimal:
    """An annual rate as a ratio: "1.5%" → 0.015; 0.015 → 0.015 (Excel stores a cell formatted as
    percent as the ratio, so a number is a ratio; only text with % is a percentage)."""
    text = _text(value)
    percent = text.endswith("%") or text.endswith("％")
    if percent:
        text = text[:-1]
    try:
        rate = Decimal(str(value) if isinstance(value, float) else text.replace(",", "").strip())
    except InvalidOperation:
        raise CellProblem(gettext("\"%(value)s\" is not a rate (use 1.5%% or 0.015).", value=_text(value))) from None
    if not rate.is_finite():
        raise CellProblem(gettext("\"%(value)s\" is not a rate (use 1.5%% or 0.015).", value=_text(value)))
    if percent:
        rate = rate / 100
    if rate < 0 or rate >= 1:
        raise CellProblem(gettext("The rate must be at least 0 and below 100 percent."))
    return rate.quantize(Decimal("0.000001"))


def parse_cell(column: ImportColumn, value, lookups: Lookups, max_length: int | None):
    if column.field == "id_number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem(gettext("Enter the ID number as text (the cell was a number, and Excel rounds "
                                  "long numbers)."))
    text = _text(value)
    if not text:
        if column.required:
            raise CellProblem(gettext("%(column)s is required.", column=column.label))
        return None
    if column.kind == "date":
        return _parse_date(value)
    if column.kind == "decimal":
        amount = _decimal(text) if not isinstance(value, (int, float)) else Decimal(str(value))
        if amount != amount.quantize(Decimal("0.01")):
            raise CellProblem(gettext("An amount has at most two decimals."))
        return amount.quantize(Decimal("0.01"))
    if column.kind == "int":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellProblem(gettext("\"%(value)s\" is not a whole number.", value=text)) from None
        if not number.is_finite() or number != number.to_integral_value():
            raise CellProblem(gettext("\"%(value)s\" is not a whole number.", value=text))
        return int(number)
    if column.kind == "rate":
        return parse_rate(value)
    if column.kind in ("product", "bank"):
        table = lookups.products if column.kind == "product" else lookups.banks
        key = _normal(text)
        if key not in table:
            message = (gettext("No product with the code or name \"%(value)s\".", value=text)
                       if column.kind == "product"
                       else gettext("No cooperating bank with the code or name \"%(value)s\".", value=text))
            raise CellProblem(message)
        if table[key] is None:
            raise CellProblem(gettext("\"%(value)s\" is ambiguous in %(column)s: enter its code.", value=text,
                                      column=column.label))
        return table[key]
    if column.kind == "choice":
        table = lookups.repayment
        key = _normal(text)
        if key not in table:
            raise CellProblem(gettext("\"%(value)s\" is not an allowed value of %(column)s (see the allowed "
                                      "values sheet).", value=text, column=column.label))
        if table[key] is None:
            raise CellProblem(gettext("\"%(value)s\" is ambiguous in %(column)s: enter its code.", value=text,
                                      column=column.label))
        return table[key]
    if column.kind == "user":
        user_id = lookups.users.get(_normal(text), False)
        if user_id is False:
            raise CellProblem(gettext("No active user \"%(value)s\" (enter a login name or a full name).",
                                      value=text))
        if user_id is None:
            raise CellProblem(gettext("Several users are named \"%(value)s\": enter the login name.", value=text))
        return user_id
    from views.api_support import storable

    if not storable(text):
        raise CellProblem(gettext("The text contains characters that cannot be stored."))
    if max_length and len(text) > max_length:
        raise CellProblem(gettext("At most %(n)s characters.", n=max_length))
    return text


def add_months(start: date, months: int) -> date:
    """The due date of a loan of `months` from `start` (the same rule as a loan confirmed in the system)."""
    from app.services import fees

    return fees.add_months(start, months)


# --- the rules of one row --------------------------------------------------------------------------------

def check_row(record: dict, today: date) -> None:
    """The rules of one backfilled guarantee; ValidationError(message, field) on the first broken one."""
    from app.services import products

    amount, loan_amount = record["amount"], record["loan_amount"]
    if amount <= 0:
        raise ValidationError(gettext("The amount must be greater than zero."), "amount")
    if record["term_months"] <= 0:
        raise ValidationError(gettext("The term must be at least one month."), "term_months")
    if loan_amount <= 0:
        raise ValidationError(gettext("The amount must be greater than zero."), "loan_amount")
    if loan_amount > amount:
        raise ValidationError(gettext("The loan amount %(loan)s is more than the guarantee amount %(amount)s.",
                                      loan=f"{loan_amount:,.2f}", amount=f"{amount:,.2f}"), "loan_amount")
    if record["loan_date"] > today:
        raise ValidationError(gettext("The loan date %(date)s is later than the business date %(today)s.",
                                      date=record["loan_date"].isoformat(), today=today.isoformat()), "loan_date")
    if record.get("due_date") is None:
        record["due_date"] = add_months(record["loan_date"], record["term_months"])
    elif record["due_date"] <= record["loan_date"]:
        raise ValidationError(gettext("The due date must be later than the loan date."), "due_date")
    balance = record.get("balance")
    if balance is None:
        record["balance"] = balance = loan_amount
    if balance <= 0:
        raise ValidationError(gettext("A guarantee in force has an outstanding balance above zero; a repaid "
                                      "one is not backfilled."), "balance")
    if balance > loan_amount:
        raise ValidationError(gettext("The outstanding balance %(balance)s is more than the loan amount "
                                      "%(loan)s.", balance=f"{balance:,.2f}", loan=f"{loan_amount:,.2f}"), "balance")
    try:
        products.check_terms(record["product"], amount, record["term_months"], record["fee_rate"])
    except ValidationError as ex:
        # the product's own message; its field names the column (amount / term / fee rate)
        raise ValidationError(ex.message, _TERM_FIELDS.get(ex.field, "product")) from None


_TERM_FIELDS = {"amount": "amount", "term_months": "term_months", "term": "term_months", "fee_rate": "fee_rate",
                "rate": "fee_rate", "product": "product", "product_id": "product"}


# --- the import -------------------------------------------------------------------------------------------

def _customers_by_id_number(numbers) -> dict[str, list]:
    """The customers the importing user may see (data scope), by ID number: one outside the scope reads as
    missing, like everywhere else."""
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    out: dict[str, list] = {}
    numbers = list(dict.fromkeys(numbers))
    for start in range(0, len(numbers), CHUNK):
        rows = _session().execute(apply_scope(
            select(Customer.id, Customer.id_number, Customer.name, Customer.code, Customer.manager_id)
            .where(Customer.id_number.in_(numbers[start:start + CHUNK])), Customer))
        for row in rows:
            out.setdefault(row.id_number, []).append(row)
    return out


def _existing(column, values) -> set:
    values = list(dict.fromkeys(v for v in values if v))
    found = set()
    for start in range(0, len(values), CHUNK):
        found.update(_session().execute(select(column).where(column.in_(values[start:start + CHUNK]))).scalars())
    return found


def _existing_loans(pairs) -> set:
    from models.business import Guarantee

    pairs = list(dict.fromkeys(pairs))
    found = set()
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        found.update(tuple(r) for r in _session().execute(
            select(Guarantee.bank_id, Guarantee.loan_number).where(
                Guarantee.loan_number.in_([n for _, n in chunk]),
                Guarantee.bank_id.in_({b for b, _ in chunk}))))
    return {pair for pair in found if pair in set(pairs)}


def _lock_banks(bank_ids) -> None:
    from models.products import CooperatingBank

    if bank_ids:
        _session().execute(select(CooperatingBank.id).where(CooperatingBank.id.in_(sorted(bank_ids)))
                           .order_by(CooperatingBank.id).with_for_update()).all()


def validate_rows(body, positions) -> tuple[list[tuple[int, dict]], list[CellError]]:
    """Parse and check every row: ([(Excel row, record)], errors)."""
    from app.services import business_date
    from models.business import Guarantee

    lookups = Lookups()
    today = business_date.today()
    lengths = {c.name: getattr(c.type, "length", None) for c in Guarantee.__table__.columns}
    errors: list[CellError] = []

    def fail(row, fieldname, message):
        column = BY_FIELD.get(fieldname)
        errors.append(CellError(row, positions.get(fieldname, -1), str(column.label) if column else "", message))

    parsed: list[tuple[int, dict]] = []
    for number, values in body:
        record, bad = {}, False
        for fieldname, index in positions.items():
            column = BY_FIELD[fieldname]
            try:
                record[fieldname] = parse_cell(column, values[index], lookups, lengths.get(fieldname))
            except CellProblem as ex:
                fail(number, fieldname, str(ex))
                bad = True
        if bad:
            continue
        for column in COLUMNS:
            record.setdefault(column.field, None)
        record["id_number"] = record["id_number"].upper()
        try:
            check_row(record, today)
        except ValidationError as ex:
            fail(number, ex.field if ex.field in BY_FIELD else "product", ex.message)
            continue
        parsed.append((number, record))

    customers = _customers_by_id_number([r["id_number"] for _, r in parsed])
    found = []
    for number, record in parsed:
        matches = customers.get(record["id_number"], [])
        if not matches:
            fail(number, "id_number", gettext("No customer has the ID number %(number)s: add the customer first.",
                                              number=record["id_number"]))
            continue
        if len(matches) > 1:
            fail(number, "id_number", gettext("Several customers have the ID number %(number)s.",
                                              number=record["id_number"]))
            continue
        customer = matches[0]
        name = record.get("customer_name")
        if name and _normal(name) != _normal(customer.name):
            fail(number, "customer_name", gettext("The customer with this ID number is %(name)s (%(code)s), not "
                                                  "%(given)s.", name=customer.name, code=customer.code, given=name))
            continue
        record["customer_id"] = customer.id
        record["customer_manager_id"] = customer.manager_id
        found.append((number, record))

    # duplicates inside the file, then against the database. The banks' rows are locked first, so two files
    # backfilling the same bank at once are checked one after the other (PostgreSQL; SQLite writes serially).
    _lock_banks({record["bank"].id for _, record in found})
    seen_codes: dict[str, int] = {}
    seen_loans: dict[tuple, int] = {}
    unique_rows = []
    for number, record in found:
        clash = False
        code = record.get("code")
        if code:
            if _normal(code) in seen_codes:
                fail(number, "code", gettext("The same guarantee number is on row %(row)s of this file.",
                                             row=seen_codes[_normal(code)]))
                clash = True
            else:
                seen_codes[_normal(code)] = number
        loan = (record["bank"].id, _normal(record["loan_number"]))
        if loan in seen_loans:
            fail(number, "loan_number", gettext("The same loan number of this bank is on row %(row)s of this file.",
                                                row=seen_loans[loan]))
            clash = True
        else:
            seen_loans[loan] = number
        if not clash:
            unique_rows.append((number, record))
    taken_codes = _existing(Guarantee.code, [r.get("code") for _, r in unique_rows])
    taken_loans = _existing_loans([(r["bank"].id, r["loan_number"]) for _, r in unique_rows])
    for number, record in unique_rows:
        if record.get("code") and record["code"] in taken_codes:
            fail(number, "code", gettext("The guarantee number %(code)s already exists.", code=record["code"]))
        if (record["bank"].id, record["loan_number"]) in taken_loans:
            fail(number, "loan_number", gettext("A guarantee with the loan number %(number)s of %(bank)s already "
                                                "exists.", number=record["loan_number"], bank=record["bank"].name))
    if errors:
        errors.sort(key=lambda e: (e.row, e.column))
        return [], errors
    return unique_rows, errors


def _departments(user_ids) -> dict:
    from models.system import Employee

    user_ids = list({u for u in user_ids if u})
    if not user_ids:
        return {}
    return dict(_session().execute(select(Employee.user_id, Employee.department_id)
                                   .where(Employee.user_id.in_(user_ids))).all())


def import_guarantees(data: bytes, filename: str | None = None) -> BackfillResult:
    """Check the whole file and, when every row is right, store every guarantee in force (the caller
    commits). ImportRefused (a ValidationError) when the file is not the template; otherwise a result
    whose `errors` list every wrong cell, with nothing written."""
    from app.audit import current_actor

    headers, body = read_sheet(data)
    positions = map_headers(headers)
    if not body:
        raise ImportRefused(gettext("The file holds no guarantee rows."), "file")
    result = BackfillResult(rows=len(body), headers=headers, raw_rows=body)
    rows, errors = validate_rows(body, positions)
    if errors:
        result.errors = errors
        return result
    actor_id, actor_name = current_actor()
    store(rows, actor_id, result)
    _log(result, actor_id, actor_name, filename)
    return result


def store(rows: list[tuple[int, dict]], actor_id, result: BackfillResult, note: str | None = None) -> None:
    """Insert the checked rows as guarantees in force, each with its backfill history entry (`note`: where they
    came from, on the guarantee and its history entry; an Excel import by default)."""
    from app.services import numbering
    from models.business import Guarantee

    session = _session()
    note = note or gettext("Backfilled from an Excel import")
    blank = [r for _, r in rows if not r.get("code")]
    for record, code in zip(blank, numbering.next_numbers("guarantee", len(blank)) if blank else []):
        record["code"] = code
    for _, record in rows:  # the account manager: named in the file, else the customer's, else the importer
        record["manager_id"] = record.get("manager_id") or record.get("customer_manager_id") or actor_id
    departments = _departments([r["manager_id"] for _, r in rows])
    now = datetime.now()
    guarantees = []
    for _, record in rows:
        manager_id = record["manager_id"]
        guarantee = Guarantee(
            code=record["code"], customer_id=record["customer_id"], product_id=record["product"].id,
            bank_id=record["bank"].id, amount=record["amount"], term_months=record["term_months"],
            fee_rate=record["fee_rate"], purpose=record.get("purpose"), repayment_method=record.get("repayment_method"),
            green_channel=False, stage=STAGE_IN_FORCE, status="active",
            # in force means it was approved and its contract signed, before the system: the query mirrors say so
            approval_status="approved", contract_status="signed", apply_date=record["loan_date"],
            stage_changed_at=now, loan_number=record["loan_number"], loan_amount=record["loan_amount"],
            loan_date=record["loan_date"], due_date=record["due_date"], balance=record["balance"], backfilled=True,
            manager_id=manager_id, owner_id=manager_id, department_id=departments.get(manager_id),
            note=note,
        )
        session.add(guarantee)
        guarantees.append(guarantee)
        result.total_balance += record["balance"]
    session.flush()
    _history(guarantees, actor_id, note)
    result.imported = len(guarantees)
    result.codes = [g.code for g in guarantees]
    result.ids = [g.id for g in guarantees]


def _history(guarantees, actor_id, comment) -> None:
    """One stage-history entry per guarantee, marked as backfilled (the stage-history table)."""
    from app.services import business_date
    from models.business import StageHistory

    session = _session()
    today = business_date.today()
    for guarantee in guarantees:
        session.add(StageHistory(guarantee_id=guarantee.id, from_stage=None, to_stage=STAGE_IN_FORCE,
                                 action=HISTORY_ACTION, comment=comment, user_id=actor_id, business_date=today,
                                 backfilled=True))
    session.flush()


def _log(result: BackfillResult, actor_id, actor_name, filename) -> None:
    """One operation-log entry for the whole file (the rows' own entries come from the audit hook)."""
    from models.business import Guarantee
    from models.system import OperationLog

    span = f"{result.codes[0]}~{result.codes[-1]}" if result.codes else ""
    _session().execute(OperationLog.__table__.insert(), [{
        "at": datetime.now(), "user_id": actor_id, "username": actor_name, "action": "import",
        "table_name": Guarantee.__tablename__, "record_id": span[:50],
        "changes": json.dumps({"rows": [None, result.imported], "file": [None, filename or ""],
                               "backfill": [None, True], "balance": [None, str(result.total_balance)]},
                              ensure_ascii=False),
    }])
