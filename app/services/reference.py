"""Reference data loaded at every start (idempotent): dictionaries, numbering rules, settings,
the head-office department, approval posts and the company record."""
from sqlalchemy import select

from app.services import settings

INDUSTRIES = [  # GB/T 4754-2017 sections
    ("A", "农、林、牧、渔业"), ("B", "采矿业"), ("C", "制造业"), ("D", "电力、热力、燃气及水生产和供应业"),
    ("E", "建筑业"), ("F", "批发和零售业"), ("G", "交通运输、仓储和邮政业"), ("H", "住宿和餐饮业"),
    ("I", "信息传输、软件和信息技术服务业"), ("J", "金融业"), ("K", "房地产业"), ("L", "租赁和商务服务业"),
    ("M", "科学研究和技术服务业"), ("N", "水利、环境和公共设施管理业"), ("O", "居民服务、修理和其他服务业"),
    ("P", "教育"), ("Q", "卫生和社会工作"), ("R", "文化、体育和娱乐业"), ("S", "公共管理、社会保障和社会组织"),
    ("T", "国际组织"),
]

# Province → cities (GB/T 2260 codes); the demo data and the region select use these.
REGIONS = {
    ("110000", "北京市"): [("110101", "东城区"), ("110105", "朝阳区"), ("110108", "海淀区")],
    ("310000", "上海市"): [("310101", "黄浦区"), ("310115", "浦东新区")],
    ("320000", "江苏省"): [("320100", "南京市"), ("320500", "苏州市"), ("320200", "无锡市")],
    ("330000", "浙江省"): [("330100", "杭州市"), ("330200", "宁波市"), ("330300", "温州市")],
    ("370000", "山东省"): [("370100", "济南市"), ("370200", "青岛市")],
    ("420000", "湖北省"): [("420100", "武汉市"), ("420500", "宜昌市")],
    ("440000", "广东省"): [("440100", "广州市"), ("440300", "深圳市"), ("441900", "东莞市")],
    ("510000", "四川省"): [("510100", "成都市"), ("510700", "绵阳市")],
    ("410000", "河南省"): [("410100", "郑州市"), ("410300", "洛阳市")],
}

