"""Customer attachments (CUS-6): checked, stored outside the web root, served only to whoever may see
the customer.

* The type comes from the CONTENT (the `filetype` package; Office files: a zip whose
  [Content_Types].xml names the right main part), never from the name or the browser. The detected
  type must be one the administrator allows (setting attachment_allowed_types) and the file name's
  extension must agree with it: a program renamed .pdf, a web page renamed .png or a PDF named .jpg
  are all refused (one rule, no guessing which of the two the user meant).
* Size limit: setting attachment_max_mb (the request limit MAX_CONTENT_LENGTH stays above it).
* Storage: <UPLOAD_DIR>/attachments/<2 hex>/<uuid4 hex>, never a user-given name in the path; the
  original name is data only. A refused upload leaves neither a file nor a row.
* Who: uploading needs edit permission on customers (checked by the view), seeing and downloading
  read permission; both only inside the user's data scope (app.services.data_scope). Deleting: the
  uploader or an administrator. Every insert and delete is in the operation log (AuditMixin).
"""
import hashlib
import logging
import os
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

import filetype
from flask import current_app
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import Forbidden, NotFound, ValidationError
from app.services import settings

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileType:
    extension: str  # canonical
    mime: str
    family: str  # image | document | audio | video
    inline: bool  # browsers show it in the page (never SVG/HTML: they are not accepted at all)
    aliases: tuple = ()

    @property
    def extensions(self) -> tuple:
        return (self.extension, *self.aliases)


_OOXML = "application/vnd.openxmlformats-officedocument."
KNOWN_TYPES = {t.extension: t for t in [
    FileType("jpg", "image/jpeg", "image", True, ("jpeg",)),
    FileType("png", "image/png", "image", True),
    FileType("gif", "image/gif", "image", True),
    FileType("bmp", "image/bmp", "image", True),
    FileType("webp", "image/webp", "image", True),
    FileType("tif", "image/tiff", "image", False, ("tiff",)),
    FileType("pdf", "application/pdf", "document", True),
    FileType("docx", _OOXML + "wordprocessingml.document", "document", False),
    FileType("xlsx", _OOXML + "spreadsheetml.sheet", "document", False),
    FileType("pptx", _OOXML + "presentationml.presentation", "document", False),
    FileType("doc", "application/msword", "document", False),
    FileType("xls", "application/vnd.ms-excel", "document", False),
    FileType("mp3", "audio/mpeg", "audio", True),
    FileType("wav", "audio/wav", "audio", True),
    FileType("m4a", "audio/mp4", "audio", True),
    FileType("amr", "audio/amr", "audio", False),
    FileType("mp4", "video/mp4", "video", True),
    FileType("mov", "video/quicktime", "video", False),
    FileType("webm", "video/webm", "video", True),
    FileType("avi", "video/x-msvideo", "video", False),
]}
# filetype's extension -> ours, where they differ
_FILETYPE_ALIASES = {"jpeg": "jpg", "tiff": "tif"}
# the main part an Office Open XML package declares in [Content_Types].xml
_OOXML_MAIN = {
    "docx": _OOXML + "wordprocessingml.document.main+xml",
    "xlsx": _OOXML + "spreadsheetml.sheet.main+xml",
    "pptx": _OOXML + "presentationml.presentation.main+xml",
}

FAMILIES = {"image": _l("Image"), "document": _l("Document"), "audio": _l("Audio"), "video": _l("Video")}


# --- settings ---------------------------------------------------------------------------------------

def _parse_types(raw: str) -> list[str]:
    return [t.strip().lower().lstrip(".") for t in (raw or "").replace("，", ",").split(",") if t.strip()]


def check_allowed_types(raw: str) -> None:
    """Setting check: every listed type is one this module recognises from the content."""
    types = _parse_types(raw)
    if not types:
        raise ValidationError(gettext("List at least one file type, e.g. jpg,png,pdf."), "value")
    aliases = {a: t.extension for t in KNOWN_TYPES.values() for a in t.extensions}
    unknown = [t for t in types if t not in aliases]
    if unknown:
        raise ValidationError(gettext("Unknown file types: %(types)s. Known types: %(known)s.",
                                      types=", ".join(unknown), known=", ".join(KNOWN_TYPES)), "value")


settings.CHECKS["attachment_allowed_types"] = check_allowed_types


def allowed_types() -> set[str]:
    aliases = {a: t.extension for t in KNOWN_TYPES.values() for a in t.extensions}
    return {aliases[t] for t in _parse_types(settings.get("attachment_allowed_types") or "") if t in aliases}


