"""Ledger reference data (idempotent, loaded at every start): the default chart of accounts of a
financing-guarantee company under the Chinese enterprise accounting standards (企业会计准则), the
default voucher templates of the business financial events, and the chain head of GL-7.

Choices: 应收代偿款 is 1131 (the free 11xx slot next to receivables); the guarantee reserves follow the
insurance-style codes 2601 未到期责任准备金 / 2602 担保赔偿准备金 and their charges 6501 / 6502; guarantee
fee income is 6001 担保费收入 (the company's main business income). Existing accounts are never
changed: finance owns the chart once it is loaded.
"""
from sqlalchemy import select

# code, name, category, direction, flags (c=cash/bank, C=customer, D=department, P=project, B=bank account)
CHART = [
    ("1001", "库存现金", "asset", "debit", "c"),
    ("1002", "银行存款", "asset", "debit", "cB"),
    ("1012", "其他货币资金", "asset", "debit", "cB"),
    ("1031", "存出保证金", "asset", "debit", "B"),
    ("1101", "交易性金融资产", "asset", "debit", ""),
    ("1122", "应收账款", "asset", "debit", "C"),
    ("1123", "预付账款", "asset", "debit", ""),
    ("1131", "应收代偿款", "asset", "debit", "CP"),
    ("1132", "应收利息", "asset", "debit", ""),
    ("1221", "其他应收款", "asset", "debit", ""),
    ("122101", "职工借款", "asset", "debit", "D"),
    ("122102", "其他", "asset", "debit", ""),
    ("1231", "坏账准备", "asset", "credit", ""),
    ("1441", "抵债资产", "asset", "debit", "C"),
    ("1511", "长期股权投资", "asset", "debit", ""),
    ("1601", "固定资产", "asset", "debit", ""),
    ("1602", "累计折旧", "asset", "credit", ""),
    ("1701", "无形资产", "asset", "debit", ""),
    ("1702", "累计摊销", "asset", "credit", ""),
    ("1801", "长期待摊费用", "asset", "debit", ""),
    ("1811", "递延所得税资产", "asset", "debit", ""),
    ("2001", "短期借款", "liability", "credit", ""),
    ("2202", "应付账款", "liability", "credit", ""),
    ("2203", "预收账款", "liability", "credit", "C"),
    ("2211", "应付职工薪酬", "liability", "credit", ""),
    ("221101", "工资", "liability", "credit", ""),
    ("221102", "社会保险费", "liability", "credit", ""),
    ("221103", "住房公积金", "liability", "credit", ""),
    ("2221", "应交税费", "liability", "credit", ""),
    ("222101", "应交增值税", "liability", "credit", ""),
    ("222102", "应交城市维护建设税", "liability", "credit", ""),
    ("222103", "应交教育费附加", "liability", "credit", ""),
    ("222104", "应交企业所得税", "liability", "credit", ""),
    ("222105", "应交个人所得税", "liability", "credit", ""),
    ("2241", "其他应付款", "liability", "credit", ""),
    ("224101", "存入保证金", "liability", "credit", "CP"),
    ("224102", "其他", "liability", "credit", ""),
    ("2601", "未到期责任准备金", "liability", "credit", ""),
    ("2602", "担保赔偿准备金", "liability", "credit", ""),
    ("4001", "实收资本", "equity", "credit", ""),
    ("4002", "资本公积", "equity", "credit", ""),
    ("4101", "盈余公积", "equity", "credit", ""),
    ("4102", "一般风险准备", "equity", "credit", ""),
    ("4103", "本年利润", "equity", "credit", ""),
    ("4104", "利润分配", "equity", "credit", ""),
    ("410401", "未分配利润", "equity", "credit", ""),
    ("410402", "提取法定盈余公积", "equity", "credit", ""),
    ("410403", "提取一般风险准备", "equity", "credit", ""),
    ("6001", "担保费收入", "profit_loss", "credit", "CP"),
    ("6051", "其他业务收入", "profit_loss", "credit", ""),
    ("6111", "投资收益", "profit_loss", "credit", ""),
    ("6301", "营业外收入", "profit_loss", "credit", ""),
    ("6403", "税金及附加", "profit_loss", "debit", ""),
    ("6501", "提取未到期责任准备金", "profit_loss", "debit", ""),
    ("6502", "提取担保赔偿准备金", "profit_loss", "debit", ""),
    ("6602", "管理费用", "profit_loss", "debit", ""),
    ("660201", "职工薪酬", "profit_loss", "debit", "D"),
    ("660202", "办公费", "profit_loss", "debit", "D"),
    ("660203", "差旅费", "profit_loss", "debit", "D"),
    ("660204", "业务招待费", "profit_loss", "debit", "D"),
    ("660205", "折旧费", "profit_loss", "debit", ""),
    ("660206", "租赁费", "profit_loss", "debit", ""),
    ("660299", "其他", "profit_loss", "debit", "D"),
    ("6603", "财务费用", "profit_loss", "debit", ""),
    ("660301", "利息收入", "profit_loss", "debit", ""),
    ("660302", "手续费", "profit_loss", "debit", ""),
    ("6701", "资产减值损失", "profit_loss", "debit", ""),
    ("6711", "营业外支出", "profit_loss", "debit", ""),
    ("6801", "所得税费用", "profit_loss", "debit", ""),
    ("6901", "以前年度损益调整", "profit_loss", "debit", ""),
]

