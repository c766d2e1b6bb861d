"""Business documents from Word templates (BIZ-5/6/7/11/12): 意向函, 担保确认函, 公司决议, 担保合同,
反担保合同 and 放款通知单.

* DOC_TYPES: the document types, each with the context variables its template may use. The context is
  the shared contract of issue 4 (the guarantee business builds it, see context_from / the helpers
  money(), cn_date(), percent()); the administrator reads the list on the variables page.
* Templates are .docx files filled by docxtpl (Jinja inside Word) in a sandboxed Jinja environment
  with the filter `amount_words` (Chinese upper-case amounts). An uploaded template is checked before it
  is kept: a real Word document by its content (not its name), within the size limit, Jinja that
  parses, only this type's variables and known filters, and a trial fill with sample data that gives a
  readable document. Refused: a translated message naming the problem, and nothing is stored.
* Versions: every upload is a new version; one version per type is active; without one the shipped
  default app/document_templates/<type>.docx is used (built by app/document_templates/build.py).
* render_docx(doc_type, context) -> bytes; render_pdf(doc_type, context) -> bytes: a read-only PDF copy
  of the filled document (no office suite on the server: paragraphs and tables are laid out with fpdf2
  and the Noto CJK font; the PDF allows printing and copying, not editing).
"""
import hashlib
import io
import os
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import cn2an
from flask import current_app
from flask_babel import gettext, lazy_gettext as _l
from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationError

DEFAULTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "document_templates")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_MAX_MB = 5  # config DOCUMENT_TEMPLATE_MAX_MB overrides
MAX_UNPACKED = 60 * 1024 * 1024  # a .docx that unpacks to more than this is refused (zip bomb)
MAX_PARTS = 2000


# --- amounts, dates and rates as the documents write them ---------------------------------------------

def amount_in_words(amount) -> str:
    """Chinese upper-case amount (人民币大写): 1000000 -> 壹佰万元整, 12345.67 -> 壹万贰仟叁佰肆拾伍元陆角柒分.

    Rounded half up to the fen first; accepts Decimal, int, a numeric string with thousands separators
    ("1,000,000.00"); refuses what is not a finite number (ValueError)."""
    if isinstance(amount, float):
        amount = repr(amount)  # never through binary float arithmetic
    text = str(amount if amount is not None else "").replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}")
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value == 0:
        return "零元整"
    words = cn2an.an2cn(format(abs(value), "f"), "rmb")
    return ("负" + words) if value < 0 else words


def _amount_words_filter(value):
    """Jinja filter: an amount that is missing stays blank instead of breaking the whole document."""
    if value is None or isinstance(value, Undefined) or str(value).strip() == "":
        return ""
    try:
        return amount_in_words(value)
    except ValueError:
        return ""


def money(value) -> str:
    """1000000 -> "1,000,000.00" (the figures the contract puts in the documents)."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def cn_date(value: date | None) -> str:
    """date(2026, 11, 28) -> "2026年11月28日"."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def percent(rate) -> str:
    """An annual rate as a fraction (Numeric 9,6) -> percent string: Decimal("0.015") -> "1.50%"."""
    if rate is None:
        return ""
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


# --- document types and their variables ---------------------------------------------------------------

@dataclass(frozen=True)
class Variable:
    name: str  # dotted path in the context: "guarantee.amount"
    label: object
    example: str


@dataclass(frozen=True)
class DocType:
    code: str
    label: object
    variables: tuple  # dotted names (keys of VARIABLES); a list variable brings its item fields along
    description: object = ""

    def __getitem__(self, key):  # DOC_TYPES[t]["label"] works as well as DOC_TYPES[t].label
        return getattr(self, key)


