"""Customer domain (CUS). The platform ships the customer master record; issue 3 adds its sub-records."""
from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, false,
)
from sqlalchemy import JSON
from sqlalchemy.orm import relationship

from models.mixins import OwnedMixin

CUSTOMER_KINDS = ("individual", "corporate")


class Customer(OwnedMixin, Model):
    __tablename__ = "cus_customer"
    __scope_owner__ = "manager_id"  # data scope "own": the customers a user manages (app/services/data_scope.py)
    __table_args__ = (
        UniqueConstraint("id_type", "id_number", name="uq_customer_identity"),
        Index("ix_customer_kind_name", "kind", "name"),
        OwnedMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    kind = Column(String(12), nullable=False, index=True)  # individual | corporate
    name = Column(String(200), nullable=False, index=True)
    id_type = Column(String(20), nullable=False)  # dictionary id_type
    id_number = Column(String(30), nullable=False)
    gender = Column(String(2))
    birth_date = Column(Date)
    phone = Column(String(30), index=True)
    email = Column(String(120))
    region_code = Column(String(12), index=True)  # dictionary region
    industry_code = Column(String(12), index=True)  # dictionary industry (GB/T 4754 section)
    address = Column(String(300))
    legal_representative = Column(String(50))
    registered_capital = Column(String(30))
    direct = Column(String(10), default="direct", nullable=False)  # direct | indirect
    extra = Column(JSON(none_as_null=True))  # admin-defined fields {code: value} (CUS-7, models/customer_extras.py)
    # CUS-3 classes: credit (授信) customers; legal / natural person follows kind. Blacklisted mirrors an
    # active blacklist entry (app/services/customers.py keeps it) so lists filter on it cheaply.
    credit_customer = Column(Boolean, default=False, server_default=false(), nullable=False, index=True)
    blacklisted = Column(Boolean, default=False, server_default=false(), nullable=False, index=True)
    # --- individual: basic information (CUS-1) ---
    political_status = Column(String(10))  # dictionary political_status
    ethnicity = Column(String(10))  # dictionary ethnicity
    marital_status = Column(String(10))  # dictionary marital_status
    education = Column(String(10))  # dictionary education
    degree = Column(String(10))  # dictionary degree
    health = Column(String(10))  # dictionary health
    household_type = Column(String(10))  # dictionary household_type
    residence_status = Column(String(10))  # dictionary residence_status
    post_code = Column(String(6))
    home_phone = Column(String(30))  # landline
    work_phone = Column(String(30))  # landline of the employer / office
    # --- individual: occupation ---
    occupation = Column(String(10))  # dictionary occupation
    employer = Column(String(200))
    employer_industry = Column(String(12))  # dictionary industry
    employer_nature = Column(String(10))  # dictionary employer_nature
    employer_post_code = Column(String(6))
    employer_since = Column(Integer)  # year
    employer_address = Column(String(300))
    job_position = Column(String(50))
    job_title = Column(String(10))  # dictionary job_title (职称)
    # --- individual: income and expenses ---
    main_income_source = Column(String(100))
    other_income_source = Column(String(100))
    monthly_income = Column(Numeric(18, 2))
    family_monthly_income = Column(Numeric(18, 2))
    monthly_expenses = Column(Numeric(18, 2))
    family_size = Column(Integer)
    dependants = Column(Integer)
    # --- individual: basic assessment (基础评估) ---
    total_assets = Column(Numeric(18, 2))
    total_liabilities = Column(Numeric(18, 2))
    assessment_grade = Column(String(10))  # dictionary customer_grade
    assessment_note = Column(Text)
    # --- corporate: registration (注册信息) ---
    enterprise_nature = Column(String(10))  # dictionary enterprise_nature
    established_on = Column(Date)
    licence_expiry = Column(Date)
    paid_in_capital = Column(Numeric(18, 2))
    registration_authority = Column(String(100))
    registered_address = Column(String(300))
    business_scope = Column(Text)
    # --- corporate: company overview (公司概况) ---
    enterprise_size = Column(String(10))  # dictionary enterprise_size
    employee_count = Column(Integer)
    main_business = Column(String(300))
    premises = Column(String(10))  # dictionary premises (own / rented)
    annual_revenue = Column(Numeric(18, 2))
    contact_person = Column(String(50))
    website = Column(String(200))
    # --- corporate: financial business (金融业务信息) ---
    basic_account_bank = Column(String(100))
    basic_account_no = Column(String(40))
    loan_card_no = Column(String(30))  # 贷款卡号 / 中征码
    manager_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    # Not lazy="joined": FAB pages with LIMIT/OFFSET, and PostgreSQL runs the joins for every skipped row
    # (page 2,500 of 100k customers: 80 ms instead of 11 ms). selectin loads the managers of a page in
    # one small extra query. The department is not shown on customer screens: loaded when accessed.
    manager = relationship("User", foreign_keys=[manager_id], lazy="selectin")
    department = relationship("Department", foreign_keys="Customer.department_id")

    @property
    def person_kind(self) -> str:
        """Legal person (enterprise) or natural person (individual): follows the kind."""
        return "legal" if self.kind == "corporate" else "natural"

    def __repr__(self):
        return f"{self.name} ({self.code})" if self.code else (self.name or "")
