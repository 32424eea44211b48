"""Contiguity of a set of units on an adjacency graph (grids, responsibility areas).

Examples
--------
>>> adj = [[1], [0, 2], [1]]          # a chain 0 - 1 - 2
>>> is_connected(adj, {0, 1, 2}), is_connected(adj, {0, 1, 2}, 1)
(True, False)
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence, Set
from typing import Any

#: Neighbours of every unit: ``adj[u]`` is a collection of units (lists, sets, arrays).
Adjacency = Sequence[Collection[Any]] | Mapping[Any, Collection[Any]]


def is_connected(adj: Adjacency, members: Set[Any], removed: Hashable | None = None) -> bool:
    """Whether ``members`` minus ``removed`` is connected in the adjacency lists ``adj``.

    An empty remainder counts as not connected (a region must keep a unit).

    Parameters
    ----------
    adj
        Neighbours of every unit (``adj[u]``).
    members
        The units of the region.
    removed
        A unit taken out of the region first (would the region stay in one piece?).

    Examples
    --------
    >>> is_connected([[1], [0], []], {0, 1, 2})
    False
    >>> is_connected([[1], [0]], {0}, removed=0)
    False
    """
    rest = members if removed is None else members - {removed}
    if not rest:
        return False
    start = next(iter(rest))
    seen = {start}
    stack = [start]
    while stack:
        x = stack.pop()
        for y in adj[x]:
            if y in rest and y not in seen:
                seen.add(y)
                stack.append(y)
    return len(seen) == len(rest)
