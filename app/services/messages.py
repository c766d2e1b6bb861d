"""Internal messages and internal mail (WB-3, OA-2) and system notices.

* `send` writes one message to users, departments (with their sub-departments) and roles; departments and roles
  are expanded to their active users at send time, so exactly those people get it, once each.
* `send_notice(user_ids, subject, body, link)` is the system's own message (no sender): other modules call it,
  e.g. the approval engine when a step opens ("approval waiting"). It only flushes: the caller's transaction
  decides whether it is delivered.
* A recipient reads a message only through his own delivery row (`open_for`): a message of someone else is
  "not found" whatever its id, on the screen and in the API.
* E-mail copies go out through SMTP only when the administrator has switched it on (system settings
  `smtp_*`, SYS-8); they are sent after the commit, in the background, and a failing mail server never stops
  or undoes the internal message.
"""
from __future__ import annotations

import logging
import smtplib
import threading
from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound, ValidationError
from app.services import office_files, settings
from app.services.settings import SettingDef
from models.office import OfficeMessage, OfficeMessageFile, OfficeMessageRecipient

log = logging.getLogger(__name__)

SUBJECT_MAX, BODY_MAX, MAX_FILES = 200, 20000, 10
KINDS = {"message": _l("Internal message"), "mail": _l("Internal mail"), "notice": _l("System notice")}
BOXES = {"message": ("message", "notice"), "mail": ("mail",)}  # the inbox of messages also shows notices

# Reminder settings (SYS-8): e-mail copies of internal messages, only when switched on.
for _spec in [
    SettingDef("smtp_enabled", _l("Send e-mail copies of internal messages (1 yes, 0 no)"), "bool", "0"),
    SettingDef("smtp_host", _l("Mail server (SMTP host)"), "str", ""),
    SettingDef("smtp_port", _l("Mail server port"), "int", "25", 1, 65535),
    SettingDef("smtp_starttls", _l("Mail server uses STARTTLS (1 yes, 0 no)"), "bool", "0"),
    SettingDef("smtp_sender", _l("Sender address of e-mail copies"), "str", ""),
]:
    settings.SETTINGS.setdefault(_spec.key, _spec)


def _session():
    from app.extensions import db

    return db.session


# --- recipients -------------------------------------------------------------------------------------------

def _ids(values) -> list[int]:
    out = []
    for v in values or []:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            raise ValidationError(gettext("Choose the recipients from the lists."), "recipients") from None
    return sorted(set(out))


def expand_recipients(user_ids=(), department_ids=(), role_ids=()) -> set[int]:
    """Active users named directly, working in the departments (or their sub-departments), or holding the roles."""
    from flask_appbuilder.security.sqla.models import User, assoc_user_role

    from app.services.data_scope import department_tree_ids
    from models.system import Employee

    session = _session()
    ids = set(_ids(user_ids))
    departments = set()
    for dep in _ids(department_ids):
        departments |= set(department_tree_ids(dep))
    if departments:
        ids |= set(session.execute(select(Employee.user_id).where(
            Employee.department_id.in_(sorted(departments)), Employee.active.is_(True),
            Employee.user_id.is_not(None))).scalars())
    roles = _ids(role_ids)
    if roles:
        ids |= set(session.execute(select(assoc_user_role.c.user_id)
                                   .where(assoc_user_role.c.role_id.in_(roles))).scalars())
    if not ids:
        return set()
    return set(session.execute(select(User.id).where(User.id.in_(sorted(ids)), User.active.is_(True))).scalars())


def _addressed_to(user_ids, department_ids, role_ids) -> str:
    """How the sender addressed it, in words (kept with the message: departments and roles change later)."""
    from flask_appbuilder.security.sqla.models import Role, User

    from models.system import Department

    session = _session()
    parts = []
    if department_ids:
        parts += [d.name for d in session.execute(select(Department).where(
            Department.id.in_(_ids(department_ids)))).scalars()]
    if role_ids:
        parts += [r.name for r in session.execute(select(Role).where(Role.id.in_(_ids(role_ids)))).scalars()]
    if user_ids:
        parts += [user_name(u) for u in session.execute(select(User).where(User.id.in_(_ids(user_ids)))).scalars()]
    return "、".join(parts)[:1000]


