"""Encoded tiles kept in memory, the least recently used dropped first (thread-safe).

Examples
--------
>>> from beatgrid.gis.tiles.cache import TileCache
>>> cache = TileCache(size=2)
>>> cache.put(("a", 0, 0, 0), b"1"); cache.put(("b", 0, 0, 0), b"2")
>>> cache.get(("a", 0, 0, 0))
b'1'
>>> cache.put(("c", 0, 0, 0), b"3")  # drops ("b", ...), the least recently used
>>> cache.get(("b", 0, 0, 0)) is None, len(cache)
(True, 2)
>>> TileCache(size=0).put(("a", 0, 0, 0), b"1")  # size 0: nothing kept
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["TileCache"]


class TileCache:
    """At most ``size`` tiles (``[tiles] cache_tiles``; 0 keeps none)."""

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self._tiles: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tiles)

    def get(self, key: Hashable) -> bytes | None:
        """The tile kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            data = self._tiles.get(key)
            if data is not None:
                self._tiles.move_to_end(key)
            return data

    def put(self, key: Hashable, data: bytes) -> None:
        """Keep ``data`` under ``key``, dropping the least recently used beyond ``size``."""
        if self.size <= 0:
            return
        with self._lock:
            self._tiles[key] = data
            while len(self._tiles) > self.size:
                self._tiles.popitem(last=False)
