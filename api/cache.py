"""Results of the HTTP routes, cached per project while the project file is unchanged.

Route modules share one cache: the key is the project path, the state of the
GeoPackage (its WAL file included) and the route's own key, so any write to the
project invalidates everything computed from it. Requests arriving together for
the same result wait for a single computation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from fastapi import Request


def file_state(path: Path) -> tuple:
    """What changes when the GeoPackage is written (its WAL file included)."""
    state = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            state.append((st.st_mtime_ns, st.st_size))
        except OSError:
            state.append(None)
    return tuple(state)


class ProjectCache:
    """A small LRU cache of results computed from a project's layers.

    Parameters
    ----------
    size
        Results kept at most (least recently used dropped first).
    """

    def __init__(self, *, size: int):
        self.size = size
        self._results: OrderedDict = OrderedDict()
        self._pending: dict = {}
        self._lock = threading.Lock()

    def get(self, request: Request, key: tuple, layers: list[str], compute: Callable):
        """``compute(layers)`` for the request's project, reused while the file is unchanged."""
        from beatgrid.gis.io.project import read_project

        path = Path(request.app.state.project)
        full = (str(path.resolve()), file_state(path), key)
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
            result = compute(read_project(path, layers))
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
