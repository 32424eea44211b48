"""A lock per key, for values that are costly to build: while one thread builds the
value of a key, the others asking for the same key wait for it and then take it from
the cache, instead of building it again beside it.

Building a community's atomic units takes seconds; a page opening a plan asks for the
plan, its units and four map tiles at once, and each of these requests needs them.
Without one lock per key, each built its own copy (a cold open of 10,000 buildings
took four builds at once), and each copy had its own tiles cut again.

The standard library has no such "single flight" helper; this one is a dictionary of
:class:`threading.Lock` under one guard (one small lock kept per key ever asked for:
keys are community ids and plan ids).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """One :class:`threading.Lock` per key, made the first time the key is asked for.

    Examples
    --------
    >>> locks = KeyedLocks()
    >>> locks("C05") is locks("C05"), locks("C05") is locks("C06")
    (True, False)
    >>> with locks(("units", "C05")):
    ...     locks(("units", "C05")).locked()
    True
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: Hashable) -> threading.Lock:
        """The lock of ``key``."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def __len__(self) -> int:
        return len(self._locks)