VARIABLES = {v.name: v for v in [
    Variable("company.name", _l("Guarantee company name"), "示例融资担保有限公司"),
    Variable("customer.name", _l("Customer name"), "杭州示例贸易有限公司"),
    Variable("customer.id_number", _l("Customer ID number or unified social credit code"), "91330106MA2H0X1234"),
    Variable("customer.address", _l("Customer address"), "浙江省杭州市西湖区文三路100号"),
    Variable("customer.legal_rep", _l("Customer legal representative"), "张三"),
    Variable("bank.name", _l("Lending bank"), "中国工商银行股份有限公司杭州西湖支行"),
    Variable("product.name", _l("Guarantee product"), "流动资金贷款担保"),
    Variable("guarantee.code", _l("Guarantee number"), "DB202611280001"),
    Variable("guarantee.amount", _l("Guarantee amount in figures"), "1,000,000.00"),
    Variable("guarantee.amount_words", _l("Guarantee amount in Chinese upper case"), "壹佰万元整"),
    Variable("guarantee.term_months", _l("Guarantee term (months)"), "12"),
    Variable("guarantee.start_date", _l("Start date"), "2026年12月1日"),
    Variable("guarantee.end_date", _l("End date"), "2027年11月30日"),
    Variable("guarantee.fee_rate", _l("Guarantee fee rate (percent a year)"), "1.50%"),
    Variable("guarantee.purpose", _l("Loan purpose"), "补充流动资金，用于采购原材料"),
    Variable("counter_measures", _l("Counter-guarantee measures (a list; repeat with a for loop)"), ""),
    Variable("counter_measures.kind", _l("Measure kind"), "抵押"),
    Variable("counter_measures.description", _l("Measure description"), "杭州市西湖区某路1号房产（浙(2025)杭州市不动产权第0012345号）"),
    Variable("counter_measures.value", _l("Measure value"), "1,500,000.00"),
    Variable("loan.number", _l("Loan number"), "JK2026120100001"),
    Variable("loan.amount", _l("Loan amount"), "1,000,000.00"),
    Variable("loan.date", _l("Loan date"), "2026年12月1日"),
    Variable("contract.number", _l("Contract number"), "FDB202600012"),
    Variable("contract.counterparty", _l("Counter-guarantor (the other party of the contract)"), "李四"),
    Variable("doc.number", _l("Document number"), "YXH202611280001"),
    Variable("doc.date", _l("Document date (business date)"), "2026年11月28日"),
]}
LIST_VARIABLES = {"counter_measures": ("kind", "description", "value")}

_COMMON = ("company.name", "customer.name", "customer.id_number", "customer.address", "customer.legal_rep",
           "bank.name", "product.name", "guarantee.code", "guarantee.amount", "guarantee.amount_words",
           "guarantee.term_months", "guarantee.start_date", "guarantee.end_date", "guarantee.fee_rate",
           "guarantee.purpose", "doc.number", "doc.date")
_MEASURES = ("counter_measures",)
_LOAN = ("loan.number", "loan.amount", "loan.date")
_CONTRACT = ("contract.number", "contract.counterparty")  # the guarantee business adds these for contracts

DOC_TYPES = {t.code: t for t in [
    DocType("intention_letter", _l("Intention letter"), _COMMON,
            _l("To the lending bank after acceptance: the company intends to guarantee the loan.")),
    DocType("confirmation_letter", _l("Guarantee confirmation letter"), _COMMON,
            _l("To the lending bank after the company resolution: the company confirms the guarantee.")),
    DocType("committee_resolution", _l("Company resolution"), _COMMON + _MEASURES,
            _l("The review committee's resolution with the president's signature.")),
    DocType("guarantee_contract", _l("Guarantee contract"), _COMMON + _CONTRACT,
            _l("Between the company (guarantor) and the lending bank (creditor).")),
    DocType("counter_contract", _l("Counter-guarantee contract"), _COMMON + _MEASURES + _CONTRACT,
            _l("Between the company and the customer (or the counter-guarantors).")),
    DocType("loan_notice", _l("Loan notice"), _COMMON + _LOAN,
            _l("To the lending bank once fees are collected: the loan may be released.")),
]}


def doc_type(code: str) -> DocType:
    spec = DOC_TYPES.get(code or "")
    if spec is None:
        raise NotFound(gettext("Unknown document type."))
    return spec


