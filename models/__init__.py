"""SQLAlchemy models, one module per domain. Importing this package registers them all."""
from flask_appbuilder import Model  # noqa: F401  FAB's declarative base, shared by every model

from app import audit  # noqa: F401,E402  the operation-log hooks must be in place before the mappers configure
from models import system, customers  # noqa: F401,E402