def max_bytes() -> int:
    return int(settings.get("attachment_max_mb")) * 1024 * 1024


def accept_attribute() -> str:
    """The upload input's accept= list (a convenience for the browser; the server checks the content)."""
    return ",".join("." + e for t in sorted(allowed_types()) for e in KNOWN_TYPES[t].extensions)


# --- sub-records ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubRecordType:
    code: str
    model_path: str  # "module:Class"
    label: object
    customer_attr: str = "customer_id"

    @property
    def model(self):
        module, _, name = self.model_path.partition(":")
        import importlib

        return getattr(importlib.import_module(module), name, None)


SUBRECORD_TYPES: dict[str, SubRecordType] = {}


def register_subrecord(code: str, model_path: str, label, customer_attr: str = "customer_id") -> None:
    """Let files be attached to rows of another customer sub-record model (a credit report, a shareholder…)."""
    SUBRECORD_TYPES[code] = SubRecordType(code, model_path, label, customer_attr)


for _code, _path, _label in [
    ("credit_report", "models.customer_records:CreditReport", _l("Credit report")),
    ("shareholder", "models.customer_records:Shareholder", _l("Shareholder")),
    ("key_person", "models.customer_records:KeyPerson", _l("Key person")),
    ("store", "models.customer_records:CustomerStore", _l("Store")),
    ("existing_loan", "models.customer_records:ExistingLoan", _l("Existing loan")),
    ("major_event", "models.customer_records:MajorEvent", _l("Major event")),
    ("financial_statement", "models.customer_finance:FinancialStatement", _l("Financial statement")),
]:
    register_subrecord(_code, _path, _label)


def subrecord_for(record_type: str, record_id, customer_id: int):
    """The sub-record a file is attached to; it must exist and belong to the customer."""
    spec = SUBRECORD_TYPES.get(record_type or "")
    model = spec.model if spec else None
    if model is None:
        raise ValidationError(gettext("Files cannot be attached to this kind of record."), "record_type")
    from app.extensions import db

    try:
        record = db.session.get(model, int(record_id))
    except (TypeError, ValueError):
        record = None
    if record is None or getattr(record, spec.customer_attr, None) != customer_id:
        raise NotFound(gettext("The page or record does not exist."))
    return record


def record_label(attachment) -> str:
    if not attachment.record_type:
        return ""
    spec = SUBRECORD_TYPES.get(attachment.record_type)
    return f"{spec.label if spec else attachment.record_type} #{attachment.record_id}"


# --- storage ----------------------------------------------------------------------------------------

def upload_root() -> str:
    """UPLOAD_DIR (config), else UPLOAD_FOLDER, else <instance>/uploads; never inside the static folder."""
    config = current_app.config
    root = config.get("UPLOAD_DIR") or config.get("UPLOAD_FOLDER")
    if not root:
        from config import INSTANCE_DIR

        root = os.path.join(INSTANCE_DIR, "uploads")
    root = os.path.realpath(root)
    static = os.path.realpath(current_app.static_folder or "")
    if static and os.path.commonpath([root, static]) == static:
        raise RuntimeError("UPLOAD_DIR must not be inside the static folder")
    return os.path.join(root, "attachments")


def stored_path(stored_name: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name or ""):
        raise NotFound(gettext("The page or record does not exist."))
    return os.path.join(upload_root(), stored_name[:2], stored_name)