def allowed_paths(code: str) -> set[str]:
    """Every dotted path a template of this type may read: the variables, their namespaces, list items."""
    paths = set()
    for name in doc_type(code).variables:
        paths.add(name)
        for item in LIST_VARIABLES.get(name, ()):
            paths.add(f"{name}.{item}")
    for name in list(paths):
        parts = name.split(".")
        for i in range(1, len(parts)):
            paths.add(".".join(parts[:i]))
    return paths


def variables_of(code: str) -> list[Variable]:
    """The variables of a type in catalogue order, list item fields after their list (for the page)."""
    wanted = set(doc_type(code).variables)
    wanted |= {f"{n}.{i}" for n in wanted for i in LIST_VARIABLES.get(n, ())}
    return [v for v in VARIABLES.values() if v.name in wanted]


def _nested(flat: dict) -> dict:
    out: dict = {}
    for name, value in flat.items():
        head, _, rest = name.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = value
        else:
            out[head] = value
    return out


def sample_context(code: str | None = None) -> dict:
    """A full context with example values (variables page, template preview, upload trial fill)."""
    flat = {v.name: v.example for v in VARIABLES.values() if "." in v.name and v.name.split(".")[0]
            not in LIST_VARIABLES}
    try:
        from app.extensions import db
        from models.system import CompanyInfo

        company = db.session.query(CompanyInfo).first()
        if company is not None and company.name:
            flat["company.name"] = company.name
        from app.services import business_date

        flat["doc.date"] = cn_date(business_date.today())
    except Exception:  # noqa: BLE001  outside an app context the examples stand
        pass
    context = _nested(flat)
    context["counter_measures"] = [
        {"kind": "抵押", "description": VARIABLES["counter_measures.description"].example, "value": "1,500,000.00"},
        {"kind": "保证", "description": "李四（身份证号330106198001011234）提供连带责任保证", "value": ""},
    ]
    return context


# --- Jinja --------------------------------------------------------------------------------------------

FILTERS = {"amount_words": _amount_words_filter}


def jinja_env() -> SandboxedEnvironment:
    """The environment every template is filled in: sandboxed (an uploaded template cannot reach Python
    internals), undefined values print as nothing (a document for an item that lacks, say, the loan yet
    still opens), autoescaped (a name with & or < keeps the XML valid)."""
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=True)
    env.filters.update(FILTERS)
    return env


def _docx_sources(content: bytes) -> list[str]:
    """The Jinja sources docxtpl fills in a .docx: body, headers, footers, footnotes and core properties,
    patched the way docxtpl patches them (runs split by Word joined again)."""
    from docx import Document
    from docx.oxml import parse_xml
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(io.BytesIO(content))
    document = Document(io.BytesIO(content))
    sources = [tpl.patch_xml(tpl.xml_to_string(document.element.body))]
    for rel in document.part.rels.values():
        if rel.reltype in (tpl.HEADER_URI, tpl.FOOTER_URI) and rel.target_part.blob:
            sources.append(tpl.patch_xml(tpl.xml_to_string(parse_xml(rel.target_part.blob))))
    for part in document.part.package.parts:
        if part.content_type.endswith("wordprocessingml.footnotes+xml"):
            sources.append(tpl.patch_xml(part.blob.decode("utf-8")))
    props = document.core_properties
    sources += [getattr(props, name) or "" for name in ("author", "comments", "identifier", "language",
                                                         "subject", "title")]
    return sources


def _chain(node):
    """A Getattr/Getitem chain down to a Name: (["guarantee", "amount"], None), or (None, rest) where the
    chain does not end in a name (rest still has to be visited)."""
    parts = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str):
                parts.append(node.arg.value)
            # an index into a list (counter_measures[0].kind) reads the list's item fields
            node = node.node
        elif isinstance(node, nodes.Name):
            return [node.name, *reversed(parts)], None
        else:
            return None, node


@dataclass
class TemplateAnalysis:
    used: set = field(default_factory=set)  # dotted paths the template reads
    unknown: set = field(default_factory=set)  # of those, the ones this type does not have
    filters: set = field(default_factory=set)
    unknown_filters: set = field(default_factory=set)
    unsafe: set = field(default_factory=set)  # attributes starting with _ (Python internals)


