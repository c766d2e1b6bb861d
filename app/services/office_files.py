"""Files of internal mail and of the file cabinets, checked and kept by the rules of customer attachments
(app/services/attachments.py): type from the content and among the administrator's accepted types, name
extension agreeing with it, size limit, random name outside the web root. A refused file leaves nothing."""
import os
import uuid

from flask_babel import gettext

from app.errors import NotFound, ValidationError
from app.services import attachments


def store(stream, filename: str) -> dict:
    """Check and keep one uploaded file; returns the columns of its row (original_name, stored_name, …).
    The caller adds the row; when its transaction fails it calls `discard(stored_name)`."""
    if stream is None or not filename:
        raise ValidationError(gettext("Choose a file to upload."), "file")
    original = attachments.clean_name(filename)
    stored_name = uuid.uuid4().hex
    final = attachments.stored_path(stored_name)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    temp = os.path.join(os.path.dirname(final), f".part-{uuid.uuid4().hex}")
    try:
        size, sha256, head = attachments._copy_limited(stream, temp, attachments.max_bytes())
        if size == 0:
            raise ValidationError(gettext("The file is empty."), "file")
        kind = attachments.detect(temp, head)
        if kind is None:
            raise ValidationError(gettext("The file's content is not a file type the system accepts."), "file")
        allowed = attachments.allowed_types()
        if kind.extension not in allowed:
            raise ValidationError(gettext("Files of type %(type)s are not accepted. Accepted types: %(types)s.",
                                          type=kind.extension, types=", ".join(sorted(allowed))), "file")
        if attachments._extension(original) not in kind.extensions:
            raise ValidationError(gettext("The file's content is %(type)s but its name ends in \"%(ext)s\"; "
                                          "rename it and upload it again.",
                                          type=kind.extension.upper(),
                                          ext=attachments._extension(original) or "-"), "file")
        os.replace(temp, final)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
    return dict(original_name=original, stored_name=stored_name, content_type=kind.mime, extension=kind.extension,
                size=size, sha256=sha256)


def discard(stored_name: str) -> None:
    try:
        os.remove(attachments.stored_path(stored_name))
    except (FileNotFoundError, NotFound):
        pass
    except OSError:
        pass


def path_of(row) -> str:
    path = attachments.stored_path(row.stored_name)
    if not os.path.isfile(path):
        raise NotFound(gettext("The file of this attachment is missing."))
    return path