def clean_name(name: str) -> str:
    """The user's file name as data: last path component, no control or quoting characters, NFC."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join("_" if unicodedata.category(c).startswith("C") or c in '"*:<>?|;' else c for c in name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name or "file"


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def detect(path: str, head: bytes) -> FileType | None:
    """The type of the file's content, or None when it is not one we know."""
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as package:
                content_types = package.read("[Content_Types].xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
            return None
        for ext, main in _OOXML_MAIN.items():
            if main in content_types:
                return KNOWN_TYPES[ext]
        return None  # another zip (or a macro-enabled document): not accepted
    kind = filetype.guess(head)
    if kind is None:
        return None
    return KNOWN_TYPES.get(_FILETYPE_ALIASES.get(kind.extension, kind.extension))


def _copy_limited(stream, path: str, limit: int) -> tuple[int, str, bytes]:
    digest, size, head = hashlib.sha256(), 0, b""
    with open(path, "wb") as out:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise ValidationError(gettext("The file is larger than the limit of %(mb)s MB.",
                                              mb=limit // (1024 * 1024)), "file")
            if len(head) < 8192:
                head += chunk[:8192 - len(head)]
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest(), head


def store(customer, stream, filename: str, category: str, description: str | None = None,
          record_type: str | None = None, record_id=None):
    """Check and keep an uploaded file of a customer (or of one of its sub-records); returns the committed
    Attachment. Anything wrong: ValidationError, and no file and no row are left."""
    from app.extensions import db
    from app.services.data_scope import ensure_visible
    from app.services.reference import dict_choices
    from models.attachments import Attachment

    ensure_visible(customer)
    if category not in dict(dict_choices("attachment_category")):
        raise ValidationError(gettext("Choose an attachment category."), "category")
    description = (description or "").strip() or None
    if description and len(description) > 300:
        raise ValidationError(gettext("At most %(max)s characters.", max=300), "description")
    if record_type:
        subrecord_for(record_type, record_id, customer.id)
        record_id = int(record_id)
    else:
        record_type, record_id = None, None
    original = clean_name(filename)
    if stream is None or not filename:
        raise ValidationError(gettext("Choose a file to upload."), "file")

    stored_name = uuid.uuid4().hex
    final = stored_path(stored_name)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    temp = os.path.join(os.path.dirname(final), f".part-{uuid.uuid4().hex}")
    try:
        size, sha256, head = _copy_limited(stream, temp, max_bytes())
        if size == 0:
            raise ValidationError(gettext("The file is empty."), "file")
        kind = detect(temp, head)
        if kind is None:
            raise ValidationError(gettext("The file's content is not a file type the system accepts."), "file")
        if kind.extension not in allowed_types():
            raise ValidationError(gettext("Files of type %(type)s are not accepted. Accepted types: %(types)s.",
                                          type=kind.extension, types=", ".join(sorted(allowed_types()))), "file")
        if _extension(original) not in kind.extensions:
            raise ValidationError(gettext("The file's content is %(type)s but its name ends in \"%(ext)s\"; "
                                          "rename it and upload it again.",
                                          type=kind.extension.upper(), ext=_extension(original) or "-"), "file")
        os.replace(temp, final)
        attachment = Attachment(customer_id=customer.id, record_type=record_type, record_id=record_id,
                                category=category, description=description, original_name=original,
                                stored_name=stored_name, content_type=kind.mime, extension=kind.extension,
                                size=size, sha256=sha256)
        db.session.add(attachment)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for path in (temp, final):
            if os.path.exists(path):
                os.remove(path)
        raise
    from app.services import completeness

    completeness.forget()
    return attachment


def get_visible(attachment_id):
    """An attachment the current user may see (its customer is in the user's data scope), else NotFound."""
    from app.extensions import db
    from app.services.data_scope import ensure_visible
    from models.attachments import Attachment

    try:
        attachment = db.session.get(Attachment, int(attachment_id))
    except (TypeError, ValueError, OverflowError):
        attachment = None
    if attachment is None:
        raise NotFound(gettext("The page or record does not exist."))
    ensure_visible(attachment.customer)
    return attachment


def file_path(attachment) -> str:
    path = stored_path(attachment.stored_name)
    if not os.path.isfile(path):
        log.error("attachment %s: file %s is missing", attachment.id, attachment.stored_name)
        raise NotFound(gettext("The file of this attachment is missing."))
    return path


def file_type(attachment) -> FileType | None:
    return KNOWN_TYPES.get(attachment.extension)


def can_delete(attachment, user) -> bool:
    from app import permissions as P

    if user is None:
        return False
    return attachment.created_by_id == user.id or any(r.name == P.ADMIN for r in (user.roles or []))


def delete(attachment, user) -> None:
    """Delete an attachment (the uploader or an administrator); the row goes first, then the file."""
    from app.extensions import db

    if not can_delete(attachment, user):
        raise Forbidden(gettext("Only the uploader or an administrator can delete this attachment."))
    path = stored_path(attachment.stored_name)
    db.session.delete(attachment)
    db.session.commit()
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError:
        log.warning("attachment file %s not removed", path)
    from app.services import completeness

    completeness.forget()


def for_record(customer_id: int, record_type: str | None = None, record_id=None):
    from app.extensions import db
    from models.attachments import Attachment

    query = select(Attachment).where(Attachment.customer_id == customer_id)
    if record_type:
        query = query.where(Attachment.record_type == record_type, Attachment.record_id == record_id)
    return db.session.execute(query.order_by(Attachment.id.desc())).scalars().all()


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