def analyse(code: str, content: bytes) -> TemplateAnalysis:
    """Parse the template's Jinja and list the variables and filters it uses. Raises ValidationError on
    a syntax error."""
    from jinja2 import meta

    env = jinja_env()
    allowed = allowed_paths(code)
    result = TemplateAnalysis()
    for source in _docx_sources(content):
        if "{" not in source:
            continue
        try:
            ast = env.parse(source)
        except TemplateSyntaxError as ex:
            raise ValidationError(gettext("The template is not valid: %(detail)s", detail=_plain(ex.message)),
                                  "file")
        # unknown filters first: the compiler behind find_undeclared_variables stops at the first one
        for node in ast.find_all((nodes.Filter, nodes.Test)):
            known = env.filters if isinstance(node, nodes.Filter) else env.tests
            if node.name not in known:
                result.unknown_filters.add(node.name)
        # Python internals (''.__class__ …): the sandbox would print nothing; say so instead of keeping it
        for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
            name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(name, str) and name.startswith("_"):
                result.unsafe.add(name)
        if result.unknown_filters or result.unsafe:
            continue
        try:
            context_names = meta.find_undeclared_variables(ast)
        except TemplateError as ex:
            raise ValidationError(gettext("The template is not valid: %(detail)s", detail=_plain(ex.message)),
                                  "file")
        # loop variables over a context list read that list's item fields
        loops = {}
        for loop in ast.find_all(nodes.For):
            parts, _ = _chain(loop.iter)
            if parts and parts[0] in context_names and isinstance(loop.target, nodes.Name):
                loops[loop.target.name] = ".".join(parts)

        def visit(node):
            if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)):
                parts, rest = _chain(node)
                if parts is None:
                    visit(rest)
                else:
                    if isinstance(node, (nodes.Getattr, nodes.Getitem)) or node.ctx == "load":
                        _record(parts)
                    # a non-constant index (m[x]) is visited on its own
                    inner = node
                    while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
                        if isinstance(inner, nodes.Getitem) and not isinstance(inner.arg, nodes.Const):
                            visit(inner.arg)
                        inner = inner.node
                return
            if isinstance(node, nodes.Filter):
                result.filters.add(node.name)
            for child in node.iter_child_nodes():
                visit(child)

        def _record(parts):
            root = parts[0]
            if root in loops and root not in context_names:
                path = loops[root].split(".") + parts[1:]
            elif root in context_names:
                path = parts
            else:
                return  # a name the template sets itself ({% set %}, loop, macro arguments)
            name = ".".join(path)
            result.used.add(name)
            # attributes of a value (customer.name.strip) are the value's business, not the context's
            prefixes = (".".join(path[:i]) for i in range(1, len(path)))
            if name not in allowed and not any(p in allowed and _is_leaf(p) for p in prefixes):
                result.unknown.add(name)

        visit(ast)
    return result


def _is_leaf(path: str) -> bool:
    return path in VARIABLES and path not in LIST_VARIABLES


def _plain(text) -> str:
    return re.sub(r"<[^>]+>", "", str(text or ""))[:200]


# --- rendering ----------------------------------------------------------------------------------------

def default_path(code: str) -> str:
    doc_type(code)
    return os.path.join(DEFAULTS_DIR, f"{code}.docx")


def default_bytes(code: str) -> bytes:
    with open(default_path(code), "rb") as fh:
        return fh.read()


def active_template(code: str):
    from app.extensions import db
    from models.documents import DocumentTemplate

    doc_type(code)
    return db.session.execute(select(DocumentTemplate).where(DocumentTemplate.doc_type == code,
                                                             DocumentTemplate.active.is_(True))).scalar()


def template_bytes(code: str) -> bytes:
    """The active uploaded version of the type, else the shipped default."""
    template = active_template(code)
    return template.content if template is not None else default_bytes(code)


