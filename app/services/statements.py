"""Corporate customers' financial statements (CUS-2): the item catalogue, the checks, saving, reading.

The catalogue follows the small-enterprise formats of 小企业会计准则 (会小企01表 balance sheet, 会小企02表
income statement), condensed to the items a guarantee company rates on. Every item has a stable code;
the rating engine reads figures by code through `statement_values()` / `statement_history()`.

Rules (the form, the Excel import and any later API meet the same ones):
- only corporate customers have statements; one statement per customer, period end and period type;
- the period end fits the period type (an annual statement ends on 31 December…);
- a subtotal that is stated must equal the sum of its items, and 资产总计 must equal 负债和所有者权益总计,
  both within the `statement_balance_tolerance` setting (yuan); a subtotal left blank is computed;
- a refusal names the line and the figures at fault, and writes nothing.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import NotFound, ValidationError

BALANCE, INCOME = "balance", "income"
ASSETS, CLAIMS = "assets", "claims"  # the two columns of the balance sheet
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18, 2)

PERIOD_TYPES = {"annual": _l("Annual"), "half": _l("Half-year"), "quarter": _l("Quarterly"),
                "month": _l("Monthly")}
# The statement rating prefers when several end on the same day: the longest period first.
PERIOD_RANK = {"annual": 0, "half": 1, "quarter": 2, "month": 3}
_PERIOD_MONTHS = {"annual": {12}, "half": {6, 12}, "quarter": {3, 6, 9, 12}, "month": set(range(1, 13))}


@dataclass(frozen=True)
class Item:
    code: str
    name: object  # lazy msgid
    report: str  # balance | income
    line: int  # 行次, as printed on the statement
    indent: int = 0
    is_total: bool = False
    formula: tuple = ()  # ((+1 | -1, code), ...) for a subtotal
    column: str = ""  # assets | claims for the balance sheet

    @property
    def label(self) -> str:
        return str(self.name)


def _items():
    def a(code, name, line, indent=1, formula=(), total=False):
        return Item(code, name, BALANCE, line, indent, total or bool(formula), formula, ASSETS)

    def c(code, name, line, indent=1, formula=(), total=False):
        return Item(code, name, BALANCE, line, indent, total or bool(formula), formula, CLAIMS)

    def i(code, name, line, indent=1, formula=()):
        return Item(code, name, INCOME, line, indent, bool(formula), formula)

    plus = lambda *codes: tuple((1, code) for code in codes)  # noqa: E731
    current_assets = ("cash", "short_term_investments", "notes_receivable", "accounts_receivable", "prepayments",
                      "other_receivables", "inventories", "other_current_assets")
    non_current_assets = ("long_term_investments", "fixed_assets_net", "construction_in_progress",
                          "intangible_assets", "other_non_current_assets")
    current_liabilities = ("short_term_loans", "notes_payable", "accounts_payable", "advances_from_customers",
                           "payroll_payable", "taxes_payable", "other_payables", "other_current_liabilities")
    non_current_liabilities = ("long_term_loans", "long_term_payables", "other_non_current_liabilities")
    equity = ("paid_in_capital", "capital_reserve", "surplus_reserve", "undistributed_profit")
    return [
        a("cash", _l("Cash and bank balances"), 1),
        a("short_term_investments", _l("Short-term investments"), 2),
        a("notes_receivable", _l("Notes receivable"), 3),
        a("accounts_receivable", _l("Accounts receivable"), 4),
        a("prepayments", _l("Prepayments"), 5),
        a("other_receivables", _l("Other receivables"), 6),
        a("inventories", _l("Inventories"), 7),
        a("other_current_assets", _l("Other current assets"), 8),
        a("total_current_assets", _l("Total current assets"), 9, 0, plus(*current_assets)),
        a("long_term_investments", _l("Long-term investments"), 10),
        a("fixed_assets_cost", _l("Fixed assets at cost"), 11),
        a("accumulated_depreciation", _l("Less: accumulated depreciation"), 12, 2),
        a("fixed_assets_net", _l("Fixed assets, carrying amount"), 13, 1,
          ((1, "fixed_assets_cost"), (-1, "accumulated_depreciation"))),
        a("construction_in_progress", _l("Construction in progress"), 14),
        a("intangible_assets", _l("Intangible assets"), 15),
        a("other_non_current_assets", _l("Other non-current assets"), 16),
        a("total_non_current_assets", _l("Total non-current assets"), 17, 0, plus(*non_current_assets)),
        a("total_assets", _l("Total assets"), 18, 0, plus("total_current_assets", "total_non_current_assets")),

        c("short_term_loans", _l("Short-term borrowings"), 19),
        c("notes_payable", _l("Notes payable"), 20),
        c("accounts_payable", _l("Accounts payable"), 21),
        c("advances_from_customers", _l("Advances from customers"), 22),
        c("payroll_payable", _l("Employee benefits payable"), 23),
        c("taxes_payable", _l("Taxes payable"), 24),
        c("other_payables", _l("Other payables"), 25),
        c("other_current_liabilities", _l("Other current liabilities"), 26),
        c("total_current_liabilities", _l("Total current liabilities"), 27, 0, plus(*current_liabilities)),
        c("long_term_loans", _l("Long-term borrowings"), 28),
        c("long_term_payables", _l("Long-term payables"), 29),
        c("other_non_current_liabilities", _l("Other non-current liabilities"), 30),
        c("total_non_current_liabilities", _l("Total non-current liabilities"), 31, 0, plus(*non_current_liabilities)),
        c("total_liabilities", _l("Total liabilities"), 32, 0,
          plus("total_current_liabilities", "total_non_current_liabilities")),
        c("paid_in_capital", _l("Paid-in capital"), 33),
        c("capital_reserve", _l("Capital reserve"), 34),
        c("surplus_reserve", _l("Surplus reserve"), 35),
        c("undistributed_profit", _l("Undistributed profit"), 36),
        c("total_equity", _l("Total owners' equity"), 37, 0, plus(*equity)),
        c("total_liabilities_and_equity", _l("Total liabilities and owners' equity"), 38, 0,
          plus("total_liabilities", "total_equity")),

        i("revenue", _l("Operating revenue"), 1, 0),
        i("cost_of_sales", _l("Less: operating costs"), 2),
        i("taxes_and_surcharges", _l("Taxes and surcharges"), 3, 2),
        i("selling_expenses", _l("Selling expenses"), 4, 2),
        i("admin_expenses", _l("Administrative expenses"), 5, 2),
        i("finance_expenses", _l("Finance expenses"), 6, 2),
        i("investment_income", _l("Add: investment income"), 7),
        i("operating_profit", _l("Operating profit"), 8, 0,
          ((1, "revenue"), (-1, "cost_of_sales"), (-1, "taxes_and_surcharges"), (-1, "selling_expenses"),
           (-1, "admin_expenses"), (-1, "finance_expenses"), (1, "investment_income"))),
        i("non_operating_income", _l("Add: non-operating income"), 9),
        i("non_operating_expenses", _l("Less: non-operating expenses"), 10),
        i("total_profit", _l("Total profit"), 11, 0,
          ((1, "operating_profit"), (1, "non_operating_income"), (-1, "non_operating_expenses"))),
        i("income_tax", _l("Less: income tax expense"), 12),
        i("net_profit", _l("Net profit"), 13, 0, ((1, "total_profit"), (-1, "income_tax"))),
    ]


ITEMS: list[Item] = _items()
ITEM_BY_CODE: dict[str, Item] = {item.code: item for item in ITEMS}
BALANCE_ITEMS = [item for item in ITEMS if item.report == BALANCE]
ASSET_ITEMS = [item for item in BALANCE_ITEMS if item.column == ASSETS]
CLAIM_ITEMS = [item for item in BALANCE_ITEMS if item.column == CLAIMS]
INCOME_ITEMS = [item for item in ITEMS if item.report == INCOME]
BALANCE_CHECK = ("total_assets", "total_liabilities_and_equity")
REPORT_NAMES = {BALANCE: _l("Balance sheet"), INCOME: _l("Income statement")}


def _session():
    from app.extensions import db

    return db.session


def money(value) -> str:
    return f"{value:,.2f}"


def tolerance() -> Decimal:
    from app.services import settings

    return Decimal(settings.get("statement_balance_tolerance") or 0)


# --- checks ---------------------------------------------------------------------------------------

class StatementError(ValidationError):
    """A refused statement: `problems` lists (item code or header field, message), one per fault."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("；".join(message for _, message in problems), problems[0][0] if problems else None)
        self.problems = problems


