"""Column types shared by the tables."""

import json
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import JSON, BigInteger, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class TypedJson(TypeDecorator[Any]):
    """JSON whose rows read back as a declared type (dataclasses, lists of them, None), and
    whose values are checked against it before they are written: `Mapped[list[Record]]`
    instead of `Mapped[list[dict[str, Any]]]`. Stored keys the record no longer has are
    ignored on read."""

    impl = JSON
    cache_ok = True

    def __init__(self, of: Any) -> None:
        super().__init__()
        self.of = of
        self._adapter: TypeAdapter[Any] = TypeAdapter(of)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # Through JSON text, so that NaN and infinities are written as null, as JSON has them.
        return json.loads(self._adapter.dump_json(self._adapter.validate_python(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return self._adapter.validate_python(value)
