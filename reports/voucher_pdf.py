"""Voucher print (GL-3): the usual Chinese 记账凭证 layout, one voucher per page (long vouchers continue
on the next page), several vouchers in one PDF. fpdf2 with the Noto Sans CJK font installed by .ci/run
(fonts-noto-cjk); the amount in words comes from cn2an (壹万贰仟元整)."""
import os
from decimal import Decimal

import cn2an
from fpdf import FPDF

FONT_CANDIDATES = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2 = Simplified Chinese (SC)
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
]
LINES_PER_PAGE = 6
PAGE = (240, 140)  # mm: the common voucher paper, landscape
TYPE_TITLES = {"ji": "记账凭证", "shou": "收款凭证", "fu": "付款凭证", "zhuan": "转账凭证"}


def amount_in_words(amount) -> str:
    value = Decimal(amount or 0).quantize(Decimal("0.01"))
    return cn2an.an2cn(format(value, "f"), "rmb")


def _money(value) -> str:
    return f"{Decimal(value):,.2f}" if value else ""


def _person(user) -> str:
    return f"{user.first_name or ''}{user.last_name or ''}" if user is not None else ""


def _font_path():
    for path, index in FONT_CANDIDATES:
        if os.path.exists(path):
            return path, index
    raise RuntimeError("No CJK font found: install fonts-noto-cjk")


def _aux_text(line) -> str:
    parts = []
    if line.customer is not None:
        parts.append(line.customer.name)
    if line.department is not None:
        parts.append(line.department.name)
    if line.project_code:
        parts.append(line.project_code)
    if line.bank_account:
        parts.append(line.bank_account)
    return "/".join(parts)


def _account_text(account) -> str:
    names, node = [], account
    while node is not None:
        names.append(node.name)
        node = node.parent
    return f"{account.code} {'-'.join(reversed(names))}"


def vouchers_pdf(vouchers, company_name: str | None = None) -> bytes:
    from app.extensions import db
    from models.system import CompanyInfo

    if company_name is None:
        company = db.session.query(CompanyInfo).first()
        company_name = company.name if company is not None else ""
    pdf = FPDF(orientation="P", unit="mm", format=PAGE)
    pdf.set_auto_page_break(False)
    path, index = _font_path()
    pdf.add_font("cjk", fname=path, collection_font_number=index) if path.endswith(".ttc") else \
        pdf.add_font("cjk", fname=path)
    for voucher in vouchers:
        lines = list(voucher.lines)
        pages = max(1, -(-len(lines) // LINES_PER_PAGE))
        for page in range(pages):
            _page(pdf, voucher, lines[page * LINES_PER_PAGE:(page + 1) * LINES_PER_PAGE], page + 1, pages,
                  company_name)
    return bytes(pdf.output())


def _page(pdf, voucher, lines, page, pages, company_name):
    pdf.add_page()
    left, width = 10, PAGE[0] - 20
    pdf.set_font("cjk", size=18)
    pdf.set_xy(left, 8)
    title = TYPE_TITLES.get(voucher.voucher_type, "记账凭证")
    pdf.cell(width, 9, "  ".join(title), align="C")
    pdf.set_draw_color(0, 0, 0)
    mid = left + width / 2
    pdf.line(mid - 30, 18, mid + 30, 18)
    pdf.line(mid - 30, 19, mid + 30, 19)
    pdf.set_font("cjk", size=9)
    pdf.set_xy(left, 21)
    pdf.cell(width / 3, 6, f"核算单位：{company_name}")
    pdf.cell(width / 3, 6, f"日期：{voucher.voucher_date.year}年{voucher.voucher_date.month:02d}月"
                           f"{voucher.voucher_date.day:02d}日", align="C")
    number = voucher.display_number + (f"  ({page}/{pages})" if pages > 1 else "")
    pdf.cell(width / 3, 6, f"凭证号：{number}", align="R")
    # table
    widths = [62, 86, 36, 36]
    top = 28
    pdf.set_xy(left, top)
    pdf.set_font("cjk", size=10)
    for w, head in zip(widths, ["摘  要", "会计科目", "借方金额", "贷方金额"]):
        pdf.cell(w, 8, head, border=1, align="C")
    y = top + 8
    row_h = 9
    for i in range(LINES_PER_PAGE):
        line = lines[i] if i < len(lines) else None
        pdf.set_xy(left, y)
        pdf.set_font("cjk", size=8.5)
        if line is not None:
            pdf.cell(widths[0], row_h, _fit(pdf, line.summary or "", widths[0]), border=1)
            account = _account_text(line.account)
            aux = _aux_text(line)
            x = pdf.get_x()
            pdf.cell(widths[1], row_h, "", border=1)
            pdf.set_xy(x, y + (0.6 if aux else 2))
            pdf.cell(widths[1], 4.5, _fit(pdf, account, widths[1]))
            if aux:
                pdf.set_font("cjk", size=7)
                pdf.set_xy(x, y + 4.6)
                pdf.cell(widths[1], 4, _fit(pdf, aux, widths[1]))
                pdf.set_font("cjk", size=8.5)
            pdf.set_xy(x + widths[1], y)
            pdf.cell(widths[2], row_h, _money(line.debit), border=1, align="R")
            pdf.cell(widths[3], row_h, _money(line.credit), border=1, align="R")
        else:
            for w in widths:
                pdf.cell(w, row_h, "", border=1)
        y += row_h
    # total with the amount in Chinese upper case (on the last page of the voucher)
    pdf.set_xy(left, y)
    pdf.set_font("cjk", size=9)
    last = page == pages
    words = f"合计：{amount_in_words(voucher.total_debit)}" if last else "（转下页）"
    pdf.cell(widths[0] + widths[1], row_h, _fit(pdf, words, widths[0] + widths[1]), border=1)
    pdf.cell(widths[2], row_h, _money(voucher.total_debit) if last else "", border=1, align="R")
    pdf.cell(widths[3], row_h, _money(voucher.total_credit) if last else "", border=1, align="R")
    # attachments at the right edge, signatures below
    pdf.set_font("cjk", size=8)
    pdf.set_xy(left + width + 0.5, top + 10)
    pdf.multi_cell(8, 4, f"附单据{voucher.attachment_count}张", align="C")
    pdf.set_font("cjk", size=9)
    pdf.set_xy(left, y + row_h + 3)
    cashier = _person(voucher.cashier)
    quarter = width / 4
    pdf.cell(quarter, 6, f"记账：{_person(voucher.poster)}")
    pdf.cell(quarter, 6, f"审核：{_person(voucher.reviewer)}")
    pdf.cell(quarter, 6, f"出纳：{cashier}")
    pdf.cell(quarter, 6, f"制单：{_person(voucher.maker)}")
    if voucher.status != "posted" or voucher.reversal_of_id:
        pdf.set_font("cjk", size=7)
        pdf.set_text_color(150, 150, 150)
        pdf.set_xy(left, PAGE[1] - 10)
        note = {"draft": "未审核", "reviewed": "已审核 未记账"}.get(voucher.status, "")
        if voucher.reversal_of_id and voucher.reversal_of is not None:
            note = (note + " " if note else "") + f"红字冲销 {voucher.reversal_of.period} {voucher.reversal_of.display_number}"
        pdf.cell(width, 5, note)
        pdf.set_text_color(0, 0, 0)


def _fit(pdf, text, width) -> str:
    """Cut text that would overflow its cell (with an ellipsis)."""
    text = text or ""
    limit = width - 2
    if pdf.get_string_width(text) <= limit:
        return text
    while text and pdf.get_string_width(text + "…") > limit:
        text = text[:-1]
    return text + "…"