def parse_amount(raw, where: str = "") -> Decimal | None:
    """A figure as typed or read from Excel: blank → None; numbers with thousands separators; 2 decimals."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    else:
        text = str(raw).strip().replace(",", "").replace("，", "").replace(" ", "")
        if text in ("", "-", "—"):
            return None
        if text.startswith("(") and text.endswith(")"):  # accountants write negatives in brackets
            text = "-" + text[1:-1]
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(raw) from None
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        raise ValueError(raw)
    return value.quantize(CENT)


def _where(item: Item, rows: dict | None) -> str:
    """'第 12 行' (the line on the statement, or the Excel row the figure was read from)."""
    if rows and item.code in rows:
        return rows[item.code]
    return gettext("line %(line)s", line=item.line)


def check_values(values: dict[str, Decimal | None], rows: dict[str, str] | None = None,
                 tol: Decimal | None = None) -> dict[str, Decimal]:
    """The complete figures (blank subtotals computed) or StatementError naming every fault.

    `values`: code → amount or None (blank). `rows`: code → where the figure came from ("第 12 行" of a
    sheet), for the messages; the statement's own line numbers otherwise.
    """
    tol = tolerance() if tol is None else tol
    unknown = [code for code in values if code not in ITEM_BY_CODE]
    if unknown:
        raise StatementError([(code, gettext("Unknown statement item: %(code)s", code=code)) for code in unknown])
    stated = {code: value for code, value in values.items() if value is not None}
    if not stated:
        raise StatementError([("", gettext("Enter the figures of at least one report."))])
    reports = {ITEM_BY_CODE[code].report for code in stated}
    problems: list[tuple[str, str]] = []
    complete: dict[str, Decimal] = {}
    for item in ITEMS:  # formulas only refer to earlier items
        if item.report not in reports:
            continue
        if not item.is_total:
            complete[item.code] = stated.get(item.code, Decimal("0.00"))
            continue
        computed = sum((sign * complete[code] for sign, code in item.formula), Decimal("0.00"))
        given = stated.get(item.code)
        if given is None:
            complete[item.code] = computed
            continue
        complete[item.code] = given
        if abs(given - computed) > tol:
            parts = " ".join(("+ " if sign > 0 else "− ") + ITEM_BY_CODE[code].label for sign, code in item.formula)
            problems.append((item.code, gettext(
                "%(where)s %(item)s %(stated)s ≠ the sum of its items %(computed)s (%(formula)s)",
                where=_where(item, rows), item=item.label, stated=money(given), computed=money(computed),
                formula=parts.lstrip("+ "))))
    if BALANCE in reports:
        left, right = (ITEM_BY_CODE[code] for code in BALANCE_CHECK)
        if abs(complete[left.code] - complete[right.code]) > tol:
            problems.append((left.code, gettext(
                "%(where)s %(left)s %(left_value)s ≠ %(right)s %(right_value)s",
                where=_where(left, rows), left=left.label, left_value=money(complete[left.code]),
                right=right.label, right_value=money(complete[right.code]))))
    if problems:
        raise StatementError(problems)
    return complete


def period_types():
    return [(code, str(label)) for code, label in PERIOD_TYPES.items()]


def check_period(period_end, period_type) -> None:
    if period_type not in PERIOD_TYPES:
        raise ValidationError(gettext("Choose the period type: annual, half-year, quarterly or monthly."),
                              "period_type")
    if not isinstance(period_end, date):
        raise ValidationError(gettext("Enter the period end date."), "period_end")
    last_day = calendar.monthrange(period_end.year, period_end.month)[1]
    if period_end.day != last_day or period_end.month not in _PERIOD_MONTHS[period_type]:
        raise ValidationError(gettext(
            "A %(kind)s statement ends on the last day of %(months)s.", kind=PERIOD_TYPES[period_type],
            months=_months_text(period_type)), "period_end")


def _months_text(period_type) -> str:
    return {"annual": gettext("December"), "half": gettext("June or December"),
            "quarter": gettext("March, June, September or December"), "month": gettext("a month")}[period_type]


def corporate_customer(customer_id):
    from models.customers import Customer

    customer = _session().get(Customer, customer_id) if customer_id is not None else None
    if customer is None:
        raise NotFound(gettext("The customer does not exist."))
    try:
        from app.services.data_scope import ensure_visible
    except ImportError:  # pragma: no cover - the data scope of issue 11 not installed
        ensure_visible = None
    if ensure_visible is not None:
        ensure_visible(customer)  # out of the user's data scope: 404, like a missing customer
    if customer.kind != "corporate":
        raise ValidationError(gettext("Only corporate customers have financial statements."))
    return customer


@dataclass
class StatementInput:
    period_end: date | None
    period_type: str
    audited: bool = False
    auditor: str | None = None
    note: str | None = None
    values: dict[str, Decimal | None] = field(default_factory=dict)
    rows: dict[str, str] | None = None  # code → where the figure was read (Excel rows)


def save_statement(customer_id: int, data: StatementInput, statement_id: int | None = None,
                   replace: bool = False):
    """Check and store one statement; the caller commits (or rolls back on an error).

    `statement_id`: the statement being edited. Otherwise a new one, unless `replace` (the Excel
    import): then the statement of that period is filled or replaced. Items no longer given are
    removed; unchanged ones stay untouched (the operation log records only real changes).
    """
    from models.customer_finance import FinancialStatement, FinancialStatementItem

    session = _session()
    customer = corporate_customer(customer_id)
    check_period(data.period_end, data.period_type)
    auditor = (data.auditor or "").strip() or None
    if data.audited and not auditor:
        raise ValidationError(gettext("Name the auditor of an audited statement."), "auditor")
    complete = check_values(data.values, data.rows)

    with session.no_autoflush:
        existing = session.execute(select(FinancialStatement).where(
            FinancialStatement.customer_id == customer.id, FinancialStatement.period_end == data.period_end,
            FinancialStatement.period_type == data.period_type)).scalar()
    if statement_id is not None:
        statement = session.get(FinancialStatement, statement_id)
        if statement is None or statement.customer_id != customer.id:
            raise NotFound(gettext("The statement does not exist."))
        if existing is not None and existing.id != statement.id:
            raise ValidationError(_exists_message(data), "period_end")
    elif existing is not None:
        if not replace:
            raise ValidationError(_exists_message(data), "period_end")
        statement = existing
    else:
        statement = FinancialStatement(customer_id=customer.id)
        session.add(statement)

    statement.period_end, statement.period_type = data.period_end, data.period_type
    statement.audited, statement.auditor = bool(data.audited), auditor
    statement.note = (data.note or "").strip() or None
    statement.currency_unit = "元"
    have = {item.item_code: item for item in statement.items}
    for code, amount in complete.items():
        row = have.pop(code, None)
        if row is None:
            statement.items.append(FinancialStatementItem(item_code=code, amount=amount))
        elif Decimal(row.amount) != amount:
            row.amount = amount
    for row in have.values():
        statement.items.remove(row)
    session.flush()
    return statement


def _exists_message(data) -> str:
    return gettext("A %(kind)s statement for %(day)s already exists for this customer; edit it instead.",
                   kind=PERIOD_TYPES[data.period_type], day=data.period_end.isoformat())


# --- reading (the rating engine's entry points) ---------------------------------------------------------

@dataclass(frozen=True)
class StatementFigures:
    statement_id: int
    period_end: date
    period_type: str
    audited: bool
    values: dict[str, Decimal]


def _latest_first(query):
    from sqlalchemy import case

    from models.customer_finance import FinancialStatement

    rank = case(PERIOD_RANK, value=FinancialStatement.period_type, else_=len(PERIOD_RANK))
    return query.order_by(FinancialStatement.period_end.desc(), rank, FinancialStatement.id.desc())


def _values_of(statement_ids) -> dict[int, dict[str, Decimal]]:
    from models.customer_finance import FinancialStatementItem

    out: dict[int, dict[str, Decimal]] = {sid: {} for sid in statement_ids}
    if statement_ids:
        rows = _session().execute(select(FinancialStatementItem.statement_id, FinancialStatementItem.item_code,
                                         FinancialStatementItem.amount)
                                  .where(FinancialStatementItem.statement_id.in_(list(statement_ids))))
        for sid, code, amount in rows:
            out[sid][code] = Decimal(amount).quantize(CENT)
    return out


def statement_history(customer_id: int, n: int = 3, period_type: str | None = None) -> list[StatementFigures]:
    """The customer's last `n` statements, latest first (of one period type when given)."""
    from models.customer_finance import FinancialStatement

    query = select(FinancialStatement.id, FinancialStatement.period_end, FinancialStatement.period_type,
                   FinancialStatement.audited).where(FinancialStatement.customer_id == customer_id)
    if period_type:
        query = query.where(FinancialStatement.period_type == period_type)
    headers = _session().execute(_latest_first(query).limit(n)).all()
    values = _values_of([h.id for h in headers])
    return [StatementFigures(h.id, h.period_end, h.period_type, bool(h.audited), values[h.id]) for h in headers]


