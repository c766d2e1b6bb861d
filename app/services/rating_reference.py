"""The default scoring models (reference data, RAT-1): a corporate and an individual scorecard with the grade
bands AAA…C and a credit-limit rule per grade. Loaded once at start when the model code does not exist yet;
administrators then change them in the screens (edits of a version in use make a new version)."""
from decimal import Decimal

from sqlalchemy import select

D = Decimal

# (code, name, weight, formula, rule, direction, bands | (lower, upper))
CORPORATE_QUANTITATIVE = [
    ("debt_ratio", "资产负债率", 15, "total_liabilities / total_assets", "bands", "lower",
     "~0.4=100\n0.4~0.55=80\n0.55~0.7=60\n0.7~0.85=30\n0.85~=0"),
    ("current_ratio", "流动比率", 10, "total_current_assets / total_current_liabilities", "linear", "higher",
     (D("0.8"), D("2"))),
    ("quick_ratio", "速动比率", 10, "(total_current_assets - inventories) / total_current_liabilities", "bands",
     "higher", "1~=100\n0.8~1=80\n0.5~0.8=50\n~0.5=20"),
    ("roe", "净资产收益率", 10, "net_profit / avg(total_equity, prev.total_equity)", "linear", "higher",
     (D("0"), D("0.2"))),
    ("revenue_growth", "营业收入增长率", 10, "revenue / prev.revenue - 1", "bands", "higher",
     "0.2~=100\n0.1~0.2=80\n0~0.1=60\n-0.1~0=30\n~-0.1=0"),
    ("net_margin", "销售净利率", 5, "net_profit / revenue", "linear", "higher", (D("0"), D("0.15"))),
]
# (code, name, weight, question, options)
CORPORATE_QUALITATIVE = [
    ("management", "管理层经验", 10, "主要经营者从事本行业的年限", "10年以上=100\n5至10年=75\n2至5年=50\n不足2年=20"),
    ("outlook", "行业前景", 10, "企业所处行业的发展前景", "良好=100\n一般=60\n较差=20"),
    ("credit_record", "信用记录", 10, "企业及实际控制人的征信记录", "无不良记录=100\n有已结清的不良记录=50\n有未结清的不良记录=0"),
    ("collateral", "反担保物质量", 10, "可提供的反担保措施", "充足且易变现=100\n一般=60\n不足=20"),
]
INDIVIDUAL_QUALITATIVE = [
    ("occupation", "职业稳定性", 20, "申请人的职业与工作年限", "公职或稳定任职5年以上=100\n稳定任职2至5年=70\n自由职业或不足2年=40"),
    ("income", "收入水平", 25, "家庭年收入", "50万元以上=100\n20至50万元=75\n10至20万元=50\n10万元以下=20"),
    ("credit_record", "信用记录", 25, "个人征信记录", "无不良记录=100\n有已结清的不良记录=50\n有未结清的不良记录=0"),
    ("family_assets", "家庭资产", 20, "家庭净资产(房产、存款等)", "300万元以上=100\n100至300万元=70\n100万元以下=40"),
    ("residence", "居住稳定性", 10, "居住状况", "自有住房=100\n按揭或亲属住房=70\n租房或其他=40"),
]
# grade, minimum score, corporate rule (multiple of net assets, cap), individual fixed limit
GRADE_BANDS = [
    ("AAA", 90, (D("1.0"), D("50000000")), D("2000000")),
    ("AA", 80, (D("0.8"), D("30000000")), D("1500000")),
    ("A", 70, (D("0.6"), D("20000000")), D("1000000")),
    ("BBB", 60, (D("0.4"), D("10000000")), D("500000")),
    ("BB", 50, (D("0.25"), D("5000000")), D("300000")),
    ("B", 40, (D("0.1"), D("2000000")), D("100000")),
    ("CCC", 30, None, None),
    ("CC", 20, None, None),
    ("C", 0, None, None),
]
CORPORATE_CODE, INDIVIDUAL_CODE = "CORP-STD", "INDV-STD"


def _session():
    from app.extensions import db

    return db.session


def build_corporate():
    from models.rating import RatingGrade, RatingIndicator, RatingModel

    model = RatingModel(code=CORPORATE_CODE, name="企业客户标准评级模型", version=1, customer_kind="corporate",
                        active=True, missing_policy="zero",
                        description="财务指标取最近一期报表(上期为同类型的前一期);非财务指标由客户经理回答。")
    position = 0
    for code, name, weight, formula, rule, direction, spec in CORPORATE_QUANTITATIVE:
        position += 10
        ind = RatingIndicator(code=code, name=name, kind="quantitative", position=position, weight=D(weight),
                              formula=formula, rule=rule, direction=direction)
        if rule == "bands":
            ind.bands = spec
        else:
            ind.lower, ind.upper = spec
        model.indicators.append(ind)
    for code, name, weight, question, options in CORPORATE_QUALITATIVE:
        position += 10
        model.indicators.append(RatingIndicator(code=code, name=name, kind="qualitative", position=position,
                                                weight=D(weight), question=question, options=options,
                                                rule="bands", direction="higher"))
    for grade, minimum, rule, _ in GRADE_BANDS:
        model.grades.append(RatingGrade(grade=grade, min_score=D(minimum), limit_basis="net_assets" if rule else "none",
                                        limit_multiple=rule[0] if rule else None, limit_cap=rule[1] if rule else None))
    return model


def build_individual():
    from models.rating import RatingGrade, RatingIndicator, RatingModel

    model = RatingModel(code=INDIVIDUAL_CODE, name="个人客户标准评级模型", version=1, customer_kind="individual",
                        active=True, missing_policy="zero", description="个人客户按非财务指标评分。")
    for position, (code, name, weight, question, options) in enumerate(INDIVIDUAL_QUALITATIVE, start=1):
        model.indicators.append(RatingIndicator(code=code, name=name, kind="qualitative", position=position * 10,
                                                weight=D(weight), question=question, options=options,
                                                rule="bands", direction="higher"))
    for grade, minimum, _, fixed in GRADE_BANDS:
        model.grades.append(RatingGrade(grade=grade, min_score=D(minimum), limit_basis="fixed" if fixed else "none",
                                        limit_cap=fixed))
    return model


def ensure_default_models() -> None:
    from models.rating import RatingModel

    session = _session()
    have = set(session.execute(select(RatingModel.code)).scalars())
    for code, build in ((CORPORATE_CODE, build_corporate), (INDIVIDUAL_CODE, build_individual)):
        if code not in have:
            session.add(build())
    session.flush()