def _as_text(value, key: str = ""):
    """Values as the documents write them, for a caller that passes model values instead of the contract's
    strings: a date as 2026年11月28日, a Decimal as 1,000,000.00 (a rate, key *rate, as 1.50%)."""
    if isinstance(value, dict):
        return {k: _as_text(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_text(v, key) for v in value]
    if isinstance(value, date):
        return cn_date(value)
    if isinstance(value, Decimal):
        return percent(value) if key.endswith("rate") else money(value)
    return value


def _complete(context: dict) -> dict:
    """The context as text (see _as_text); the amount in words follows from the amount when left out."""
    context = _as_text(dict(context or {}))
    guarantee = context.get("guarantee")
    if isinstance(guarantee, dict) and guarantee.get("amount") not in (None, "") and not guarantee.get(
            "amount_words"):
        context["guarantee"] = {**guarantee, "amount_words": _amount_words_filter(guarantee["amount"])}
    return context


def fill_template(content: bytes, context: dict) -> bytes:
    from docxtpl import DocxTemplate

    template = DocxTemplate(io.BytesIO(content))
    template.render(_complete(context), jinja_env=jinja_env(), autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_docx(code: str, context: dict) -> bytes:
    """The filled Word document of a type (the active template, else the shipped default)."""
    doc_type(code)
    return fill_template(template_bytes(code), context)


def download_name(code: str, context: dict | None = None, extension: str = "docx") -> str:
    """The file name a filled document is downloaded under: 意向函-<doc.number>.docx."""
    number = str(((context or {}).get("doc") or {}).get("number") or "").strip()
    number = re.sub(r'[\\/:*?"<>|\s]+', "_", number)
    return f"{doc_type(code).label}{'-' + number if number else ''}.{extension}"


def render_pdf(code: str, context: dict) -> bytes:
    """A read-only PDF copy of the filled document."""
    return docx_to_pdf(render_docx(code, context), title=str(doc_type(code).label))


# --- the read-only PDF copy ---------------------------------------------------------------------------

_PT = 25.4 / 72  # mm per point
_ALIGN = {"CENTER": "C", "RIGHT": "R", "JUSTIFY": "J", "DISTRIBUTE": "J", "BOTH": "J"}


def _fonts() -> tuple[tuple[str, int], tuple[str, int]]:
    from reports.voucher_pdf import FONT_CANDIDATES

    for path, index in FONT_CANDIDATES:
        if os.path.exists(path):
            bold = path.replace("-Regular", "-Bold")
            return (path, index), ((bold, index) if os.path.exists(bold) else (path, index))
    raise RuntimeError("No CJK font found: install fonts-noto-cjk")


def _style_value(paragraph, getter):
    """A formatting value from the paragraph's runs, else its style chain (None when nowhere set)."""
    for run in paragraph.runs:
        if run.text.strip():
            value = getter(run.font)
            if value is not None:
                return value
            break
    style = paragraph.style
    while style is not None:
        value = getter(style.font)
        if value is not None:
            return value
        style = style.base_style
    return None


def _alignment(paragraph) -> str:
    value = paragraph.alignment
    style = paragraph.style
    while value is None and style is not None:
        value = style.paragraph_format.alignment
        style = style.base_style
    return _ALIGN.get(getattr(value, "name", "") or "", "L")


def _bold(paragraph) -> bool:
    runs = [r for r in paragraph.runs if r.text.strip()]
    if runs and all(r.bold for r in runs):
        return True
    style = paragraph.style
    while style is not None:
        if style.font.bold is not None:
            return bool(style.font.bold) and not any(r.bold is False for r in runs)
        style = style.base_style
    return False


def _page_break_inside(paragraph) -> bool:
    return bool(paragraph._p.xpath('.//w:br[@w:type="page"]'))


def _cell_text(cell) -> str:
    return "\n".join(p.text for p in cell.paragraphs).strip().replace("\t", "    ")


def _has_borders(table) -> bool:
    style_name = (table.style.name if table.style is not None else "") or ""
    if "Grid" in style_name:
        return True
    borders = table._tbl.xpath("./w:tblPr/w:tblBorders/*")
    return any(b.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val") not in (None, "none", "nil")
               for b in borders)


def docx_to_pdf(content: bytes, title: str | None = None) -> bytes:
    """Lay out a filled .docx as PDF: paragraphs (size, bold, alignment, first-line indent, spacing, page
    breaks) and tables (column widths, merged cells, borders), A4 with the document's margins. Printing and
    copying are allowed, editing is not (a random owner password nobody keeps)."""
    from docx import Document
    from docx.table import Table
    from fpdf import FPDF
    from fpdf.enums import AccessPermission, WrapMode

    document = Document(io.BytesIO(content))
    section = document.sections[0]
    margins = [getattr(section, f"{side}_margin") for side in ("left", "top", "right", "bottom")]
    left, top, right, bottom = [(m.mm if m is not None else 25.0) for m in margins]
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(left, top, right)
    pdf.set_auto_page_break(True, margin=bottom)
    (regular, index), (bold, bold_index) = _fonts()
    pdf.add_font("cjk", fname=regular, collection_font_number=index)
    pdf.add_font("cjk", style="B", fname=bold, collection_font_number=bold_index)
    pdf.set_title(title or (document.core_properties.title or ""))
    pdf.set_creator("guarantee")
    pdf.alias_nb_pages()

    # the Word header and footer text (a letterhead, a reference line) on every page, small and grey
    header_text = " ".join(p.text.strip() for p in section.header.paragraphs if p.text.strip())
    footer_text = " ".join(p.text.strip() for p in section.footer.paragraphs if p.text.strip())

    def header():
        if header_text:
            pdf.set_y(max(top - 12, 5))
            pdf.set_font("cjk", size=8)
            pdf.set_text_color(120, 120, 120)
            pdf.cell(0, 5, header_text, align="C")
            pdf.set_text_color(0, 0, 0)
            pdf.set_y(top)

    def footer():
        pdf.set_y(-bottom + 2)
        pdf.set_font("cjk", size=8)
        pdf.set_text_color(120, 120, 120)
        if footer_text:
            pdf.cell(0, 4, footer_text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 5, f"第 {pdf.page_no()} 页 共 {{nb}} 页", align="C")
        pdf.set_text_color(0, 0, 0)

    pdf.header = header
    pdf.footer = footer
    pdf.add_page()
    width = pdf.w - left - right
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            _pdf_table(pdf, block, width, WrapMode)
            continue
        paragraph = block
        if paragraph.paragraph_format.page_break_before and pdf.get_y() > top + 1:
            pdf.add_page()
        size = _style_value(paragraph, lambda f: f.size)
        size = size.pt if size is not None else 10.5
        fmt = paragraph.paragraph_format
        before = fmt.space_before.pt if fmt.space_before is not None else 0
        after = fmt.space_after.pt if fmt.space_after is not None else 0
        text = paragraph.text.replace("\t", "    ")
        pdf.set_font("cjk", style="B" if _bold(paragraph) else "", size=size)
        if before:
            pdf.ln(before * _PT)
        if text.strip():
            indent = fmt.left_indent.mm if fmt.left_indent is not None else 0
            first = fmt.first_line_indent.pt if fmt.first_line_indent is not None else 0
            if first > 0:
                text = "\u3000" * max(1, round(first / size)) + text.lstrip()
            pdf.set_x(left + max(indent, 0))
            pdf.multi_cell(width - max(indent, 0), size * 1.6 * _PT, text, align=_alignment(paragraph),
                           wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
        elif not _page_break_inside(paragraph):
            pdf.ln(size * 1.6 * _PT)
        if after:
            pdf.ln(after * _PT)
        if _page_break_inside(paragraph):
            pdf.add_page()
    pdf.set_encryption(owner_password=secrets.token_hex(16), user_password="",
                       permissions=AccessPermission.PRINT_LOW_RES | AccessPermission.PRINT_HIGH_RES
                       | AccessPermission.COPY | AccessPermission.COPY_FOR_ACCESSIBILITY)
    return bytes(pdf.output())


def _pdf_table(pdf, table, width, WrapMode) -> None:
    grid = [int(c.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}w") or 0)
            for c in table._tbl.xpath("./w:tblGrid/w:gridCol")]
    columns = len(grid) or max((len(r.cells) for r in table.rows), default=1)
    # python-docx and Word keep the real widths on the cells (tcW); the grid may be equal columns
    first = table.rows[0].cells if table.rows else []
    if len(first) == columns and all(cell.width for cell in first):
        grid = [cell.width for cell in first]
    if not grid or not all(grid):
        grid = [1] * columns
    rows = []
    for row in table.rows:
        cells, last = [], None
        for cell in row.cells:  # a merged cell comes back once per grid column it covers
            if last is not None and cell._tc is last[0]._tc:
                last[1] += 1
                continue
            last = [cell, 1]
            cells.append(last)
        rows.append(cells)
    if not rows:
        return
    size = 10.5
    pdf.set_font("cjk", size=size)
    with pdf.table(col_widths=grid, width=width, first_row_as_headings=False, text_align="LEFT",
                   borders_layout="ALL" if _has_borders(table) else "NONE", wrapmode=WrapMode.CHAR,
                   line_height=size * 1.6 * _PT, padding=1.5) as out:
        for cells in rows:
            line = out.row()
            for cell, span in cells:
                line.cell(_cell_text(cell), colspan=span,
                          align=_alignment(cell.paragraphs[0]) if cell.paragraphs else None)
            for _ in range(columns - sum(span for _, span in cells)):  # short rows are padded
                line.cell("")
    pdf.ln(2)


# --- uploads ------------------------------------------------------------------------------------------

def max_bytes() -> int:
    return int(current_app.config.get("DOCUMENT_TEMPLATE_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


def _read_limited(stream, limit: int) -> bytes:
    data = bytearray()
    while True:
        chunk = stream.read(64 * 1024)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise ValidationError(gettext("The file is larger than the limit of %(mb)s MB.",
                                          mb=limit // (1024 * 1024)), "file")


def check_word_file(data: bytes, filename: str) -> None:
    """A real .docx by its content: a zip package whose [Content_Types].xml names a Word main document,
    not too large unpacked, and a name ending in .docx."""
    from app.services.attachments import _extension, clean_name, detect

    if not data:
        raise ValidationError(gettext("The file is empty."), "file")
    kind = detect(io.BytesIO(data), data[:8192])
    if kind is None or kind.extension != "docx":
        if kind is not None and kind.extension == "doc":
            raise ValidationError(gettext("This is an old Word 97-2003 (.doc) file: open it in Word, save it as "
                                          ".docx and upload that."), "file")
        raise ValidationError(gettext("The file is not a Word document (.docx)."), "file")
    if _extension(clean_name(filename)) != "docx":
        raise ValidationError(gettext("The file is a Word document but its name does not end in .docx; "
                                      "rename it and upload it again."), "file")
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        infos = package.infolist()
        if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise ValidationError(gettext("The Word document unpacks to more than %(mb)s MB.",
                                          mb=MAX_UNPACKED // (1024 * 1024)), "file")
        if "word/document.xml" not in package.namelist():
            raise ValidationError(gettext("The file is not a Word document (.docx)."), "file")
    try:
        from docx import Document

        Document(io.BytesIO(data))
    except Exception:  # noqa: BLE001  any parse failure means the same thing to the user
        raise ValidationError(gettext("The Word document cannot be read; it may be damaged."), "file")


def check_template(code: str, data: bytes) -> TemplateAnalysis:
    """The Jinja of the template: valid, only this type's variables and known filters, and a trial fill
    with sample data that gives a document python-docx reads back."""
    analysis = analyse(code, data)
    if analysis.unknown:
        raise ValidationError(gettext(
            "The template uses variables that %(type)s does not have: %(names)s. See the list of variables.",
            type=doc_type(code).label, names=", ".join(sorted(analysis.unknown))), "file")
    if analysis.unsafe:
        raise ValidationError(gettext("The template uses attributes that are not allowed: %(names)s.",
                                      names=", ".join(sorted(analysis.unsafe))), "file")
    if analysis.unknown_filters:
        raise ValidationError(gettext("The template uses unknown filters: %(names)s.",
                                      names=", ".join(sorted(analysis.unknown_filters))), "file")
    try:
        filled = fill_template(data, sample_context(code))
        from docx import Document

        Document(io.BytesIO(filled))
    except TemplateError as ex:
        raise ValidationError(gettext("The template is not valid: %(detail)s", detail=_plain(ex.message)), "file")
    except Exception:  # noqa: BLE001  docxtpl/lxml failures: the template's tags break the document
        raise ValidationError(gettext("Filling the template with sample data did not give a readable document; "
                                      "check that every if or for block is closed in the same paragraph or "
                                      "table row."), "file")
    return analysis


def store_template(code: str, stream, filename: str, note: str | None = None, activate: bool = True):
    """Check and keep an uploaded template as the next version of its type (active unless told otherwise).
    Anything wrong: ValidationError and nothing is stored."""
    from app.extensions import db
    from app.services.attachments import clean_name
    from models.documents import DocumentTemplate, DocumentTemplateFile

    doc_type(code)
    note = (note or "").strip() or None
    if note and len(note) > 300:
        raise ValidationError(gettext("At most %(max)s characters.", max=300), "note")
    if stream is None or not filename:
        raise ValidationError(gettext("Choose a file to upload."), "file")
    data = _read_limited(stream, max_bytes())
    check_word_file(data, filename)
    analysis = check_template(code, data)
    try:
        if activate:
            _deactivate(code)
        version = (db.session.execute(select(func.max(DocumentTemplate.version))
                                      .where(DocumentTemplate.doc_type == code)).scalar() or 0) + 1
        template = DocumentTemplate(doc_type=code, version=version, active=bool(activate),
                                    original_name=clean_name(filename), note=note, size=len(data),
                                    sha256=hashlib.sha256(data).hexdigest(), variables=sorted(analysis.used),
                                    file=DocumentTemplateFile(content=data))
        db.session.add(template)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(gettext("Another template of this type was saved at the same moment; please try again."))
    except BaseException:
        db.session.rollback()
        raise
    return template


def _deactivate(code: str) -> None:
    """Switch off the active version of a type (row locked, so two switches queue) and flush, so the
    partial unique index sees it before another version is switched on."""
    from app.extensions import db
    from models.documents import DocumentTemplate

    rows = db.session.execute(select(DocumentTemplate).where(DocumentTemplate.doc_type == code,
                                                             DocumentTemplate.active.is_(True))
                              .with_for_update()).scalars().all()
    for row in rows:
        row.active = False
    db.session.flush()


def get_template(template_id):
    from app.extensions import db
    from models.documents import DocumentTemplate

    try:
        template = db.session.get(DocumentTemplate, int(template_id))
    except (TypeError, ValueError, OverflowError):
        template = None
    if template is None:
        raise NotFound(gettext("The page or record does not exist."))
    return template


def activate(template_id):
    """Make this version the one in use for its type."""
    from app.extensions import db

    template = get_template(template_id)
    try:
        _deactivate(template.doc_type)
        template.active = True
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(gettext("Another template of this type was switched at the same moment; please try again."))
    return template


def use_default(code: str) -> None:
    """No uploaded version active: the shipped default is used again."""
    from app.extensions import db

    doc_type(code)
    _deactivate(code)
    db.session.commit()


def versions(code: str):
    from app.extensions import db
    from models.documents import DocumentTemplate

    return db.session.execute(select(DocumentTemplate).where(DocumentTemplate.doc_type == code)
                              .order_by(DocumentTemplate.version.desc())).scalars().all()


def overview() -> list[dict]:
    """Per type: label, the active version (or None: the default is used), the number of versions."""
    from app.extensions import db
    from models.documents import DocumentTemplate

    counts = dict(db.session.execute(select(DocumentTemplate.doc_type, func.count())
                                     .group_by(DocumentTemplate.doc_type)).all())
    active = {t.doc_type: t for t in db.session.execute(
        select(DocumentTemplate).where(DocumentTemplate.active.is_(True))).scalars()}
    return [{"type": spec, "active": active.get(code), "count": counts.get(code, 0)}
            for code, spec in DOC_TYPES.items()]