def statement_values(customer_id: int, period_end: date | None = None,
                     period_type: str | None = None) -> dict[str, Decimal]:
    """{item code: amount} of the customer's statement ending on `period_end` (the latest when None;
    when several end that day, the longest period). Empty when there is none."""
    from models.customer_finance import FinancialStatement

    query = select(FinancialStatement.id).where(FinancialStatement.customer_id == customer_id)
    if period_end is not None:
        query = query.where(FinancialStatement.period_end == period_end)
    if period_type:
        query = query.where(FinancialStatement.period_type == period_type)
    statement_id = _session().execute(_latest_first(query).limit(1)).scalar()
    return _values_of([statement_id])[statement_id] if statement_id is not None else {}


# --- the Excel template (reports/statement_template.py builds it) ---------------------------------------

def _cell_text(value) -> str:
    return "" if value is None else str(value).strip()


def _parse_day(value):
    from datetime import datetime

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value).replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def read_workbook(data: bytes) -> StatementInput:
    """The statement in an uploaded template (checked .xlsx bytes), or StatementError listing every
    unreadable cell with its sheet and row. Only the hidden key column says what a row holds."""
    from app.services.xlsx_upload import open_workbook
    from reports.statement_template import KEY_COLUMN, sheet_titles, yes_no

    book = open_workbook(data)
    header: dict[str, tuple[object, str]] = {}
    values: dict[str, Decimal | None] = {}
    rows: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    try:
        for sheet in book.worksheets:
            for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=KEY_COLUMN + 1), start=1):
                if len(row) <= KEY_COLUMN:
                    continue
                key = _cell_text(row[KEY_COLUMN])
                where = gettext("%(sheet)s row %(row)s", sheet=sheet.title, row=number)
                if key in ITEM_BY_CODE:
                    rows[key] = where
                    try:
                        values[key] = parse_amount(row[2])
                    except ValueError:
                        problems.append((key, gettext("%(where)s %(item)s: \"%(value)s\" is not an amount.",
                                                      where=where, item=ITEM_BY_CODE[key].label, value=row[2])))
                elif key in ("period_end", "period_type", "audited", "auditor"):
                    header[key] = (row[1], where)
    finally:
        book.close()
    if not rows:
        raise StatementError([("file", gettext("This is not the financial statement template: download the "
                                               "template and fill it in."))])
    period_end = period_type = None
    raw, where = header.get("period_end", (None, ""))
    period_end = _parse_day(raw)
    if period_end is None:
        problems.append(("period_end", gettext("%(where)s: enter the period end date (like 2025-12-31).",
                                               where=where or sheet_titles()[BALANCE])))
    raw, where = header.get("period_type", (None, ""))
    names = {str(label): code for code, label in PERIOD_TYPES.items()} | {code: code for code in PERIOD_TYPES}
    period_type = names.get(_cell_text(raw))
    if period_type is None:
        problems.append(("period_type", gettext("%(where)s: choose the period type from the list.",
                                                where=where or sheet_titles()[BALANCE])))
    raw, _ = header.get("audited", (None, ""))
    audited = _cell_text(raw).lower() in {yes_no()[0].lower(), "yes", "y", "true", "1", "是"}
    auditor = _cell_text(header.get("auditor", (None, ""))[0]) or None
    if problems:
        raise StatementError(problems)
    return StatementInput(period_end=period_end, period_type=period_type, audited=audited, auditor=auditor,
                          values=values, rows=rows)


def import_workbook(customer_id: int, data: bytes):
    """Fill or replace the statement of the period the uploaded template names; the caller commits."""
    corporate_customer(customer_id)
    return save_statement(customer_id, read_workbook(data), replace=True)
