"""The system business date (SYS-8): the one place business code asks what day it is."""
from datetime import date

from app.services import settings


def today() -> date:
    return settings.get("business_date") or date.today()


def set_date(value: date) -> None:
    settings.set_value("business_date", value)