# event kind -> (template name, voucher type, summary, [(side, account code, amount field, line summary)])
TEMPLATES = {
    "fee_received": ("收取担保费", "shou", "收{customer}担保费", [
        ("debit", "1002", "amount", "收{customer}担保费"), ("credit", "6001", "amount", "收{customer}担保费")]),
    "margin_received": ("收取存入保证金", "shou", "收{customer}保证金", [
        ("debit", "1002", "amount", "收{customer}保证金"), ("credit", "224101", "amount", "收{customer}保证金")]),
    "margin_refunded": ("退还存入保证金", "fu", "退{customer}保证金", [
        ("debit", "224101", "amount", "退{customer}保证金"), ("credit", "1002", "amount", "退{customer}保证金")]),
    # the refund of an early repayment is income given back: it reduces 担保费收入
    "fee_refunded": ("退还担保费", "fu", "退{customer}担保费", [
        ("debit", "6001", "amount", "提前还款退{customer}担保费"), ("credit", "1002", "amount", "退{customer}担保费")]),
    "compensation_paid": ("代偿支付", "fu", "为{customer}代偿", [
        ("debit", "1131", "amount", "为{customer}代偿 {project}"), ("credit", "1002", "amount", "代偿款支付")]),
    "recovery_received": ("追偿收回", "shou", "收回{customer}追偿款", [
        ("debit", "1002", "amount", "收回{customer}追偿款"), ("credit", "1131", "amount", "收回{customer}追偿款")]),
    # issue 7: the proceeds (amount) against the book value, the difference to 6711 (loss) or 6301 (gain);
    # lines whose detail is zero are left out.
    "foreclosed_asset_disposal": ("抵债资产处置", "shou", "处置{customer}抵债资产", [
        ("debit", "1002", "amount", "处置抵债资产收款"), ("debit", "6711", "loss", "处置{customer}抵债资产损失"),
        ("credit", "1441", "book_value", "处置{customer}抵债资产"),
        ("credit", "6301", "gain", "处置{customer}抵债资产收益")]),
    "foreclosed_asset_received": ("取得抵债资产", "zhuan", "{customer}以资抵债", [
        ("debit", "1441", "amount", "取得{customer}抵债资产"), ("credit", "1131", "amount", "{customer}以资抵债 {project}")]),
    "staff_borrowing": ("职工借款", "fu", "职工借款 {summary}", [
        ("debit", "122101", "amount", "职工借款 {summary}"), ("credit", "1002", "amount", "职工借款 {summary}")]),
    "staff_reimbursement": ("费用报销", "fu", "费用报销 {summary}", [
        ("debit", "660299", "amount", "报销 {summary}"), ("credit", "1002", "amount", "报销 {summary}")]),
    # issue 9 (OA-1): the part of a reimbursement that settles the staff member's borrowing (no money moves),
    # and a borrowing repaid in money
    "staff_borrowing_offset": ("报销冲抵借款", "zhuan", "报销冲借款 {summary}", [
        ("debit", "660299", "amount", "报销 {summary}"), ("credit", "122101", "amount", "冲借款 {summary}")]),
    "staff_repayment": ("职工还款", "shou", "职工还款 {summary}", [
        ("debit", "1002", "amount", "职工还款 {summary}"), ("credit", "122101", "amount", "职工还款 {summary}")]),
}


def _session():
    from app.extensions import db

    return db.session


def load_ledger_reference() -> None:
    """Create what is missing (never changes what finance configured). The caller commits."""
    from models.ledger import Account, ChainHead, VoucherTemplate, VoucherTemplateLine

    session = _session()
    accounts = {a.code: a for a in session.execute(select(Account)).scalars()}
    for code, name, category, direction, flags in CHART:
        if code in accounts:
            continue
        parent = accounts.get(code[:-2]) if len(code) > 4 else None
        account = Account(code=code, name=name, category=category, direction=direction, parent=parent,
                          level=(parent.level + 1) if parent is not None else 1, is_cash="c" in flags,
                          aux_customer="C" in flags, aux_department="D" in flags, aux_project="P" in flags,
                          aux_bank="B" in flags, enabled=True)
        session.add(account)
        accounts[code] = account
    session.flush()
    have = set(session.execute(select(VoucherTemplate.event_kind)).scalars())
    for kind, (name, voucher_type, summary, lines) in TEMPLATES.items():
        if kind in have:
            continue
        template = VoucherTemplate(event_kind=kind, name=name, voucher_type=voucher_type, summary=summary,
                                   enabled=True)
        for no, (side, code, field, line_summary) in enumerate(lines, start=1):
            template.lines.append(VoucherTemplateLine(line_no=no, side=side, account_id=accounts[code].id,
                                                      amount_field=field, summary=line_summary))
        session.add(template)
    if session.get(ChainHead, 1) is None:
        session.add(ChainHead(id=1, last_seq=0, last_hash=""))
    session.flush()