DICTIONARIES = {
    ("industry", "行业(GB/T 4754)"): INDUSTRIES,
    ("id_type", "证件类型"): [
        ("RIC", "居民身份证"), ("USCC", "统一社会信用代码"), ("PASSPORT", "护照"), ("HKMO", "港澳居民来往内地通行证"),
        ("TW", "台湾居民来往大陆通行证"), ("OTHER", "其他证件"), ("ORG", "组织机构代码"),
    ],
    ("loan_purpose", "贷款用途"): [
        ("WORKING", "流动资金周转"), ("EQUIPMENT", "设备购置"), ("EXPANSION", "扩大经营"), ("PURCHASE", "原材料采购"),
        ("TECH", "技术改造"), ("TRADE", "贸易融资"), ("OTHER", "其他"),
    ],
    ("gender", "性别"): [("M", "男"), ("F", "女")],
    ("marital_status", "婚姻状况"): [("10", "未婚"), ("20", "已婚"), ("30", "丧偶"), ("40", "离婚"), ("90", "未说明")],
    ("education", "学历"): [
        ("10", "研究生"), ("20", "大学本科"), ("30", "大学专科"), ("40", "中等专业学校"), ("60", "高中"), ("70", "初中及以下"),
    ],
    ("political_status", "政治面貌"): [("01", "中共党员"), ("03", "共青团员"), ("13", "群众"), ("12", "民主党派")],
    ("enterprise_size", "企业规模"): [("L", "大型"), ("M", "中型"), ("S", "小型"), ("XS", "微型")],
    # --- customer file (issue 3) ---
    ("ethnicity", "民族"): [("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"),
                          ("06", "苗族"), ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"),
                          ("11", "满族"), ("15", "土家族"), ("97", "其他")],
    ("degree", "学位"): [("1", "博士"), ("2", "硕士"), ("3", "学士"), ("9", "无")],
    ("health", "健康状况"): [("1", "良好"), ("2", "一般"), ("3", "较差")],
    ("household_type", "户口性质"): [("1", "城镇户口"), ("2", "农村户口")],
    ("residence_status", "居住状况"): [("1", "自置"), ("2", "按揭"), ("3", "亲属住房"), ("4", "集体宿舍"),
                                   ("5", "租房"), ("6", "共有住宅"), ("9", "其他")],
    ("occupation", "职业"): [("0", "国家机关、党群组织、企业、事业单位负责人"), ("1", "专业技术人员"),
                           ("3", "办事人员和有关人员"), ("4", "商业、服务业人员"), ("5", "农、林、牧、渔、水利业生产人员"),
                           ("6", "生产、运输设备操作人员及有关人员"), ("7", "个体经营者"), ("9", "其他从业人员")],
    ("employer_nature", "单位性质"): [("10", "机关事业单位"), ("20", "国有企业"), ("30", "民营企业"), ("40", "外资企业"),
                                  ("50", "个体工商户"), ("90", "其他")],
    ("job_title", "职称"): [("1", "高级"), ("2", "中级"), ("3", "初级"), ("9", "无")],
    ("customer_grade", "客户等级"): [("AAA", "AAA"), ("AA", "AA"), ("A", "A"), ("BBB", "BBB"), ("BB", "BB"),
                                 ("B", "B"), ("C", "C")],
    ("enterprise_nature", "企业类型"): [("110", "国有企业"), ("120", "集体企业"), ("150", "股份有限公司"),
                                    ("160", "有限责任公司"), ("170", "私营企业"), ("200", "港澳台投资企业"),
                                    ("300", "外商投资企业"), ("400", "个体工商户"), ("900", "其他")],
    ("premises", "经营场所"): [("OWN", "自有"), ("RENT", "租赁"), ("OTHER", "其他")],
    ("family_relation", "家庭成员关系"): [("SPOUSE", "配偶"), ("FATHER", "父亲"), ("MOTHER", "母亲"), ("SON", "儿子"),
                                    ("DAUGHTER", "女儿"), ("SIBLING", "兄弟姐妹"), ("OTHER", "其他亲属")],
    ("loan_kind", "贷款种类"): [("SHORT", "短期贷款"), ("MEDIUM", "中长期贷款"), ("BILL", "票据贴现"),
                             ("TRADE", "贸易融资"), ("OTHER", "其他融资")],
    ("guarantee_method", "担保方式"): [("CREDIT", "信用"), ("GUARANTEE", "保证"), ("MORTGAGE", "抵押"),
                                   ("PLEDGE", "质押"), ("MIXED", "组合担保")],
    ("loan_classification", "五级分类"): [("1", "正常"), ("2", "关注"), ("3", "次级"), ("4", "可疑"), ("5", "损失")],
    ("key_person_role", "关键人角色"): [("LEGAL", "法定代表人"), ("CONTROLLER", "实际控制人"), ("CHAIRMAN", "董事长"),
                                   ("GM", "总经理"), ("CFO", "财务负责人"), ("DIRECTOR", "董事"), ("OTHER", "其他")],
    ("contribution_method", "出资方式"): [("CASH", "货币"), ("KIND", "实物"), ("IP", "知识产权"), ("LAND", "土地使用权"),
                                      ("OTHER", "其他")],
    ("major_event_kind", "重大经济事件类型"): [("LAWSUIT", "重大诉讼"), ("RESTRUCT", "改制重组"), ("INVEST", "重大投资"),
                                        ("ASSET", "资产处置"), ("PENALTY", "行政处罚"), ("CHANGE", "股权变更"),
                                        ("OTHER", "其他")],
    ("credit_query_reason", "征信查询原因"): [("APPLY", "担保资格审查"), ("LOAN", "贷款审批"), ("POST", "保后管理"),
                                       ("GUARANTOR", "担保人资格审查"), ("OTHER", "其他")],
    # --- customer attachments (issue 3): 要件 categories; completeness rules name them ---
    ("attachment_category", "附件类别"): [
        ("ID_CARD", "身份证"), ("HOUSEHOLD", "户口簿"), ("MARRIAGE", "婚姻证明"), ("LICENSE", "营业执照"),
        ("ARTICLES", "公司章程"), ("CREDIT_REPORT", "征信报告"), ("FINANCIAL", "财务报表"), ("SITE_PHOTO", "现场照片"),
        ("CONTRACT", "合同"), ("OTHER", "其他"),
    ],
    # --- guarantee products (issue 4): kinds are data, administrators add more (models/products.py) ---
    ("guarantee_kind", "担保种类"): [
        ("loan", "贷款担保"), ("bond", "债券担保"), ("performance", "履约担保"), ("litigation", "诉讼保全担保"),
        ("other_non_financing", "其他非融资担保"),
    ],
}

NUMBERING_RULES = [
    ("customer", "客户编号", "KH", "yyyy", 6),
    ("application", "担保申请编号", "SQ", "yyyymm", 4),
    ("contract", "担保合同编号", "DBHT", "yyyy", 5),
    ("letter", "函件编号", "HJ", "yyyymm", 4),
    ("voucher", "凭证编号", "PZ", "yyyymm", 5),
]

