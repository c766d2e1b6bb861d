"""Every permission an administrator can grant has a business name (issue 11).

The role matrix never shows a technical pair ("can_list on CustomerView"): every registered screen, API,
action and custom permission is looked up at runtime here, so a module added later fails this test until
it names its resource in app.permissions.RESOURCE_NAMES and its actions in app.permission_names.ACTION_NAMES.
"""
from app import permission_names as N
from app.services.roles import declared_permissions


def _registered(app):
    with app.app_context():
        return {pair for pair in declared_permissions(app.appbuilder) if pair[0] != "menu_access"}


def test_every_resource_has_a_business_name(app):
    missing = sorted({res for _, res in _registered(app) if not N.resource_name(res)})
    assert not missing, ("resources without a business name (add them to app.permissions.RESOURCE_NAMES): "
                         + ", ".join(missing))


def test_every_permission_and_action_has_a_business_name(app):
    missing = sorted(f"{perm} on {res}" for perm, res in _registered(app) if not N.permission_name(perm))
    assert not missing, ("permissions/actions without a business name (add them to "
                         "app.permission_names.ACTION_NAMES): " + ", ".join(missing))


def test_every_view_action_is_named(app):
    """@action names of every registered view (they are permissions of their own)."""
    missing = []
    for view in app.appbuilder.baseviews:
        for name in getattr(view, "actions", {}) or {}:
            getter = getattr(view, "get_action_permission_name", None)
            permission = getter(name) if getter else name
            if not N.permission_name(permission) and not N.permission_name(name):
                missing.append(f"{name} on {view.class_permission_name}")
    assert not missing, ", ".join(sorted(missing))


def test_matrix_shows_every_permission_once_under_a_name(app):
    from app.services import role_admin

    with app.test_request_context("/"):
        shown = []
        for group in role_admin.layout(app.appbuilder):
            assert group["label"]
            for row in group["rows"]:
                assert row["label"] == str(N.resource_name(row["resource"])), row["resource"]
                for column in N.COLUMNS:
                    for perm, res, label in row["cells"][column]:
                        assert label and not label.startswith("can_"), (perm, res)
                        shown.append((perm, res))
    assert len(shown) == len(set(shown))
    assert set(shown) == _registered(app)
