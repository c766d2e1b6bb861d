"""Uploaded Excel workbooks, checked before anything reads them.

Never trusts the file name or the browser's content type: the bytes must be a zip archive holding an
Office Open XML spreadsheet (an .xls, a CSV or a renamed anything is refused), within the size limit,
with no entry that would inflate beyond a sane size (zip bombs), and openpyxl must open it in
read-only mode. Every refusal is a translated ValidationError; nothing is written anywhere.
"""
import io
import zipfile

from flask import current_app, has_app_context
from flask_babel import gettext

from app.errors import ValidationError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_ENTRIES = 10_000
SPREADSHEET_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def max_bytes() -> int:
    if has_app_context():
        return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))
    return DEFAULT_MAX_BYTES


def read_upload(storage) -> bytes:
    """The bytes of an uploaded file (werkzeug FileStorage), refusing an empty or too large one
    without reading more than the limit."""
    if storage is None or not getattr(storage, "filename", None):
        raise ValidationError(gettext("Choose an Excel file (.xlsx) to upload."), "file")
    limit = max_bytes()
    data = storage.stream.read(limit + 1)
    check_size(data, limit)
    return data


def check_size(data: bytes, limit: int | None = None) -> None:
    limit = limit or max_bytes()
    if not data:
        raise ValidationError(gettext("The file is empty."), "file")
    if len(data) > limit:
        raise ValidationError(gettext("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)), "file")


def _not_xlsx():
    return ValidationError(gettext("The file is not an Excel workbook (.xlsx). Save it in Excel as "
                                   "\"Excel Workbook (*.xlsx)\" and upload it again."), "file")


def open_workbook(data: bytes):
    """An openpyxl workbook (read-only, cell values not formulas) of checked .xlsx bytes. Close it after use."""
    import openpyxl

    check_size(data)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _not_xlsx()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
                raise _not_xlsx()
            names = {e.filename for e in entries}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise _not_xlsx()
            if SPREADSHEET_TYPE not in archive.read("[Content_Types].xml"):
                raise _not_xlsx()  # e.g. a macro workbook (.xlsm) or a Word document renamed
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        raise _not_xlsx() from None
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on damaged files; none of their text reaches the user
        raise _not_xlsx() from None


# --- a fast reader of the first sheet's values -------------------------------------------------------
# openpyxl builds an object per cell (about 60 µs each); a 10,000-row import spends most of its time
# there. The rows of a checked workbook are read here with the expat parser straight from the XML:
# shared and inline strings, numbers, booleans, and dates (numbers whose style is a date format).

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))


def _parse(xml: bytes, start=None, end=None, text=None):
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator="|")
    parser.buffer_text = True
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    parser.Parse(xml, True)


def _local(name: str) -> str:
    return name.rsplit("|", 1)[-1]


def _first_sheet_path(archive) -> str:
    first = {}
    rels = {}

    def on_book(name, attrs):
        if _local(name) == "sheet" and not first:
            first["rid"] = attrs.get(f"{_NS_REL}|id")

    _parse(archive.read("xl/workbook.xml"), on_book)

    def on_rel(name, attrs):
        if _local(name) == "Relationship":
            rels[attrs.get("Id")] = attrs.get("Target", "")

    _parse(archive.read("xl/_rels/workbook.xml.rels"), on_rel)
    target = rels.get(first.get("rid"), "worksheets/sheet1.xml")
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _shared_strings(archive) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings: list[str] = []
    state = {"parts": None, "in_t": False, "skip": 0}

    def start(name, attrs):
        tag = _local(name)
        if tag == "si":
            state["parts"] = []
        elif tag == "rPh":
            state["skip"] += 1  # phonetic guide: not part of the value
        elif tag == "t" and not state["skip"]:
            state["in_t"] = True

    def end(name):
        tag = _local(name)
        if tag == "si":
            strings.append("".join(state["parts"]))
            state["parts"] = None
        elif tag == "rPh":
            state["skip"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def text(data):
        if state["in_t"]:
            state["parts"].append(data)

    _parse(archive.read("xl/sharedStrings.xml"), start, end, text)
    return strings


def _date_styles(archive) -> set[int]:
    """Indexes of the cell styles (s="n") whose number format is a date."""
    if "xl/styles.xml" not in archive.namelist():
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    state = {"in_xfs": False}

    def start(name, attrs):
        tag = _local(name)
        if tag == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            xfs.append(int(attrs.get("numFmtId", "0")))

    def end(name):
        if _local(name) == "cellXfs":
            state["in_xfs"] = False

    _parse(archive.read("xl/styles.xml"), start, end)

    def is_date(fmt_id):
        if fmt_id in custom:
            import re

            code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", custom[fmt_id]).lower()
            return any(ch in code for ch in "ymd") and "0.0" not in code
        return fmt_id in _DATE_FORMAT_IDS

    return {index for index, fmt_id in enumerate(xfs) if is_date(fmt_id)}


def _column_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


def read_first_sheet(data: bytes) -> list[tuple[int, list]]:
    """[(row number, [values by column])] of the first sheet of checked .xlsx bytes (open_workbook first)."""
    from datetime import datetime, timedelta

    epoch = datetime(1899, 12, 30)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        strings = _shared_strings(archive)
        date_styles = _date_styles(archive)
        sheet_xml = archive.read(_first_sheet_path(archive))
    rows: list[tuple[int, list]] = []
    state = {"row": None, "number": 0, "col": 0, "type": "n", "style": 0, "parts": None, "in_v": False}

    def start(name, attrs):
        tag = name[name.rfind("|") + 1:]
        if tag == "c":
            ref = attrs.get("r")
            state["col"] = _column_index(ref) if ref else state["col"] + 1
            state["type"] = attrs.get("t", "n")
            state["style"] = int(attrs.get("s", "0"))
            state["parts"] = []
        elif tag in ("v", "t"):
            state["in_v"] = state["parts"] is not None
        elif tag == "row":
            state["number"] = int(attrs.get("r", state["number"] + 1))
            state["row"] = []
            state["col"] = -1

    def end(name):
        tag = name[name.rfind("|") + 1:]
        if tag in ("v", "t"):
            state["in_v"] = False
        elif tag == "c":
            raw = "".join(state["parts"]) if state["parts"] else None
            state["parts"] = None
            value = None
            kind = state["type"]
            if raw is not None:
                if kind == "s":
                    value = strings[int(raw)]
                elif kind in ("str", "inlineStr"):
                    value = raw
                elif kind == "b":
                    value = raw == "1"
                elif kind == "e":
                    value = None
                else:
                    number = float(raw)
                    if state["style"] in date_styles:
                        value = epoch + timedelta(days=number)
                    else:
                        value = int(number) if number.is_integer() and "E" not in raw.upper() else number
            row = state["row"]
            col = state["col"]
            if value is not None and row is not None:
                row.extend([None] * (col - len(row)))
                row.append(value)
        elif tag == "row":
            if state["row"]:
                rows.append((state["number"], state["row"]))
            state["row"] = None

    def text(data):
        if state["in_v"]:
            state["parts"].append(data)

    try:
        _parse(sheet_xml, start, end, text)
    except Exception:
        raise _not_xlsx() from None
    return rows
