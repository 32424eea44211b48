"""Editing sessions: one :class:`~beatgrid.gis.grids.editing.PlanEditor` per user and
community, kept while the project is unchanged.

Each user (``owner``) has sessions of their own: one user's unsaved moves are never in
another's save. (Drafts that several users share, with recorded steps and versions, are
plans: :mod:`beatgrid.gis.plans`.)

An interactive front end (the map editor of the HTTP service) keeps the edits of each
community in memory until they are saved: moves re-check only the touched grids on the
unit graph and answer in milliseconds. A session belongs to the project state it was
built from (:meth:`~beatgrid.gis.io.store.Store.state`); when the project is written by
anyone else the session is stale: an edit then raises
:class:`~beatgrid.gis.errors.ConflictError` (the unsaved edits are discarded) and the
next request starts again from the stored plan. At most ``size`` sessions are kept
(least recently used without unsaved edits dropped first).

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.sample()
>>> _ = project.grids.generate(communities=["C05"], save=True)
>>> sessions = EditingSessions(project.grids)
>>> with sessions.open("C05", editing=True) as session:
...     first, second = sorted(session.editor.members)[:2]
...     _ = session.editor.move_units(sorted(session.editor.members[first])[:1], to_grid=second)
...     session.edits += 1
>>> project.write({"grids": project.layer("grids")})          # someone else writes
>>> with sessions.open("C05", editing=True) as session:
...     pass
Traceback (most recent call last):
...
beatgrid.gis.errors.ConflictError: the project file was written since the editing session of community C05 began: its 1 unsaved edit(s) are discarded Fix: reload the plan of community C05 and redo the edits
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from beatgrid.gis.errors import ConflictError
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.results import SavedEdit
from beatgrid.gis.grids.workflow import GridPlanning
from beatgrid.gis.keyed_locks import KeyedLocks

#: Sessions kept by default.
MAX_SESSIONS = 16


@dataclass
class EditingSession:
    """The editing session of one community: its editor and the project state it is of.

    Attributes
    ----------
    community_id
        The community edited.
    state
        The project state the editor was built from (or saved to).
    editor
        The editor holding the unsaved edits.
    edits
        Unsaved edits (the front end counts them).
    discarded
        Unsaved edits of the previous session discarded by a write of someone else.
    last_used
        When the session was last opened (``time.monotonic``).
    rendered
        What a front end rendered of the units (they do not change within a session).
    """

    community_id: str
    state: Hashable
    editor: PlanEditor
    edits: int = 0
    discarded: int = 0
    last_used: float = field(default_factory=time.monotonic)
    rendered: Any = None

    def grid_ids(self) -> list[Any]:
        """Grids of the community in the session (emptied ones included), sorted."""
        ed = self.editor
        return sorted((g for g, c in ed.grid_community.items() if c == self.community_id),
                      key=str)

    def live_grid_ids(self) -> list[Any]:
        """Grids holding at least one unit (an emptied grid is dropped on save)."""
        return [g for g in self.grid_ids() if self.editor.members.get(g)]


class EditingSessions:
    """The editing sessions of one project, one per community.

    Parameters
    ----------
    planning
        The project's grid planning (``project.grids``): builds the editors.
    size
        Sessions kept at most.
    stale_fix
        What a stale session's error tells to do (``{community_id}`` is filled in).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> sessions = EditingSessions(Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids)
    >>> sessions.size, len(sessions)
    (16, 0)
    """

    def __init__(self, planning: GridPlanning, *, size: int = MAX_SESSIONS,
                 stale_fix: str = "reload the plan of community {community_id} and redo the "
                                  "edits") -> None:
        self.planning = planning
        self.size = size
        self.stale_fix = stale_fix
        self._sessions: OrderedDict[tuple[str, str], EditingSession] = OrderedDict()
        self._key_lock = KeyedLocks()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def state(self) -> Hashable:
        """The current state of the project's store."""
        return self.planning.project.store.state()

    @contextlib.contextmanager
    def open(self, community_id: str, *, editing: bool, owner: str = "local"
             ) -> Iterator[EditingSession]:
        """The editing session of ``owner`` on a community, built from the stored plan
        when needed.

        Held exclusively while the ``with`` block runs (edits of one community are
        serialised).

        Raises
        ------
        ConflictError
            With ``editing``: the project was written since the session began and it had
            unsaved edits (the session is dropped; the next call starts afresh).
        """
        key = (owner, community_id)
        with self._key_lock(key):
            state = self.state()
            with self._lock:
                session = self._sessions.get(key)
            discarded = 0
            if session is not None and session.state != state:
                with self._lock:
                    self._sessions.pop(key, None)
                if session.edits and editing:
                    raise ConflictError(
                        f"the project file was written since the editing session of "
                        f"community {community_id} began: its {session.edits} unsaved "
                        "edit(s) are discarded",
                        fix=self.stale_fix.format(community_id=community_id))
                discarded, session = session.edits, None
            if session is None:
                session = EditingSession(community_id=community_id, state=state,
                                         editor=self.planning.editor(community_id),
                                         discarded=discarded)
                with self._lock:
                    self._sessions[key] = session
                    self._evict()
            session.last_used = time.monotonic()
            with self._lock:
                if key in self._sessions:
                    self._sessions.move_to_end(key)
            yield session

    def _evict(self) -> None:
        """Drop sessions beyond ``size``: least recently used, clean ones first."""
        while len(self._sessions) > self.size:
            clean = [k for k, s in self._sessions.items() if not s.edits]
            self._sessions.pop(clean[0] if clean else next(iter(self._sessions)))

    def save(self, session: EditingSession) -> SavedEdit:
        """Write the session's edits (``project.grids.save``); the session goes on from
        what was written, and the other sessions of the state written over stay valid.

        Returns
        -------
        SavedEdit
            What :meth:`~beatgrid.gis.grids.workflow.GridPlanning.save` wrote.
        """
        written = self.planning.save(session.editor)
        new_state = self.state()
        self.rekey(session.state, new_state, {session.community_id})
        session.editor = PlanEditor(written.applied.plan)
        session.state = new_state
        session.edits = 0
        return written

    def rekey(self, old_state: Hashable, new_state: Hashable, changed: Iterable[Any]) -> None:
        """After a write of our own that changed only the ``changed`` communities, the
        other sessions of the state written over are still those of the project."""
        done = set(changed)
        with self._lock:
            for (_, cid), s in self._sessions.items():
                if s.state == old_state and cid not in done:
                    s.state = new_state

    def drop(self, community_ids: Iterable[Any] | None = None) -> dict[str, int]:
        """Forget the sessions of these communities (all when None); their unsaved edits.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> EditingSessions(Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids).drop()
        {}
        """
        wanted = None if community_ids is None else set(community_ids)
        dropped: dict[str, int] = {}
        with self._lock:
            for key in list(self._sessions):
                if wanted is None or key[1] in wanted:
                    s = self._sessions.pop(key)
                    if s.edits:
                        dropped[key[1]] = dropped.get(key[1], 0) + s.edits
        return dropped
