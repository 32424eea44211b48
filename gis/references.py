"""References between layers: dangling foreign keys, and the id that was probably meant.

A column like ``communities.station_id`` refers to ``stations.id``
(:attr:`beatgrid.gis.layer_specs.Column.references`). :func:`check_references` lists
every value with no feature behind it; when the value is only written differently
from a known id (``"01"`` for ``"1"``, ``"s1"`` for ``"S1"``, ``"江北派出所"`` for
``"江北区派出所"``) the error suggests it (:func:`near_match`) and the fix says to map
the values. :mod:`beatgrid.gis.validation` runs it on a whole project.

Examples
--------
>>> import pandas as pd
>>> communities = pd.DataFrame({"id": ["C1"], "station_id": ["01"]})
>>> stations = pd.DataFrame({"id": ["1"]})
>>> check_references({"communities": communities, "stations": stations})[0].message
"refers to a missing stations feature; did you mean '1'?"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from beatgrid.gis.crs import validation_settings
from beatgrid.gis.errors import Problem
from beatgrid.gis.layer_specs import LAYERS

#: Distinct dangling values per column compared with difflib (the rest get only the exact
#: near matches: case, spaces, separators, leading zeros), to bound the work.
_MAX_FUZZY = 200


def row_ids(df: pd.DataFrame, id_column: str) -> pd.Series:
    """The id of each row for messages (``"row N"`` where the id is missing).

    Examples
    --------
    >>> row_ids(pd.DataFrame({"id": ["a", None]}), "id").tolist()
    ['a', 'row 1']
    """
    numbers = pd.Series([f"row {i}" for i in range(len(df))], index=df.index)
    if id_column in df.columns:
        ids = df[id_column].astype(object)
        return ids.where(ids.notna(), numbers)
    return numbers


def _normal_id(value: str) -> str:
    """An id without case, spaces, separators or leading zeros ('S-01 ' -> 's1')."""
    text = re.sub(r"[\s_\-./]+", "", str(value).casefold())
    return re.sub(r"\d+", lambda m: str(int(m.group())), text)


class _KnownIds:
    """Known ids indexed by their normal form and by the numbers in them."""

    def __init__(self, known: Sequence[str]) -> None:
        self.by_normal: dict[str, set[str]] = {}
        self.by_numbers: dict[tuple[str, ...], list[str]] = {}
        for k in known:
            normal = _normal_id(k)
            self.by_normal.setdefault(normal, set()).add(k)
            self.by_numbers.setdefault(tuple(re.findall(r"\d+", normal)), []).append(k)

    def near(self, value: Any, cutoff: float, *, fuzzy: bool = True) -> str | None:
        text = str(value)
        normal = _normal_id(text)
        same = self.by_normal.get(normal, set())
        if len(same) == 1:
            return next(iter(same))
        if not fuzzy:
            return None
        candidates = self.by_numbers.get(tuple(re.findall(r"\d+", normal)), [])
        close = difflib.get_close_matches(text, candidates, n=1, cutoff=cutoff)
        return close[0] if close else None


def near_match(value: Any, known: Sequence[str], *, ratio: float | None = None) -> str | None:
    """The known id ``value`` was most likely meant to be, or None.

    First an id equal but for case, spaces, separators and leading zeros; else the most
    similar one (:func:`difflib.get_close_matches`, at least ``ratio``, default from the
    ``core`` settings) with the same numbers in it.

    Examples
    --------
    >>> near_match("01", ["1", "2", "10"]), near_match(" s01", ["S1", "S2"])
    ('1', 'S1')
    >>> near_match("江北派出所", ["江北区派出所", "慈城派出所"])
    '江北区派出所'
    >>> near_match("B99", ["B01", "B09"]) is None
    True
    """
    cutoff = float(validation_settings()["reference_match_ratio"] if ratio is None else ratio)
    return _KnownIds(known).near(value, cutoff)


def check_references(layers: Mapping[str, pd.DataFrame | None], *,
                     settings: Mapping[str, Any] | None = None) -> list[Problem]:
    """List every dangling reference between the given layers (foreign keys).

    A layer absent from ``layers`` counts as empty: every reference to it dangles. A
    value written differently from a known id ("01" for "1", "s1" for "S1") gets the
    near match as a suggestion (:func:`near_match`).

    Examples
    --------
    >>> import pandas as pd
    >>> staff = pd.DataFrame({"beat_id": ["B01", "B99", "b-1"]})
    >>> beats = pd.DataFrame({"id": ["B01"]})
    >>> for p in check_references({"staff": staff, "beats": beats}):
    ...     print(p.format())
    [error] staff id=B99 column=beat_id: refers to a missing beats feature (value: 'B99'). Fix: add beats id 'B99', or clear 'beat_id'
    [error] staff id=b-1 column=beat_id: refers to a missing beats feature; did you mean 'B01'? (value: 'b-1'). Fix: map the values of 'beat_id' to the beats ids ('b-1' -> 'B01'; on import: --map-values beat_id=FILE.csv), or add beats id 'b-1'
    """
    ratio = validation_settings(settings)["reference_match_ratio"]
    problems: list[Problem] = []
    for name, df in layers.items():
        spec = LAYERS.get(name)
        if spec is None or df is None:
            continue
        ids = row_ids(df, spec.id_column)
        for col in spec.columns:
            if not col.references or col.name not in df.columns:
                continue
            target_layer, target_col = col.references.split(".")
            target = layers.get(target_layer)
            values = df[col.name]
            present = values.notna() & (values.astype(str) != "")
            if not present.any():
                continue
            known = set() if target is None or target_col not in target.columns else set(
                target[target_col].dropna().astype(str))
            dangling = present & ~values.astype(str).isin(known)
            index = _KnownIds(sorted(known))
            suggestions = {v: index.near(v, ratio, fuzzy=i < _MAX_FUZZY)
                           for i, v in enumerate(pd.unique(values[dangling].astype(str)))}
            for idx in df.index[dangling.to_numpy()]:
                value = values[idx]
                near = suggestions[str(value)]
                message = f"refers to a missing {target_layer} feature"
                fix = f"add {target_layer} id {value!r}, or clear {col.name!r}"
                if near is not None:
                    message += f"; did you mean {near!r}?"
                    fix = (f"map the values of {col.name!r} to the {target_layer} ids "
                           f"({str(value)!r} -> {near!r}; on import: --map-values "
                           f"{col.name}=FILE.csv), or add {target_layer} id {value!r}")
                problems.append(Problem(layer=name, row_id=ids[idx], column=col.name,
                                        value=value, message=message, fix=fix))
    return problems
