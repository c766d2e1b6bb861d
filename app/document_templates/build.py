"""Builds the shipped default Word templates of the business documents (python-docx), one per type of
app.services.documents.DOC_TYPES. Run once after changing the wording; the outputs are committed:

    python3 -m app.document_templates.build

The variables are the context of app.services.documents (doc.number, customer.name, …); tables of
counter-guarantee measures repeat a row with docxtpl's {%tr for … %} rows. Every placeholder is written
in one run, so Word's run splitting does not come into it.
"""
import os

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

HERE = os.path.dirname(os.path.abspath(__file__))
BODY_PT = 12  # 小四
TITLE_PT = 18  # 小二


def _east_asian(style_or_run, name: str) -> None:
    r_pr = style_or_run.element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def new_document(title: str) -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(2.54), Cm(2.54)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(BODY_PT)
    _east_asian(normal, "宋体")
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.5
    doc.core_properties.title = title
    doc.core_properties.author = "{{ company.name }}"
    return doc


def title(doc, text: str, size=TITLE_PT, space_after=6):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = Pt(space_after)
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(size)
    _east_asian(run, "黑体")
    return p


def number_line(doc, text="编号：{{ doc.number }}"):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.paragraph_format.space_after = Pt(12)
    p.add_run(text).font.size = Pt(10.5)
    return p


def para(doc, text: str = "", indent=True, bold=False, align=None, space_before=0):
    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    if align:
        p.alignment = align
    if space_before:
        p.paragraph_format.space_before = Pt(space_before)
    if text:
        run = p.add_run(text)
        run.bold = bold
    return p


def heading(doc, text: str):
    """A contract clause heading (第一条 …), bold."""
    return para(doc, text, indent=True, bold=True, space_before=4)


def facts_table(doc, rows):
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Cm(4.2), Cm(11.4)
        cells[0].paragraphs[0].add_run(label).bold = True
        cells[1].paragraphs[0].add_run(value)
    doc.add_paragraph()
    return table


def measures_table(doc):
    """Counter-guarantee measures: one row per item of counter_measures (docxtpl row loop)."""
    table = doc.add_table(rows=4, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Cm(1.4), Cm(2.6), Cm(8.6), Cm(3.0))
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    for cell, text in zip(table.rows[0].cells, ("序号", "反担保方式", "反担保物或保证人", "评估价值（元）")):
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    table.rows[1].cells[0].paragraphs[0].add_run("{%tr for m in counter_measures %}")
    for cell, text in zip(table.rows[2].cells, ("{{ loop.index }}", "{{ m.kind }}", "{{ m.description }}",
                                                  "{{ m.value }}")):
        cell.paragraphs[0].add_run(text)
    table.rows[2].cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    table.rows[2].cells[3].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    table.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")
    doc.add_paragraph()
    return table


