"""Rating domain (issue 6, RAT-1/2/4): scoring models with their indicators and grade bands, ratings, batches.

A model row is one *version* (code + version unique). Ratings point at the version they used; editing a
version that ratings use makes a new version (app/services/rating.py), so a rating's model never changes.
Credit limits (RAT-3) build on `RatingGrade`'s limit rule and on `Rating`.
"""
from flask_appbuilder import Model
from sqlalchemy import (
    JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin, OwnedMixin

CUSTOMER_KINDS = ("corporate", "individual")
INDICATOR_KINDS = ("quantitative", "qualitative")
RULES = ("bands", "linear")
DIRECTIONS = ("higher", "lower")  # higher is better | lower is better
MISSING_POLICIES = ("zero", "default")
LIMIT_BASES = ("none", "net_assets", "fixed")
RATING_STATUSES = ("draft", "pending", "approved", "rejected", "batch", "discarded")
BATCH_STATUSES = ("running", "pending", "accepted", "discarded", "failed")
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")


class RatingModel(AuditMixin, Model):
    __tablename__ = "rat_model"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_rat_model_code_version"),
                      AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    code = Column(String(30), nullable=False, index=True)
    name = Column(String(100), nullable=False)
    version = Column(Integer, nullable=False, default=1)
    customer_kind = Column(String(12), nullable=False)  # corporate | individual
    industry_codes = Column(String(200))  # comma-separated dictionary industry codes; blank: every industry
    enterprise_sizes = Column(String(50))  # comma-separated dictionary enterprise_size codes; blank: every size
    active = Column(Boolean, nullable=False, default=True)
    missing_policy = Column(String(10), nullable=False, default="zero")  # zero | default
    missing_points = Column(Numeric(9, 4))  # points given when the policy is "default"
    description = Column(Text)
    indicators = relationship("RatingIndicator", back_populates="model", cascade="all, delete-orphan",
                              order_by="RatingIndicator.position, RatingIndicator.id", lazy="selectin")
    grades = relationship("RatingGrade", back_populates="model", cascade="all, delete-orphan",
                          order_by="RatingGrade.min_score.desc()", lazy="selectin")

    def __repr__(self):
        return f"{self.name} v{self.version}"


class RatingIndicator(AuditMixin, Model):
    __tablename__ = "rat_indicator"
    __table_args__ = (UniqueConstraint("model_id", "code", name="uq_rat_indicator_code"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    model_id = Column(Integer, ForeignKey("rat_model.id", ondelete="CASCADE"), nullable=False, index=True)
    model = relationship("RatingModel", back_populates="indicators")
    code = Column(String(30), nullable=False)
    name = Column(String(100), nullable=False)
    kind = Column(String(12), nullable=False, default="quantitative")  # quantitative | qualitative
    position = Column(Integer, nullable=False, default=0)
    weight = Column(Numeric(9, 4), nullable=False)  # percent of the total score
    formula = Column(Text)  # quantitative: arithmetic over statement item codes (prev.code: the earlier period)
    rule = Column(String(10), nullable=False, default="bands")  # bands | linear
    direction = Column(String(10), nullable=False, default="higher")  # higher | lower (is better)
    bands = Column(Text)  # one band a line: "lower~upper=points" (lower ≤ value < upper; a bound may be blank)
    lower = Column(Numeric(18, 6))  # linear: the value scoring 0 (higher is better) or 100 (lower is better)
    upper = Column(Numeric(18, 6))
    options = Column(Text)  # qualitative: one option a line "text=points"
    question = Column(String(300))

    def __repr__(self):
        return f"{self.code} {self.name}"


class RatingGrade(AuditMixin, Model):
    __tablename__ = "rat_grade"
    __table_args__ = (UniqueConstraint("model_id", "grade", name="uq_rat_grade"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    model_id = Column(Integer, ForeignKey("rat_model.id", ondelete="CASCADE"), nullable=False, index=True)
    model = relationship("RatingModel", back_populates="grades")
    grade = Column(String(5), nullable=False)
    min_score = Column(Numeric(9, 2), nullable=False)  # the total reaches this grade at min_score and above
    limit_basis = Column(String(12), nullable=False, default="none")  # none | net_assets | fixed
    limit_multiple = Column(Numeric(9, 4))  # × net assets (所有者权益合计)
    limit_cap = Column(Numeric(18, 2))  # the fixed limit, or the cap of the multiple
    description = Column(String(200))

    def __repr__(self):
        return self.grade


class RatingBatch(Model):
    __tablename__ = "rat_batch"
    __table_args__ = {"sqlite_autoincrement": True}
    id = Column(Integer, primary_key=True)
    scope = Column(String(10), nullable=False, default="all")  # all | changed
    status = Column(String(10), nullable=False, default="running")
    total = Column(Integer, nullable=False, default=0)
    done = Column(Integer, nullable=False, default=0)
    rated = Column(Integer, nullable=False, default=0)
    started_by_id = Column(Integer, ForeignKey("ab_user.id"))
    started_at = Column(DateTime, nullable=False)
    finished_at = Column(DateTime)
    decided_by_id = Column(Integer, ForeignKey("ab_user.id"))
    decided_at = Column(DateTime)
    error = Column(String(300))


class Rating(OwnedMixin, Model):
    __tablename__ = "rat_rating"
    __scope_parent__ = "customer"  # data scope: who sees the customer sees its ratings (batch ones included)
    __table_args__ = (Index("ix_rat_rating_customer_current", "customer_id", "is_current"),
                      Index("ix_rat_rating_valid_to", "is_current", "valid_to"), OwnedMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)
    customer = relationship("Customer", lazy="selectin")
    model_id = Column(Integer, ForeignKey("rat_model.id"), nullable=False, index=True)
    model = relationship("RatingModel", lazy="selectin")
    batch_id = Column(Integer, ForeignKey("rat_batch.id"), index=True)
    status = Column(String(10), nullable=False, default="draft", index=True)
    score = Column(Numeric(9, 2), nullable=False)
    grade = Column(String(5), nullable=False)
    breakdown = Column(JSON, nullable=False)  # per indicator of the model version: [value, points, reason, answer]
    answers = Column(JSON)  # {indicator code: option index}
    statement_id = Column(Integer, ForeignKey("cus_fin_statement.id"))
    period_end = Column(Date)
    net_assets = Column(Numeric(18, 2))
    rated_on = Column(Date, nullable=False)
    valid_from = Column(Date)
    valid_to = Column(Date)
    is_current = Column(Boolean, nullable=False, default=False)
    note = Column(Text)

    def __repr__(self):
        return f"{self.grade} ({self.score})"