def user_name(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username


def _clean(subject, body, link=None):
    subject = (subject or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    if not subject:
        raise ValidationError(gettext("Enter a subject."), "subject")
    if len(subject) > SUBJECT_MAX:
        raise ValidationError(gettext("At most %(max)s characters.", max=SUBJECT_MAX), "subject")
    if len(body) > BODY_MAX:
        raise ValidationError(gettext("At most %(max)s characters.", max=BODY_MAX), "body")
    if "\x00" in subject or "\x00" in body:
        raise ValidationError(gettext("The text contains characters that cannot be stored."), "body")
    # Only a page of this system: a notice never sends the reader to another site.
    if link and not (link.startswith("/") and not link.startswith("//") and "\\" not in link):
        link = None
    return subject, body or None, (link or None) and link[:500]


def _deliver(message: OfficeMessage, recipients: set[int]) -> None:
    session = _session()
    session.add(message)
    session.flush()
    for uid in sorted(recipients):
        session.add(OfficeMessageRecipient(message_id=message.id, user_id=uid))
    _queue_email(message.id)


# --- sending ----------------------------------------------------------------------------------------------

def send(sender_id: int, subject: str, body: str, *, kind: str = "message", user_ids=(), department_ids=(),
         role_ids=(), files=(), link: str | None = None) -> OfficeMessage:
    """Send an internal message or mail; commits. `files`: [(stream, filename)] checked by the attachment rules.
    Anything wrong: ValidationError, and no message, no delivery and no file are left."""
    if kind not in BOXES:
        raise ValidationError(gettext("Unknown kind of message."), "kind")
    subject, body, link = _clean(subject, body, link)
    recipients = expand_recipients(user_ids, department_ids, role_ids)
    if not recipients:
        raise ValidationError(gettext("Choose at least one recipient (a user, a department or a role with "
                                      "active users)."), "recipients")
    files = [(s, n) for s, n in (files or []) if n]
    if len(files) > MAX_FILES:
        raise ValidationError(gettext("At most %(max)s files.", max=MAX_FILES), "files")
    session = _session()
    stored: list[str] = []
    try:
        message = OfficeMessage(kind=kind, sender_id=sender_id, subject=subject, body=body, link=link,
                                addressed_to=_addressed_to(user_ids, department_ids, role_ids),
                                created_at=datetime.now())
        for stream, name in files:
            columns = office_files.store(stream, name)
            stored.append(columns["stored_name"])
            message.files.append(OfficeMessageFile(**columns))
        _deliver(message, recipients)
        session.commit()
    except BaseException:
        session.rollback()
        for name in stored:
            office_files.discard(name)
        raise
    return message


def send_notice(user_ids, subject: str, body: str | None = None, link: str | None = None) -> int:
    """A system notice (no sender) to the given users; returns how many active users it reaches. Flushes only:
    the caller commits (a notice of a rolled-back approval step is never delivered)."""
    recipients = expand_recipients(user_ids=[u for u in (user_ids or []) if u])
    if not recipients:
        return 0
    subject, body, link = _clean((subject or "")[:SUBJECT_MAX], body, link)
    _deliver(OfficeMessage(kind="notice", sender_id=None, subject=subject, body=body, link=link,
                           created_at=datetime.now()), recipients)
    _session().flush()
    return len(recipients)


# --- reading ----------------------------------------------------------------------------------------------

def unread_count(user_id: int) -> int:
    return _session().execute(select(func.count()).select_from(OfficeMessageRecipient).where(
        OfficeMessageRecipient.user_id == user_id, OfficeMessageRecipient.deleted.is_(False),
        OfficeMessageRecipient.read_at.is_(None))).scalar() or 0


def inbox(user_id: int, box: str = "message", *, unread_only: bool = False, q: str = "", page: int = 0,
          page_size: int = 20):
    """The user's deliveries of one box, newest first: (rows, total)."""
    where = [OfficeMessageRecipient.user_id == user_id, OfficeMessageRecipient.deleted.is_(False),
             OfficeMessage.kind.in_(BOXES.get(box, BOXES["message"]))]
    if unread_only:
        where.append(OfficeMessageRecipient.read_at.is_(None))
    if q:
        like = f"%{q.strip()[:50]}%"
        where.append(or_(OfficeMessage.subject.ilike(like), OfficeMessage.body.ilike(like)))
    session = _session()
    base = select(OfficeMessageRecipient).join(OfficeMessage, OfficeMessage.id == OfficeMessageRecipient.message_id)
    total = session.execute(select(func.count()).select_from(base.where(*where).subquery())).scalar()
    rows = session.execute(base.where(*where).order_by(OfficeMessage.id.desc())
                           .limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def sent(user_id: int, box: str = "message", *, q: str = "", page: int = 0, page_size: int = 20):
    where = [OfficeMessage.sender_id == user_id, OfficeMessage.sender_deleted.is_(False),
             OfficeMessage.kind.in_(BOXES.get(box, BOXES["message"]))]
    if q:
        like = f"%{q.strip()[:50]}%"
        where.append(or_(OfficeMessage.subject.ilike(like), OfficeMessage.body.ilike(like)))
    session = _session()
    total = session.execute(select(func.count()).select_from(OfficeMessage).where(*where)).scalar()
    rows = session.execute(select(OfficeMessage).where(*where).order_by(OfficeMessage.id.desc())
                           .limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def _message(message_id) -> OfficeMessage | None:
    try:
        return _session().get(OfficeMessage, int(message_id))
    except (TypeError, ValueError, OverflowError):
        return None


def _delivery(message_id, user_id) -> OfficeMessageRecipient | None:
    try:
        message_id = int(message_id)
    except (TypeError, ValueError, OverflowError):
        return None
    return _session().execute(select(OfficeMessageRecipient).where(
        OfficeMessageRecipient.message_id == message_id, OfficeMessageRecipient.user_id == user_id,
        OfficeMessageRecipient.deleted.is_(False))).scalar()


def open_for(message_id, user_id: int, mark_read: bool = True):
    """(message, own delivery or None) for a recipient or the sender; anyone else: NotFound. A recipient opening
    it marks it read (caller commits)."""
    delivery = _delivery(message_id, user_id)
    if delivery is not None:
        if mark_read and delivery.read_at is None:
            delivery.read_at = datetime.now()
        return delivery.message, delivery
    message = _message(message_id)
    if message is not None and message.sender_id == user_id and not message.sender_deleted:
        return message, None
    raise NotFound(gettext("The page or record does not exist."))


def recipients_of(message: OfficeMessage) -> list[OfficeMessageRecipient]:
    """Who got it and whether they read it (shown to the sender)."""
    return list(_session().execute(select(OfficeMessageRecipient).where(
        OfficeMessageRecipient.message_id == message.id).order_by(OfficeMessageRecipient.id)).scalars())


def set_read(message_id, user_id: int, read: bool = True) -> None:
    delivery = _delivery(message_id, user_id)
    if delivery is None:
        raise NotFound(gettext("The page or record does not exist."))
    delivery.read_at = (delivery.read_at or datetime.now()) if read else None


def mark_all_read(user_id: int, box: str = "message") -> int:
    rows, _ = inbox(user_id, box, unread_only=True, page_size=100000)
    now = datetime.now()
    for r in rows:
        r.read_at = now
    return len(rows)


def delete_for(message_id, user_id: int, box: str = "inbox") -> None:
    """Remove the message from the user's inbox (his delivery) or, with box="sent", from his sent list."""
    delivery = _delivery(message_id, user_id) if box != "sent" else None
    if delivery is not None:
        delivery.deleted = True
        return
    message = _message(message_id)
    if message is None or message.sender_id != user_id or message.sender_deleted:
        raise NotFound(gettext("The page or record does not exist."))
    message.sender_deleted = True


def file_for(file_id, user_id: int) -> OfficeMessageFile:
    """A file of a message the user received or sent; anyone else: NotFound."""
    try:
        row = _session().get(OfficeMessageFile, int(file_id))
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None:
        raise NotFound(gettext("The page or record does not exist."))
    open_for(row.message_id, user_id, mark_read=False)
    return row


# --- e-mail copies (SYS-8) ---------------------------------------------------------------------------------

def smtp_enabled() -> bool:
    return bool(settings.get("smtp_enabled")) and bool(settings.get("smtp_host"))


def _queue_email(message_id: int) -> None:
    if not smtp_enabled():
        return
    _session().info.setdefault("oa_email", []).append(message_id)


@event.listens_for(Session, "after_commit")
def _email_after_commit(session):
    ids = session.info.pop("oa_email", None)
    if not ids:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return
    from app.celery_app import celery

    if app.config.get("CELERY", {}).get("task_always_eager", True):
        # No worker: a thread of its own, so a slow mail server never holds the page.
        threading.Thread(target=_email_in_app, args=(app, list(ids)), daemon=True, name="oa-email").start()
    else:
        for message_id in ids:
            celery.send_task("app.services.messages.email_message", args=[message_id])


@event.listens_for(Session, "after_rollback")
def _email_after_rollback(session):
    session.info.pop("oa_email", None)


def _email_in_app(app, ids):
    with app.app_context():
        for message_id in ids:
            try:
                email_copies(message_id)
            except Exception:  # noqa: BLE001  the internal message stands; the log says why the copy failed
                log.exception("e-mail copies of message %s failed", message_id)
            finally:
                _session().remove()


def email_copies(message_id: int) -> int:
    """Send the e-mail copies of a message to its recipients who have an address and have none yet; returns how
    many were sent (0 when SMTP is off). Commits the `emailed_at` marks."""
    from flask_appbuilder.security.sqla.models import User

    session = _session()
    if not smtp_enabled():
        return 0
    message = session.get(OfficeMessage, message_id)
    if message is None:
        return 0
    rows = session.execute(select(OfficeMessageRecipient, User.email).join(User, User.id == OfficeMessageRecipient.user_id)
                           .where(OfficeMessageRecipient.message_id == message_id,
                                  OfficeMessageRecipient.emailed_at.is_(None))).all()
    rows = [(r, email) for r, email in rows if email and "@" in email]
    if not rows:
        return 0
    sender = settings.get("smtp_sender") or f"noreply@{settings.get('smtp_host')}"
    with smtplib.SMTP(settings.get("smtp_host"), settings.get("smtp_port"), timeout=20) as smtp:
        if settings.get("smtp_starttls"):
            smtp.starttls()
        for delivery, address in rows:
            mail = EmailMessage()
            mail["Subject"] = message.subject
            mail["From"] = sender
            mail["To"] = address
            mail.set_content(message.body or message.subject)
            smtp.send_message(mail)
            delivery.emailed_at = datetime.now()
    session.commit()
    return len(rows)


def _register_task():
    from app.celery_app import celery

    @celery.task(name="app.services.messages.email_message")
    def email_message(message_id: int):
        return email_copies(message_id)

    return email_message


email_message = _register_task()
