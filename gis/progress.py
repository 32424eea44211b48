"""Progress reports and cooperative cancellation of the long workflows.

The workflows that take seconds to minutes on a city (``project.grids.generate``,
``project.coverage.analyse`` and ``recommend``, ``project.policing.assess``) take a
keyword ``progress: Progress | None = None``: a callable ``progress(fraction, message)``
they call at natural checkpoints (each layer read, each stage of the computation),
``fraction`` rising from 0 to 1. The command line draws it as a bar, the HTTP service
shows it on ``GET /jobs/{id}``, a notebook may print it.

Cancellation is cooperative: the caller stops the work by raising :class:`Cancelled`
from its callback (a :class:`CancelToken` does it once cancelled, or past a
deadline). The exception travels up through the workflow; a workflow reports no
checkpoint once it has started to write, so a cancelled run writes nothing.

Examples
--------
>>> from beatgrid.gis import Project
>>> seen = Recorder()
>>> _ = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess(progress=seen)
>>> seen.fractions == sorted(seen.fractions), seen.messages[0]
(True, 'reading stations')
>>> token = CancelToken()
>>> token.cancel("stopped by the user")
>>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess(progress=token)
Traceback (most recent call last):
...
beatgrid.gis.progress.Cancelled: stopped by the user
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")

__all__ = ["Progress", "Cancelled", "CancelToken", "Recorder", "report", "scaled", "steps"]


class Progress(Protocol):
    """What a workflow calls at its checkpoints: ``progress(fraction, message)``.

    ``fraction`` is the share of the work done, from 0 to 1 (never falling);
    ``message`` says what is being done ("reading buildings", "planning grids").
    Raising :class:`Cancelled` stops the work.
    """

    def __call__(self, fraction: float, message: str) -> None:
        """Report ``fraction`` (0 to 1) done, now doing ``message``."""


class Cancelled(Exception):
    """Raised by a progress callback to stop the work (cooperative cancellation).

    Examples
    --------
    >>> str(Cancelled("time limit of 60 s reached"))
    'time limit of 60 s reached'
    """

    def __init__(self, reason: str = "cancelled") -> None:
        super().__init__(reason)
        self.reason = reason


def report(progress: Progress | None, fraction: float, message: str) -> None:
    """Call ``progress`` (when given) with ``fraction`` clipped to ``[0, 1]``.

    Examples
    --------
    >>> seen = Recorder()
    >>> report(seen, 1.5, "done"); report(None, 0.5, "nobody listens")
    >>> seen.events
    [(1.0, 'done')]
    """
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def scaled(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A progress for a part of the work: its 0..1 maps to ``start..end`` of ``progress``.

    Examples
    --------
    >>> seen = Recorder()
    >>> part = scaled(seen, 0.5, 0.7)
    >>> part(0.5, "half of the second part")
    >>> seen.events
    [(0.6, 'half of the second part')]
    >>> scaled(None, 0.5, 0.7) is None
    True
    """
    if progress is None:
        return None
    outer = progress

    def part(fraction: float, message: str) -> None:
        report(outer, start + (end - start) * min(max(fraction, 0.0), 1.0), message)

    return part


def steps(progress: Progress | None, items: Iterable[T], *, start: float = 0.0,
          end: float = 1.0, message: str = "{item}") -> Iterator[T]:
    """Yield ``items``, reporting before each one (``message`` formatted with ``item``).

    Examples
    --------
    >>> seen = Recorder()
    >>> [name.upper() for name in steps(seen, ["beats", "staff"], end=0.5,
    ...                                 message="reading {item}")]
    ['BEATS', 'STAFF']
    >>> seen.events
    [(0.0, 'reading beats'), (0.25, 'reading staff')]
    """
    chosen = list(items)
    for i, item in enumerate(chosen):
        report(progress, start + (end - start) * i / len(chosen), message.format(item=item))
        yield item


class CancelToken:
    """A progress callback that raises :class:`Cancelled` once cancelled or past a deadline.

    Parameters
    ----------
    forward
        Another progress callback every report is passed on to (a bar, a job record).
    deadline
        A :func:`time.monotonic` time after which the work is stopped (None: none).
    deadline_reason
        The reason given when the deadline stops the work.

    Examples
    --------
    >>> token = CancelToken(deadline=time.monotonic() - 1, deadline_reason="too slow")
    >>> token(0.1, "working")
    Traceback (most recent call last):
    ...
    beatgrid.gis.progress.Cancelled: too slow
    """

    def __init__(self, forward: Progress | None = None, *, deadline: float | None = None,
                 deadline_reason: str = "time limit reached") -> None:
        self.forward = forward
        self.deadline = deadline
        self.deadline_reason = deadline_reason
        self._event = threading.Event()
        self._reason = "cancelled"

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the work at its next checkpoint (the first reason given is kept)."""
        if not self._event.is_set():
            self._reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    @property
    def reason(self) -> str | None:
        """Why the work is stopped (None while it may go on)."""
        if self._event.is_set():
            return self._reason
        if self.expired:
            return self.deadline_reason
        return None

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and time.monotonic() > self.deadline

    def check(self) -> None:
        """Raise :class:`Cancelled` when cancelled or past the deadline."""
        reason = self.reason
        if reason is not None:
            raise Cancelled(reason)

    def __call__(self, fraction: float, message: str) -> None:
        self.check()
        report(self.forward, fraction, message)


class Recorder:
    """A progress callback keeping every report (for tests, notebooks and examples).

    Examples
    --------
    >>> seen = Recorder()
    >>> seen(0.25, "reading"); seen(0.5, "computing")
    >>> seen.fractions, seen.messages
    ([0.25, 0.5], ['reading', 'computing'])
    """

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []

    def __call__(self, fraction: float, message: str) -> None:
        self.events.append((round(float(fraction), 9), message))

    @property
    def fractions(self) -> list[float]:
        """The fractions reported, in order."""
        return [f for f, _ in self.events]

    @property
    def messages(self) -> list[str]:
        """The messages reported, in order."""
        return [m for _, m in self.events]
