"""A bounded map that forgets what was used least recently."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """At most `size` entries; adding one more drops the least recently read or added."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def get_many(self, keys: Iterable[K | None]) -> list[V | None]:
        """`get` of each key in turn, in one call (a None key is never found)."""
        # Looking up None finds nothing, so the keys may hold it.
        items = cast("OrderedDict[K | None, V]", self._items)
        found = items.get
        touch = items.move_to_end
        out: list[V | None] = []
        for key in keys:
            value = found(key)
            if value is not None:
                touch(key)
            out.append(value)
        return out

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
