"""Results of the HTTP routes, cached per project while its stored layers are unchanged.

Route modules share one cache (``app.state.cache``): the key is the store's
:meth:`~beatgrid.gis.io.store.Store.state` (which changes on every write) and the
route's own key, so any write to the project invalidates everything computed from
it. Requests arriving together for the same result wait for a single computation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from beatgrid.gis.workspace import Workspace


def file_state(path: Path) -> tuple[tuple[int, int] | None, ...]:
    """What changes when a GeoPackage is written (its WAL file included)."""
    state: list[tuple[int, int] | None] = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            state.append((st.st_mtime_ns, st.st_size))
        except OSError:
            state.append(None)
    return tuple(state)


class ResultCache:
    """A small LRU cache of results computed from a project's layers.

    Parameters
    ----------
    size
        Results kept at most (least recently used dropped first).
    """

    def __init__(self, *, size: int) -> None:
        self.size = size
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, project: Workspace, key: Hashable, layers: Sequence[str],
            compute: Callable[[dict[str, pd.DataFrame]], Any]) -> Any:
        """``compute(layers)`` for ``project``, reused while its store is unchanged."""
        full = (project.store.state(), key)
        while True:
            with self._lock:
                if full in self._results:
                    self._results.move_to_end(full)
                    return self._results[full]
                done = self._pending.get(full)
                if done is None:
                    done = self._pending[full] = threading.Event()
                    break
            done.wait()  # then take the cached result, or compute when that one failed
        try:
            result = compute(project.read(list(layers)))
            with self._lock:
                self._results[full] = result
                while len(self._results) > self.size:
                    self._results.popitem(last=False)
            return result
        finally:
            with self._lock:
                self._pending.pop(full, None)
            done.set()

    def clear(self) -> None:
        """Forget every cached result."""
        with self._lock:
            self._results.clear()

