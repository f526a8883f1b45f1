"""Engine, sessions and the declarative base shared by every table."""

from failcast.db.base import Base
from failcast.db.engine import Database

__all__ = ["Base", "Database"]
