"""File cabinets (WB-3, OA-2): personal folders (their owner only) and public folders (everyone, or only the
members of the named departments — sub-departments included — and the holders of the named roles).

Who may do what, checked here for the screen and anything else:
* see a folder and download its files: the owner of a personal folder; a member of a public folder;
* upload into a folder: the same people (a public folder is a shared shelf);
* delete a file: its uploader, the owner of the personal folder, or an administrator;
* create, change and delete public folders and their permissions: the folder administrators (view permission);
  a user creates and deletes his own personal folders.
A folder someone may not see is "not found" (never "forbidden"), so its existence is not revealed.
"""
from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.services import office_files
from models.office import CabinetFile, CabinetFolder


def _session():
    from app.extensions import db

    return db.session


def _is_admin(user) -> bool:
    from app import permissions as P

    return any(r.name == P.ADMIN for r in (getattr(user, "roles", None) or []))


def _user_department_ids(user_id: int) -> set[int]:
    from models.system import Employee

    return set(_session().execute(select(Employee.department_id).where(
        Employee.user_id == user_id, Employee.active.is_(True))).scalars())


def _department_tree_up(department_ids: set[int]) -> set[int]:
    """The departments and all their parents: a folder open to a department is open to its sub-departments."""
    from models.system import Department

    parents = dict(_session().execute(select(Department.id, Department.parent_id)).all())
    out = set()
    for dep in department_ids:
        while dep is not None and dep not in out:
            out.add(dep)
            dep = parents.get(dep)
    return out


def can_see(folder: CabinetFolder, user) -> bool:
    if folder is None or user is None:
        return False
    if folder.scope == "personal":
        return folder.owner_id == user.id
    if _is_admin(user):
        return True
    if not folder.departments and not folder.roles:
        return True
    role_ids = {r.id for r in (user.roles or [])}
    if any(r.id in role_ids for r in folder.roles):
        return True
    departments = _department_tree_up(_user_department_ids(user.id))
    return any(d.id in departments for d in folder.departments)


def visible_folders(user) -> list[CabinetFolder]:
    """The user's personal folders, then the public folders he may see, by name."""
    session = _session()
    personal = list(session.execute(select(CabinetFolder).where(
        CabinetFolder.scope == "personal", CabinetFolder.owner_id == user.id).order_by(CabinetFolder.name)).scalars())
    public = [f for f in session.execute(select(CabinetFolder).where(CabinetFolder.scope == "public")
                                         .order_by(CabinetFolder.name)).scalars() if can_see(f, user)]
    return personal + public


def folder_for(folder_id, user) -> CabinetFolder:
    try:
        folder = _session().get(CabinetFolder, int(folder_id))
    except (TypeError, ValueError, OverflowError):
        folder = None
    if not can_see(folder, user):
        raise NotFound(gettext("The page or record does not exist."))
    return folder


def files_of(folder: CabinetFolder, q: str = "") -> list[CabinetFile]:
    query = select(CabinetFile).where(CabinetFile.folder_id == folder.id)
    if q:
        query = query.where(CabinetFile.original_name.ilike(f"%{q.strip()[:50]}%"))
    return list(_session().execute(query.order_by(CabinetFile.id.desc())).scalars())


def file_for(file_id, user) -> CabinetFile:
    try:
        row = _session().get(CabinetFile, int(file_id))
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None or not can_see(row.folder, user):
        raise NotFound(gettext("The page or record does not exist."))
    return row


def create_personal_folder(user, name: str, description: str | None = None) -> CabinetFolder:
    """A new personal folder of the user (caller commits)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(gettext("Enter the folder name."), "name")
    if len(name) > 100:
        raise ValidationError(gettext("At most %(max)s characters.", max=100), "name")
    exists = _session().execute(select(CabinetFolder.id).where(
        CabinetFolder.scope == "personal", CabinetFolder.owner_id == user.id, CabinetFolder.name == name)).first()
    if exists:
        raise Conflict(gettext("You already have a folder with this name."))
    folder = CabinetFolder(name=name, scope="personal", owner_id=user.id,
                           description=(description or "").strip()[:300] or None)
    _session().add(folder)
    _session().flush()
    return folder


def validate_public_folder(folder: CabinetFolder) -> None:
    """Public folders kept by the folder administrators (the screen and the API)."""
    if not (folder.name or "").strip():
        raise ValidationError(gettext("Enter the folder name."), "name")
    folder.scope = "public"
    folder.owner_id = None


def delete_folder(folder: CabinetFolder, user) -> None:
    """A personal folder by its owner; only an empty folder (the files are deleted one by one, on purpose)."""
    if folder.scope != "personal" or folder.owner_id != user.id:
        raise Forbidden(gettext("Only the owner deletes a personal folder."))
    check_empty(folder)
    _session().delete(folder)


def check_empty(folder: CabinetFolder) -> None:
    if _session().execute(select(CabinetFile.id).where(CabinetFile.folder_id == folder.id).limit(1)).first():
        raise Conflict(gettext("The folder still holds files: delete them first."))


def upload(folder: CabinetFolder, user, stream, filename: str, description: str | None = None) -> CabinetFile:
    """Check and keep a file in a folder the user may see; commits. A refused file leaves nothing."""
    if not can_see(folder, user):
        raise NotFound(gettext("The page or record does not exist."))
    description = (description or "").strip() or None
    if description and len(description) > 300:
        raise ValidationError(gettext("At most %(max)s characters.", max=300), "description")
    columns = office_files.store(stream, filename)
    session = _session()
    try:
        row = CabinetFile(folder_id=folder.id, description=description, **columns)
        session.add(row)
        session.commit()
    except BaseException:
        session.rollback()
        office_files.discard(columns["stored_name"])
        raise
    return row


def can_delete(row: CabinetFile, user) -> bool:
    return (row.created_by_id == user.id or _is_admin(user)
            or (row.folder.scope == "personal" and row.folder.owner_id == user.id))


def delete_file(row: CabinetFile, user) -> None:
    """Delete a file (uploader, owner of the personal folder, administrator); commits, then removes the file."""
    if not can_see(row.folder, user):
        raise NotFound(gettext("The page or record does not exist."))
    if not can_delete(row, user):
        raise Forbidden(gettext("Only the uploader or an administrator can delete this file."))
    stored = row.stored_name
    _session().delete(row)
    _session().commit()
    office_files.discard(stored)