APPROVAL_POSTS = [
    ("AM", "客户经理岗", "受理与尽职调查"), ("RISK", "风险管理岗", "风险审查"),
    ("DEPT_HEAD", "部门负责人岗", "业务部门审核"), ("COMMITTEE", "审保会", "审保会表决"),
    ("GM", "总经理岗", "最终签批"), ("FIN_REVIEW", "财务复核岗", "财务复核"),
]


def _session():
    from app.extensions import db

    return db.session


def load_reference_data() -> None:
    from models.system import ApprovalPost, CompanyInfo, Department, NumberingRule

    session = _session()
    for (code, name), items in DICTIONARIES.items():
        _ensure_dict(session, code, name, [(c, n, None) for c, n in items])
    region_items = []
    for (pcode, pname), cities in REGIONS.items():
        region_items.append((pcode, pname, None))
        region_items.extend((c, n, pcode) for c, n in cities)
    _ensure_dict(session, "region", "行政区划", region_items)

    have_rules = set(session.execute(select(NumberingRule.kind)).scalars())
    for kind, name, prefix, date_format, width in NUMBERING_RULES:
        if kind not in have_rules:
            session.add(NumberingRule(kind=kind, name=name, prefix=prefix, date_format=date_format, seq_width=width))

    have_posts = set(session.execute(select(ApprovalPost.code)).scalars())
    for code, name, description in APPROVAL_POSTS:
        if code not in have_posts:
            session.add(ApprovalPost(code=code, name=name, description=description))

    if session.execute(select(Department.id).limit(1)).scalar() is None:
        session.add(Department(code="HQ", name="总公司", sort_order=0))
    if session.execute(select(CompanyInfo.id).limit(1)).scalar() is None:
        session.add(CompanyInfo(name="融资担保有限公司", short_name="担保公司"))
    settings.ensure_defaults()
    from app.services.ledger_reference import load_ledger_reference

    load_ledger_reference()  # chart of accounts and voucher templates (GL-1, GL-2)
    from app.services.ledger_books import ensure_report_lines

    ensure_report_lines()  # balance-sheet and income-statement lines (GL-5)
    from app.services.completeness import ensure_default_rules

    ensure_default_rules()  # CUS-8 要件 and required fields, once
    from app.services.guarantees import ensure_reference as ensure_guarantee_reference

    ensure_guarantee_reference()  # issue 4: numbering rules and default approval flows of the guarantee business
    from app.services.rating import ensure_reference as ensure_rating_reference

    ensure_rating_reference()  # issue 6: default scoring models and the rating review flow
    from app.services.credit_limits import ensure_reference as ensure_credit_limit_reference

    ensure_credit_limit_reference()  # issue 6: credit-limit numbering and the default approval flow
    from app.services.office_requests import ensure_reference as ensure_office_reference

    ensure_office_reference()  # issue 9: request numbering and the leave / borrowing / reimbursement flows
    from app.services.classification import ensure_post_reference

    ensure_post_reference()  # issue 7: classification flow, inspection intervals, warning rule rows
    from app.services.collateral import ensure_reference as ensure_collateral_reference

    ensure_collateral_reference()  # issue 7: collateral numbering and the certificate out-of-vault flow
    from app.services.regulatory import ensure_defaults as ensure_regulatory_defaults

    ensure_regulatory_defaults()  # issue 8: weight table, asset classes, the housing-fund guarantee kind
    session.commit()


def _ensure_dict(session, code, name, items):
    from models.system import DictItem, DictType

    dict_type = session.execute(select(DictType).where(DictType.code == code)).scalar()
    if dict_type is None:
        dict_type = DictType(code=code, name=name, builtin=True)
        session.add(dict_type)
        session.flush()
    existing = {i.code: i for i in session.execute(select(DictItem).where(DictItem.type_id == dict_type.id)).scalars()}
    for order, (item_code, item_name, parent_code) in enumerate(items):
        if item_code in existing:
            continue
        parent = existing.get(parent_code) if parent_code else None
        item = DictItem(dict_type=dict_type, code=item_code, name=item_name, parent=parent, sort_order=order)
        session.add(item)
        existing[item_code] = item
    session.flush()


def dict_choices(type_code: str, parents_only: bool = False):
    """[(code, name)] of a dictionary's active items, in their order — for select fields."""
    from models.system import DictItem, DictType

    query = (
        select(DictItem.code, DictItem.name)
        .join(DictType, DictItem.type_id == DictType.id)
        .where(DictType.code == type_code, DictItem.active.is_(True))
        .order_by(DictItem.sort_order, DictItem.code)
    )
    if parents_only:
        query = query.where(DictItem.parent_id.is_(None))
    return [(code, name) for code, name in _session().execute(query)]
