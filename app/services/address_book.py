"""Address books (WB-3): personal (the user's own contacts in groups he defines), customers (generated from the
customers the user may see: app/services/data_scope.py) and company (generated from the active employees).
One `rows(book, user, q)` feeds the screen and both exports (Excel by reports/excel.py, PDF by fpdf2 with the
Noto CJK font), so what is shown is what is exported."""
from __future__ import annotations

import os
import tempfile

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import or_, select

from app.errors import NotFound, ValidationError

BOOKS = {"personal": _l("Personal address book"), "customer": _l("Customer address book"),
         "company": _l("Company address book")}
EXPORT_LIMIT = 50000  # rows; a PDF is for printing and stops earlier
PDF_LIMIT = 5000


def _session():
    from app.extensions import db

    return db.session


def headers(book: str) -> list[str]:
    if book == "personal":
        return [gettext("Group"), gettext("Person's name"), gettext("Company"), gettext("Title"), gettext("Mobile"),
                gettext("Phone"), gettext("E-mail"), gettext("Address"), gettext("Note")]
    if book == "customer":
        return [gettext("Customer code"), gettext("Customer name"), gettext("Customer kind"),
                gettext("Contact person"), gettext("Phone"), gettext("E-mail"), gettext("Address"),
                gettext("Account manager")]
    if book == "company":
        return [gettext("Department"), gettext("Person's name"), gettext("Title"), gettext("Phone"), gettext("E-mail"),
                gettext("Employee code")]
    raise NotFound(gettext("The page or record does not exist."))


def _like(q: str) -> str | None:
    q = (q or "").strip()[:50]
    return f"%{q}%" if q else None


def rows(book: str, user_id: int, q: str = "", group_id=None, limit: int = EXPORT_LIMIT, offset: int = 0):
    """The book's rows for the user (lists of cell values in the order of `headers(book)`) and their total."""
    from sqlalchemy import func

    like = _like(q)
    session = _session()
    if book == "personal":
        from models.office import Contact, ContactGroup

        query = select(Contact, ContactGroup.name).outerjoin(ContactGroup, ContactGroup.id == Contact.group_id) \
            .where(Contact.owner_id == user_id)
        if group_id not in (None, ""):
            try:
                query = query.where(Contact.group_id == int(group_id))
            except ValueError:
                raise ValidationError(gettext("Choose a group from the list."), "group") from None
        if like:
            query = query.where(or_(Contact.name.ilike(like), Contact.company.ilike(like), Contact.mobile.ilike(like),
                                    Contact.phone.ilike(like), Contact.email.ilike(like)))
        query = query.order_by(ContactGroup.sort_order, ContactGroup.name, Contact.name, Contact.id)
        make = lambda r: [r[1] or "", r[0].name, r[0].company, r[0].title, r[0].mobile, r[0].phone,  # noqa: E731
                          r[0].email, r[0].address, r[0].note]
    elif book == "customer":
        from flask_appbuilder.security.sqla.models import User

        from app.services.data_scope import apply_scope
        from models.customers import Customer

        query = select(Customer, User).outerjoin(User, User.id == Customer.manager_id)
        query = apply_scope(query, Customer)
        if like:
            query = query.where(or_(Customer.name.ilike(like), Customer.code.ilike(like), Customer.phone.ilike(like),
                                    Customer.legal_representative.ilike(like)))
        query = query.order_by(Customer.name, Customer.id)
        kinds = {"individual": gettext("Individual"), "corporate": gettext("Corporate")}
        make = lambda r: [r[0].code, r[0].name, kinds.get(r[0].kind, r[0].kind),  # noqa: E731
                          r[0].legal_representative if r[0].kind == "corporate" else r[0].name,
                          r[0].phone, r[0].email, r[0].address, _name(r[1])]
    elif book == "company":
        from models.system import Department, Employee

        query = select(Employee, Department.name).join(Department, Department.id == Employee.department_id) \
            .where(Employee.active.is_(True))
        if like:
            query = query.where(or_(Employee.name.ilike(like), Employee.phone.ilike(like),
                                    Employee.email.ilike(like), Department.name.ilike(like)))
        query = query.order_by(Department.sort_order, Department.code, Employee.code)
        make = lambda r: [r[1], r[0].name, r[0].title, r[0].phone, r[0].email, r[0].code]  # noqa: E731
    else:
        raise NotFound(gettext("The page or record does not exist."))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar()
    result = session.execute(query.limit(limit).offset(offset)).all()
    return [make(r) for r in result], total


def _name(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username


def export_xlsx(book: str, user_id: int, q: str = "", group_id=None) -> tuple[str, str]:
    """(path of a temporary .xlsx, download name)."""
    from reports.excel import write_table

    data, _ = rows(book, user_id, q, group_id)
    title = str(BOOKS[book])
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="addressbook-")
    os.close(fd)
    write_table(path, title, headers(book), data)
    return path, f"{title}.xlsx"


def export_pdf(book: str, user_id: int, q: str = "", group_id=None) -> tuple[str, str]:
    """(path of a temporary .pdf, download name): landscape A4, header on every page, CJK font."""
    from reports.ledger_pdf import BookPDF

    from app.services.business_date import today

    data, total = rows(book, user_id, q, group_id, limit=PDF_LIMIT)
    title = str(BOOKS[book])
    widths = {"personal": [16, 18, 36, 16, 24, 24, 34, 40, 30], "customer": [24, 44, 14, 20, 24, 32, 50, 18],
              "company": [36, 22, 26, 28, 44, 22]}[book]
    pdf = BookPDF(title, gettext("Printed on %(date)s, %(n)s entries", date=today().isoformat(), n=total),
                  _company(), headers(book), widths, ["L"] * len(widths))
    pdf.add_page()
    for row in data:
        pdf.row(row)
    fd, path = tempfile.mkstemp(suffix=".pdf", prefix="addressbook-")
    os.close(fd)
    pdf.output(path)
    return path, f"{title}.pdf"


def _company() -> str:
    from models.system import CompanyInfo

    return _session().execute(select(CompanyInfo.name).limit(1)).scalar() or ""


def validate_contact(contact) -> None:
    """A contact's group must be one of the owner's own groups."""
    from models.office import ContactGroup

    if not (contact.name or "").strip():
        raise ValidationError(gettext("Enter the name."), "name")
    group_id = contact.group_id or (contact.group.id if contact.group is not None else None)
    if group_id is not None:
        group = _session().get(ContactGroup, group_id)
        if group is None or group.owner_id != contact.owner_id:
            raise ValidationError(gettext("Choose one of your own groups."), "group")


def own_groups(user_id: int):
    from models.office import ContactGroup

    return list(_session().execute(select(ContactGroup).where(ContactGroup.owner_id == user_id)
                                   .order_by(ContactGroup.sort_order, ContactGroup.name)).scalars())
