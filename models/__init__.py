"""SQLAlchemy models, one module per domain. Importing this package registers them all."""
from flask_appbuilder import Model  # noqa: F401  FAB's declarative base, shared by every model

from models import system, customers  # noqa: F401,E402
