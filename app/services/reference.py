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
        ("TW", "台湾居民来往大陆通行证"), ("OTHER", "其他证件"),
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