def signature_block(doc, left: list[str], right: list[str] | None = None):
    """Signature and seal lines; two parties side by side (a table without borders), or one on the right."""
    doc.add_paragraph()
    if right is None:
        for line in left:
            p = para(doc, line, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
            p.paragraph_format.space_before = Pt(6)
        return None
    table = doc.add_table(rows=max(len(left), len(right)), cols=2)
    for i, row in enumerate(table.rows):
        for cell, lines in zip(row.cells, (left, right)):
            cell.width = Cm(7.8)
            if i < len(lines):
                cell.paragraphs[0].add_run(lines[i])
            cell.paragraphs[0].paragraph_format.space_before = Pt(8)
    return table


def page_break(doc):
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


AMOUNT = "人民币（大写）{{ guarantee.amount_words }}（小写：¥{{ guarantee.amount }}元）"
CUSTOMER_LINE = ("{{ customer.name }}（证件号码/统一社会信用代码：{{ customer.id_number }}；住所：{{ customer.address }}；"
                 "法定代表人：{{ customer.legal_rep }}）")


# --- 意向函 --------------------------------------------------------------------------------------------

def intention_letter():
    doc = new_document("担保意向函")
    title(doc, "担 保 意 向 函")
    number_line(doc)
    para(doc, "{{ bank.name }}：", indent=False)
    para(doc, "贵行客户" + CUSTOMER_LINE + "因经营需要，拟向贵行申请借款" + AMOUNT +
         "，借款期限{{ guarantee.term_months }}个月，借款用途为：{{ guarantee.purpose }}。该借款人已向我公司申请"
         "{{ product.name }}业务（业务编号：{{ guarantee.code }}）。")
    para(doc, "经我公司保前调查及受理审批，我公司有意为上述借款提供连带责任保证担保，年担保费率为"
         "{{ guarantee.fee_rate }}。我公司的担保以下列条件全部满足为前提：")
    para(doc, "一、该笔业务经我公司评审委员会审议通过并经总经理签批；")
    para(doc, "二、借款人按我公司要求落实全部反担保措施，并足额缴纳担保费；")
    para(doc, "三、我公司与贵行、借款人分别签订正式的担保合同及反担保合同；")
    para(doc, "四、贵行对该笔借款的审批条件与本函所述借款金额、期限、用途一致。")
    para(doc, "本意向函仅表明我公司的担保意向，供贵行在授信审查时参考，不构成我公司对贵行的担保承诺，亦不产生任何保证"
         "责任；我公司的担保责任以正式签订的担保合同为准。本意向函自出具之日起九十日内有效，逾期自动失效。")
    para(doc, "特此函告。")
    signature_block(doc, ["{{ company.name }}（盖章）", "法定代表人或授权代表（签字）：__________",
                          "{{ doc.date }}"])
    para(doc, "联系人：__________　　联系电话：__________", indent=False, space_before=18)
    return doc


# --- 担保确认函 ----------------------------------------------------------------------------------------

def confirmation_letter():
    doc = new_document("担保确认函")
    title(doc, "担 保 确 认 函")
    number_line(doc)
    para(doc, "{{ bank.name }}：", indent=False)
    para(doc, "根据我公司与贵行的业务合作关系，贵行客户{{ customer.name }}申请的借款担保事项，业经我公司评审委员会审议"
         "通过并经总经理签批同意。我公司确认为下列借款提供连带责任保证担保，具体事项如下：")
    facts_table(doc, [
        ("借款人", "{{ customer.name }}"),
        ("证件号码", "{{ customer.id_number }}"),
        ("法定代表人", "{{ customer.legal_rep }}"),
        ("担保业务编号", "{{ guarantee.code }}"),
        ("担保品种", "{{ product.name }}"),
        ("担保金额（大写）", "人民币{{ guarantee.amount_words }}"),
        ("担保金额（小写）", "¥{{ guarantee.amount }}元"),
        ("借款期限", "{{ guarantee.term_months }}个月（自{{ guarantee.start_date }}至{{ guarantee.end_date }}）"),
        ("借款用途", "{{ guarantee.purpose }}"),
        ("保证方式", "连带责任保证"),
    ])
    para(doc, "请贵行在收到本确认函后，与我公司签订担保合同，并按贵行规定办理借款审批手续。贵行在收到我公司出具的"
         "《放款通知单》之前，请勿向借款人发放上述借款；实际放款金额不得超过上述担保金额，借款期限、用途须与本函一致。")
    para(doc, "本确认函自出具之日起六十日内有效；逾期未签订担保合同的，本确认函自动失效。本确认函不得转让，"
         "亦不得作为其他借款的担保依据。")
    para(doc, "特此确认。")
    signature_block(doc, ["{{ company.name }}（盖章）", "法定代表人或授权代表（签字）：__________",
                          "{{ doc.date }}"])
    return doc


# --- 公司决议 ------------------------------------------------------------------------------------------

def committee_resolution():
    doc = new_document("担保评审委员会决议")
    title(doc, "{{ company.name }}", size=16, space_after=0)
    title(doc, "担保评审委员会决议")
    number_line(doc)
    para(doc, "{{ doc.date }}，{{ company.name }}担保评审委员会（审保会）召开会议，对{{ customer.name }}申请的"
         "{{ product.name }}业务（业务编号：{{ guarantee.code }}）进行审议。出席会议的委员人数符合《担保评审委员会"
         "议事规则》的规定，会议审阅了保前调查报告、风险管控报告及评审意见，经与会委员充分讨论并记名投票表决，"
         "形成决议如下：")
    para(doc, "一、同意为" + CUSTOMER_LINE + "向{{ bank.name }}申请的借款提供连带责任保证担保，担保金额" + AMOUNT +
         "，担保期限{{ guarantee.term_months }}个月（自{{ guarantee.start_date }}至{{ guarantee.end_date }}），"
         "借款用途：{{ guarantee.purpose }}。")
    para(doc, "二、担保费按年费率{{ guarantee.fee_rate }}计收，按双方约定的收费计划缴纳；担保费未足额收取前，"
         "不得出具放款通知单。")
    para(doc, "三、借款人须落实以下反担保措施：")
    measures_table(doc)
    para(doc, "四、须办理登记的抵押物、质物，应在签订反担保合同后办妥抵押（质押）登记，他项权利证书或登记证明交我公司"
         "保管；保证人须出具同意承担连带责任的书面文件。")
    para(doc, "五、上述条件全部落实后，由业务部门与{{ bank.name }}签订担保合同，与借款人及反担保人签订反担保合同。")
    para(doc, "六、业务部门应按公司保后管理制度定期进行保后检查，发现风险信号及时报告风险管理部门。")
    para(doc, "本决议经总经理签批后生效，有效期九十日。")
    para(doc, "表决情况：出席委员____人，同意____人，不同意____人，弃权____人。", indent=False, space_before=12)
    signature_block(doc, ["审保会主任委员（签字）：__________", "出席委员（签字）：__________"],
                    ["总经理签批意见：__________", "总经理（签字）：__________"])
    para(doc, "{{ company.name }}（盖章）", indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, space_before=18)
    para(doc, "{{ doc.date }}", indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    return doc


# --- 担保合同（保证合同） ----------------------------------------------------------------------------

def guarantee_contract():
    doc = new_document("担保合同")
    title(doc, "担 保 合 同")
    title(doc, "（保证合同）", size=BODY_PT + 2)
    number_line(doc)
    para(doc, "债权人（甲方）：{{ bank.name }}", indent=False)
    para(doc, "保证人（乙方）：{{ company.name }}", indent=False)
    para(doc, "债务人：{{ customer.name }}（证件号码/统一社会信用代码：{{ customer.id_number }}）", indent=False)
    para(doc, "鉴于债务人向甲方申请借款" + AMOUNT + "，并与甲方签订借款合同（以下简称“主合同”），乙方同意为债务人在"
         "主合同项下的债务提供连带责任保证。为明确双方的权利义务，依据《中华人民共和国民法典》等有关法律法规，"
         "甲乙双方经协商一致，订立本合同。", space_before=8)
    heading(doc, "第一条　被担保的主债权")
    para(doc, "乙方所担保的主债权为甲方依据主合同向债务人发放的借款本金" + AMOUNT + "，借款期限{{ guarantee.term_months }}"
         "个月，自{{ guarantee.start_date }}起至{{ guarantee.end_date }}止，借款用途为{{ guarantee.purpose }}。"
         "实际放款金额与期限以借款借据为准，但放款金额不得超过上述金额。")
    heading(doc, "第二条　保证方式")
    para(doc, "乙方提供连带责任保证。")
    heading(doc, "第三条　保证范围")
    para(doc, "保证范围为主合同项下的借款本金及利息、罚息、复利、违约金、损害赔偿金和甲方实现债权的合理费用。")
    heading(doc, "第四条　保证期间")
    para(doc, "保证期间为主合同约定的债务履行期限届满之日起两年。主合同约定债务分期履行的，保证期间为最后一期债务"
         "履行期限届满之日起两年。")
    heading(doc, "第五条　甲方的权利和义务")
    para(doc, "（一）甲方在收到乙方出具的《放款通知单》后方可向债务人发放借款，并于放款后三个工作日内将借款借据复印件"
         "送交乙方；")
    para(doc, "（二）甲方应按主合同约定监督债务人按用途使用借款，发现债务人经营或财务状况严重恶化、挪用借款等情形的，"
         "应及时书面通知乙方；")
    para(doc, "（三）债务人逾期未偿还借款本息的，甲方应在逾期之日起十日内书面通知乙方；")
    para(doc, "（四）甲方与债务人变更主合同的借款金额、期限、利率等内容的，应事先取得乙方书面同意；未经同意加重债务的，"
         "乙方对加重部分不承担保证责任。")
    heading(doc, "第六条　乙方的权利和义务")
    para(doc, "（一）债务人未按主合同约定履行还款义务的，乙方在收到甲方书面代偿通知及有关证明材料之日起三十日内，"
         "在保证范围内承担保证责任；")
    para(doc, "（二）乙方承担保证责任后，即在其清偿范围内取得甲方对债务人的债权，甲方应向乙方提供有关资料，"
         "并协助乙方向债务人追偿。")
    heading(doc, "第七条　合同的生效、变更和解除")
    para(doc, "本合同自双方法定代表人（负责人）或授权代理人签字并加盖公章之日起生效。本合同生效后，任何一方不得擅自变更"
         "或解除；需要变更或解除的，应经双方协商一致并达成书面协议。")
    heading(doc, "第八条　争议的解决")
    para(doc, "因履行本合同发生的争议，由双方协商解决；协商不成的，任何一方均可向甲方住所地人民法院提起诉讼。")
    heading(doc, "第九条　其他")
    para(doc, "本合同项下乙方的担保业务编号为{{ guarantee.code }}，担保品种为{{ product.name }}。本合同一式肆份，"
         "甲乙双方各执贰份，具有同等法律效力。")
    signature_block(doc, ["甲方（盖章）：{{ bank.name }}", "法定代表人或授权代理人（签字）：", "__________",
                          "日期：______年____月____日"],
                    ["乙方（盖章）：{{ company.name }}", "法定代表人或授权代理人（签字）：", "__________",
                     "日期：{{ doc.date }}"])
    return doc


# --- 反担保合同 ----------------------------------------------------------------------------------------

def counter_contract():
    doc = new_document("反担保合同")
    title(doc, "反 担 保 合 同")
    number_line(doc)
    para(doc, "甲方（担保人）：{{ company.name }}", indent=False)
    para(doc, "乙方（反担保人）：{{ contract.counterparty or customer.name }}", indent=False)
    para(doc, "债务人：{{ customer.name }}（证件号码/统一社会信用代码：{{ customer.id_number }}）", indent=False)
    para(doc, "债务人住所：{{ customer.address }}　　法定代表人：{{ customer.legal_rep }}", indent=False)
    para(doc, "鉴于债务人向{{ bank.name }}（以下简称“债权人”）申请借款" + AMOUNT + "，借款期限{{ guarantee.term_months }}"
         "个月，借款用途为{{ guarantee.purpose }}，甲方应债务人申请为该笔借款向债权人提供连带责任保证担保（担保业务编号："
         "{{ guarantee.code }}）。为保障甲方承担保证责任后追偿权的实现，乙方自愿向甲方提供反担保。依据《中华人民共和国"
         "民法典》等有关法律法规，双方经协商一致，订立本合同。", space_before=8)
    heading(doc, "第一条　反担保范围")
    para(doc, "反担保范围包括：甲方因履行保证责任向债权人支付的全部款项，自支付之日起按日万分之五计算的资金占用费，"
         "债务人应付甲方的担保费、违约金、损害赔偿金，以及甲方实现债权的费用（包括但不限于诉讼费、仲裁费、律师费、"
         "评估费、拍卖费、公告费等）。")
    heading(doc, "第二条　反担保措施")
    para(doc, "乙方提供以下反担保措施，各项措施相互独立，甲方可选择其中任何一项或几项行使权利：")
    measures_table(doc)
    heading(doc, "第三条　担保费")
    para(doc, "债务人按年费率{{ guarantee.fee_rate }}向甲方支付担保费，按甲方出具的收费计划按时足额缴纳。甲方开始承担保证"
         "责任后，已收取的担保费不因借款提前清偿而退还。")
    heading(doc, "第四条　抵押、质押登记")
    para(doc, "反担保措施中须办理登记的，乙方应在本合同签订后十个工作日内配合甲方办妥抵押（质押）登记手续，并将他项"
         "权利证书或登记证明交甲方保管，登记费用由乙方承担。反担保期间，未经甲方书面同意，乙方不得转让、出租、"
         "重复抵押或以其他方式处分反担保物。")
    heading(doc, "第五条　乙方的承诺")
    para(doc, "（一）督促债务人按借款合同的约定使用借款并按期偿还借款本息；")
    para(doc, "（二）向甲方提供的资料真实、完整、有效，接受并配合甲方的保后检查；")
    para(doc, "（三）发生合并、分立、减资、股权变更、重大诉讼、经营困难等可能影响偿债能力的事项时，在五个工作日内"
         "书面通知甲方。")
    heading(doc, "第六条　代偿后的追偿")
    para(doc, "甲方履行保证责任后，乙方应与债务人一起在甲方代偿之日起立即向甲方清偿全部代偿款项及本合同约定的其他款项；乙方未清偿"
         "的，甲方有权依法处分反担保物并以所得价款优先受偿，或要求保证人承担连带清偿责任。")
    heading(doc, "第七条　反担保期间")
    para(doc, "反担保期间自本合同生效之日起，至甲方代偿款项及相关费用全部清偿之日后两年止。")
    heading(doc, "第八条　违约责任")
    para(doc, "乙方违反本合同约定的，甲方有权要求乙方限期纠正、追加反担保措施，并按担保金额的百分之五向甲方支付违约金；"
         "给甲方造成损失的，乙方还应赔偿全部损失。")
    heading(doc, "第九条　争议的解决")
    para(doc, "因履行本合同发生的争议，由双方协商解决；协商不成的，任何一方均可向甲方住所地人民法院提起诉讼。")
    heading(doc, "第十条　其他")
    para(doc, "本合同编号为{{ doc.number }}。本合同自双方签字并盖章之日起生效。本合同一式叁份，甲方执贰份，乙方执壹份，"
         "具有同等法律效力。")
    signature_block(doc, ["甲方（盖章）：{{ company.name }}", "法定代表人或授权代理人（签字）：", "__________",
                          "日期：{{ doc.date }}"],
                    ["乙方（盖章/签字）：{{ contract.counterparty or customer.name }}", "法定代表人或授权代理人（签字）：", "__________",
                     "日期：______年____月____日"])
    return doc


# --- 放款通知单 ----------------------------------------------------------------------------------------

def loan_notice():
    doc = new_document("放款通知单")
    title(doc, "放 款 通 知 单")
    number_line(doc)
    para(doc, "{{ bank.name }}：", indent=False)
    para(doc, "根据我公司与贵行签订的担保合同，我公司为下列借款提供连带责任保证担保。经核实，反担保合同已经签订，"
         "反担保措施已经落实，担保费已经收取。请贵行按下列内容办理放款手续：")
    facts_table(doc, [
        ("借款人", "{{ customer.name }}"),
        ("担保业务编号", "{{ guarantee.code }}"),
        ("担保品种", "{{ product.name }}"),
        ("担保金额", "人民币{{ guarantee.amount_words }}（¥{{ guarantee.amount }}元）"),
        ("放款金额（大写）", "人民币{{ (loan.amount or guarantee.amount) | amount_words }}"),
        ("放款金额（小写）", "¥{{ loan.amount or guarantee.amount }}元"),
        ("借款期限", "{{ guarantee.term_months }}个月（自{{ guarantee.start_date }}至{{ guarantee.end_date }}）"),
        ("借款用途", "{{ guarantee.purpose }}"),
        ("借据号", "{{ loan.number }}"),
        ("放款日期", "{{ loan.date }}"),
    ])
    para(doc, "放款金额不得超过上述担保金额，借款期限与用途须与担保合同一致。请贵行于放款后三个工作日内将借款借据复印件"
         "及下方回执送达我公司；借款人出现逾期、欠息或其他风险情况的，请及时书面通知我公司。")
    para(doc, "本通知单自出具之日起三十日内有效，逾期未放款的自动失效。")
    signature_block(doc, ["{{ company.name }}（盖章）", "经办人：__________　　复核人：__________", "{{ doc.date }}"])
    para(doc, "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -", indent=False,
         align=WD_ALIGN_PARAGRAPH.CENTER, space_before=12)
    title(doc, "放 款 回 执", size=BODY_PT + 2)
    para(doc, "{{ company.name }}：", indent=False)
    para(doc, "贵公司编号为{{ doc.number }}的放款通知单收悉。我行已于______年____月____日向{{ customer.name }}发放借款"
         "人民币（大写）____________________（小写：¥____________元），借据号____________，借款到期日______年____月"
         "____日。")
    signature_block(doc, ["{{ bank.name }}（盖章）", "经办人：__________", "______年____月____日"])
    return doc


BUILDERS = {
    "intention_letter": intention_letter,
    "confirmation_letter": confirmation_letter,
    "committee_resolution": committee_resolution,
    "guarantee_contract": guarantee_contract,
    "counter_contract": counter_contract,
    "loan_notice": loan_notice,
}


def build(directory: str = HERE) -> list[str]:
    paths = []
    for code, builder in BUILDERS.items():
        path = os.path.join(directory, f"{code}.docx")
        builder().save(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in build():
        print(written)
