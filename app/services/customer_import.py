"""Bulk import of customers from the Excel template (clerks' data entry, CUS-1/2).

All or nothing: every row is checked with the rules a single customer meets (the customer service's
validate_customer) plus the checks only a file needs (required columns, dictionary values, dates,
account managers by login or name, duplicates inside the file and against the database); when any row
is wrong nothing is written and the caller gets an error workbook marking each wrong cell.

Fast: the file is read once in openpyxl's read-only mode; dictionaries, users and existing identities
are fetched with one query each (identities in chunks of IN lists, not one query per row); customer
numbers come in one block from the numbering rule; rows go in with bulk_insert (COPY on PostgreSQL);
the operation log gets one entry for the whole import.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationError

MAX_ROWS = 50_000
ID_CHUNK = 2_000  # identities per IN list (SQLite allows 32,766 parameters; stay far below)

KIND_LABELS = {"individual": _l("Individual"), "corporate": _l("Corporate")}
DIRECT_LABELS = {"direct": _l("Direct"), "indirect": _l("Indirect")}


@dataclass(frozen=True)
class ImportColumn:
    field: str
    label: object  # lazy msgid: the header in the template
    required: bool = False
    kind: str = "text"  # text | date | dict | choice | user | int | decimal
    source: object = None  # dictionary type code (dict) or {code: label} (choice)
    note: object = ""  # shown in the notes sheet

    @property
    def msgid(self) -> str:
        args = getattr(self.label, "_args", None)
        return args[0] if args else str(self.label)


COLUMNS: list[ImportColumn] = [
    ImportColumn("kind", _l("Customer kind"), True, "choice", KIND_LABELS),
    ImportColumn("name", _l("Customer name"), True),
    ImportColumn("id_type", _l("ID type"), True, "dict", "id_type"),
    ImportColumn("id_number", _l("ID number"), True, note=_l("Enter as text; 18 characters with the check digit")),
    ImportColumn("gender", _l("Gender"), False, "dict", "gender",
                 note=_l("Individuals: taken from the ID number when blank")),
    ImportColumn("birth_date", _l("Birth date"), False, "date", note=_l("Date like 1985-06-30")),
    ImportColumn("phone", _l("Mobile phone"), False, note=_l("11 digits starting with 1")),
    ImportColumn("email", _l("E-mail")),
    ImportColumn("region_code", _l("Region"), False, "dict", "region"),
    ImportColumn("industry_code", _l("Industry"), False, "dict", "industry"),
    ImportColumn("address", _l("Address")),
    ImportColumn("legal_representative", _l("Legal representative"), note=_l("Corporate customers")),
    ImportColumn("registered_capital", _l("Registered capital"), note=_l("Corporate customers, e.g. 500万元")),
    ImportColumn("direct", _l("Direct / indirect"), False, "choice", DIRECT_LABELS, note=_l("Direct when blank")),
    ImportColumn("manager_id", _l("Account manager"), False, "user",
                 note=_l("Login name or full name of a user; the importing user when blank")),
]


def _session():
    from app.extensions import db

    return db.session


def _normal(text) -> str:
    return "".join(str(text).split()).replace("*", "").replace("＊", "").lower()


# --- results ---------------------------------------------------------------------------------------

@dataclass
class CellError:
    row: int  # Excel row number (1-based, the header is row 1)
    column: int  # 0-based index of the column in the uploaded sheet; -1 for the row as a whole
    label: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    errors: list[CellError] = field(default_factory=list)
    first_code: str | None = None
    last_code: str | None = None
    headers: list[str] = field(default_factory=list)
    raw_rows: list[tuple[int, tuple]] = field(default_factory=list)  # (Excel row, values) for the error workbook

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def error_workbook(self) -> bytes:
        from reports.customer_import import build_error_workbook

        return build_error_workbook(self.headers, self.raw_rows, self.errors)


class ImportRefused(ValidationError):
    """The file as a whole cannot be read as the template (no sheet, missing required columns…)."""


# --- reading the file ------------------------------------------------------------------------------

def read_sheet(data: bytes) -> tuple[list[str], list[tuple[int, tuple]]]:
    """(headers, [(Excel row number, values)]) of the first sheet; blank rows skipped.

    The workbook is checked and opened with openpyxl (read-only) first; the cell values are then read
    by the fast reader of app/services/xlsx_upload.py (openpyxl's per-cell objects cost most of an import).
    """
    from app.services.xlsx_upload import open_workbook, read_first_sheet

    book = open_workbook(data)
    try:
        if not book.worksheets:
            raise ImportRefused(gettext("The workbook has no sheet."), "file")
    finally:
        book.close()
    sheet_rows = read_first_sheet(data)
    if not sheet_rows:
        raise ImportRefused(gettext("The first sheet is empty: fill in the template."), "file")
    header_number, header = sheet_rows[0]
    headers = ["" if h is None else str(h).strip() for h in header]
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)
    body = []
    for number, values in sheet_rows[1:]:
        values = tuple(values[:width]) + (None,) * (width - len(values))
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        body.append((number, values))
        if len(body) > MAX_ROWS:
            raise ImportRefused(gettext("The file has more than %(n)s rows; split it.", n=f"{MAX_ROWS:,}"), "file")
    return headers, body


def map_headers(headers: list[str]) -> dict[str, int]:
    """field → column index; ImportRefused when a required column is missing."""
    names = {}
    for column in COLUMNS:
        for text in (str(column.label), column.msgid, column.field):
            names[_normal(text)] = column.field
    positions: dict[str, int] = {}
    for index, header in enumerate(headers):
        fieldname = names.get(_normal(header))
        if fieldname and fieldname not in positions:
            positions[fieldname] = index
    missing = [str(c.label) for c in COLUMNS if c.required and c.field not in positions]
    if missing:
        raise ImportRefused(gettext("The sheet lacks the required column(s): %(columns)s. Use the template.",
                                    columns="、".join(missing)), "file")
    return positions


# --- value lookups (one query each) ------------------------------------------------------------------

class Lookups:
    def __init__(self):
        from app.services.reference import dict_choices

        self.dicts: dict[str, dict[str, str | None]] = {}
        for column in COLUMNS:
            if column.kind == "dict" and column.source not in self.dicts:
                self.dicts[column.source] = _name_map(dict_choices(column.source))
        self.choices = {c.field: _name_map([(code, str(label)) for code, label in c.source.items()]
                                           + [(code, _l_msgid(label)) for code, label in c.source.items()])
                        for c in COLUMNS if c.kind == "choice"}
        self.users = _user_map()


def _l_msgid(label) -> str:
    args = getattr(label, "_args", None)
    return args[0] if args else str(label)


def _name_map(pairs) -> dict[str, str | None]:
    """Accepts the code or the name (case-insensitive); a name two entries share maps to None (ambiguous)."""
    out: dict[str, str | None] = {}
    for code, name in pairs:
        out[_normal(code)] = code
    for code, name in pairs:
        key = _normal(name)
        if key in out and out[key] != code and key != _normal(code):
            out[key] = None
        else:
            out.setdefault(key, code)
    return out


def _user_map() -> dict[str, int | None]:
    from flask_appbuilder.security.sqla.models import User

    out: dict[str, int | None] = {}
    rows = _session().execute(select(User.id, User.username, User.first_name, User.last_name)
                              .where(User.active.is_(True))).all()
    for user_id, username, _, _ in rows:
        out[_normal(username)] = user_id
    for user_id, username, first, last in rows:
        full = _normal((first or "") + (last or ""))
        if not full:
            continue
        if full in out and out[full] != user_id:
            out[full] = None if full != _normal(username) else out[full]
        else:
            out[full] = user_id
    return out


# --- parsing one cell ----------------------------------------------------------------------------------

class CellProblem(Exception):
    pass


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellProblem(gettext("\"%(value)s\" is not a date (use 2025-06-30).", value=_text(value)))


def parse_cell(column: ImportColumn, value, lookups: Lookups, max_length: int | None):
    if column.field == "id_number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        # Excel keeps 15 significant digits: an 18-digit number typed as a number is already wrong
        raise CellProblem(gettext("Enter the ID number as text (the cell was a number, and Excel rounds "
                                  "long numbers)."))
    text = _text(value)
    if not text:
        if column.required:
            raise CellProblem(gettext("%(column)s is required.", column=column.label))
        return None
    if column.kind == "date":
        return _parse_date(value)
    if column.kind in ("dict", "choice"):
        table = lookups.dicts[column.source] if column.kind == "dict" else lookups.choices[column.field]
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
    if column.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise CellProblem(gettext("\"%(value)s\" is not a whole number.", value=text)) from None
    if column.kind == "decimal":
        try:
            return Decimal(text.replace(",", "")).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise CellProblem(gettext("\"%(value)s\" is not an amount.", value=text)) from None
    from views.api_support import storable

    if not storable(text):
        raise CellProblem(gettext("The text contains characters that cannot be stored."))
    if max_length and len(text) > max_length:
        raise CellProblem(gettext("At most %(n)s characters.", n=max_length))
    return text


# --- the import ------------------------------------------------------------------------------------------

class _Item:
    """A customer row as the checks see it: attributes, None when not given (no ORM instrumentation:
    building 10,000 mapped objects costs seconds)."""

    id = None

    def __init__(self, values):
        self.__dict__.update(values)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def validate_rows(headers, body, positions, actor_id) -> tuple[list[dict], list[CellError]]:
    """Parse and check every row; (customer rows ready to insert, errors)."""
    from models.customers import Customer

    table = Customer.__table__
    lookups = Lookups()
    from app.services import business_date

    from app.services.customers import check_customer_fields

    today = business_date.today()
    by_field = {c.field: c for c in COLUMNS}
    lengths = {c.name: getattr(c.type, "length", None) for c in table.columns}
    errors: list[CellError] = []
    parsed: list[tuple[int, dict]] = []
    index_of = dict(positions)

    def fail(row, fieldname, message):
        column = by_field.get(fieldname)
        label = str(column.label) if column else ""
        errors.append(CellError(row, index_of.get(fieldname, -1), label, message))

    for number, values in body:
        record, bad = {}, False
        for fieldname, index in positions.items():
            column = by_field[fieldname]
            try:
                record[fieldname] = parse_cell(column, values[index], lookups, lengths.get(fieldname))
            except CellProblem as ex:
                fail(number, fieldname, str(ex))
                bad = True
        if bad:
            continue
        record.setdefault("direct", None)
        record["direct"] = record["direct"] or "direct"
        item = _Item(record)
        try:
            # the customer service's rules without its database lookups (the business date is read once
            # per file above; identity clashes are checked set-based below)
            check_customer_fields(item, today)
        except ValidationError as ex:
            fail(number, ex.field if ex.field in positions else "name", ex.message)
            continue
        record = {c.name: getattr(item, c.name) for c in table.columns if c.name in record or c.name in (
            "id_number", "birth_date", "gender", "credit_customer")}
        parsed.append((number, record))

    # duplicates inside the file
    seen: dict[tuple, int] = {}
    unique_rows = []
    for number, record in parsed:
        key = (record["id_type"], record["id_number"])
        if key in seen:
            fail(number, "id_number", gettext("The same ID number is on row %(row)s of this file.", row=seen[key]))
        else:
            seen[key] = number
            unique_rows.append((number, record))

    # duplicates against the database: one query per chunk of identity numbers
    existing = _existing_identities([key[1] for key in seen])
    for number, record in unique_rows:
        clash = existing.get((record["id_type"], record["id_number"]))
        if clash:
            fail(number, "id_number", gettext("This identity already belongs to customer %(name)s (%(code)s).",
                                              name=clash[1], code=clash[0]))
    if errors:
        return [], errors
    return [record for _, record in unique_rows], errors


def _existing_identities(numbers) -> dict[tuple, tuple]:
    from models.customers import Customer

    out = {}
    numbers = list(dict.fromkeys(numbers))
    for start in range(0, len(numbers), ID_CHUNK):
        chunk = numbers[start:start + ID_CHUNK]
        rows = _session().execute(select(Customer.id_type, Customer.id_number, Customer.code, Customer.name)
                                  .where(Customer.id_number.in_(chunk)))
        for id_type, id_number, code, name in rows:
            out[(id_type, id_number)] = (code, name)
    return out


def _complete(records: list[dict], actor_id) -> list[dict]:
    """Fill what a single add fills: number, manager (the importing user when none), the manager's
    department, owner, audit columns; every table column present (bulk inserts need equal keys)."""
    from app.services import numbering
    from models.customers import Customer
    from models.system import Employee

    table = Customer.__table__
    managers = {r.get("manager_id") or actor_id for r in records} - {None}
    departments = {}
    if managers:
        departments = dict(_session().execute(select(Employee.user_id, Employee.department_id)
                                              .where(Employee.user_id.in_(list(managers)))).all())
    codes = numbering.next_numbers("customer", len(records))
    now = datetime.now()
    defaults = {}
    skip = {"id"}
    for column in table.columns:
        if column.name in skip:
            continue
        if column.default is not None and getattr(column.default, "is_scalar", False):
            defaults[column.name] = column.default.arg
        elif column.server_default is not None and not column.nullable:
            skip.add(column.name)  # the database fills it
        else:
            defaults[column.name] = None
    out = []
    for code, record in zip(codes, records):
        row = dict(defaults)
        row.update({k: v for k, v in record.items() if k not in skip and v is not None})
        manager_id = row.get("manager_id") or actor_id
        row.update(code=code, manager_id=manager_id, owner_id=actor_id, department_id=departments.get(manager_id),
                   created_by_id=actor_id, updated_by_id=None, created_at=now, updated_at=now)
        out.append(row)
    return out


def import_customers(data: bytes, filename: str | None = None) -> ImportResult:
    """Check the whole file and, when every row is right, insert every customer (the caller commits).

    Raises ValidationError when the file cannot be read as the template; returns a result with
    `errors` (and nothing written) when some rows are wrong.
    """
    from app.audit import current_actor
    from app.services.demo import bulk_insert
    from models.customers import Customer
    from models.system import OperationLog

    headers, body = read_sheet(data)
    positions = map_headers(headers)
    result = ImportResult(rows=len(body), headers=headers, raw_rows=body)
    if not body:
        raise ImportRefused(gettext("The file holds no customer rows."), "file")
    actor_id, actor_name = current_actor()
    records, errors = validate_rows(headers, body, positions, actor_id)
    if errors:
        errors.sort(key=lambda e: (e.row, e.column))
        result.errors = errors
        return result
    session = _session()
    rows = _complete(records, actor_id)
    result.imported = bulk_insert(session, Customer.__table__, rows)
    result.first_code, result.last_code = rows[0]["code"], rows[-1]["code"]
    session.execute(OperationLog.__table__.insert(), [{
        "at": datetime.now(), "user_id": actor_id, "username": actor_name, "action": "import",
        "table_name": Customer.__tablename__, "record_id": f"{result.first_code}~{result.last_code}"[:50],
        "changes": json.dumps({"rows": [None, result.imported], "file": [None, filename or ""],
                               "codes": [None, f"{result.first_code} ~ {result.last_code}"]}, ensure_ascii=False),
    }])
    return result
