"""Property-based fuzzing of the settings and policy loaders (hypothesis, bounded).

The property: any TOML text, and any mapping TOML or JSON could give, either loads or
raises :class:`~beatgrid.gis.errors.PolicyError` (which the command line prints on one
line, exit 2, and the service answers with 422), never anything else: no
OverflowError for a 400-digit number, no RecursionError for deep nesting, no TypeError
for a value of an odd type. Run through :meth:`Config.load` (a settings file with
sections, and per-section overrides), :func:`load_policy` and :func:`policy_sections`
(what ``beatgrid staffing --policy`` and ``POST /staffing`` use).

The generated documents are built from the real keys of the shipped files (so they get
past the "unknown key" check and reach the value checks) with values of every kind:
integers up to 1,000 digits, ``nan``, ``inf``, floats near the limits, strings, lists,
tables, nested tables.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatgrid.gis.config import SECTION_FILES, Config, default_config, thaw
from beatgrid.gis.errors import PolicyError
from beatgrid.gis.policing.policy import load_policy, policy_sections

FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEFAULTS = {name: thaw(getattr(default_config(), name)) for name in SECTION_FILES}


def _keys(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in table.items():
        out.append((*prefix, key))
        if isinstance(value, Mapping):
            out.extend(_keys(value, (*prefix, key)))
    return out


#: Every key path of every shipped section ("grids", "band", "min_households").
KEY_PATHS = [(name, *path) for name, table in DEFAULTS.items() for path in _keys(table)]

huge_ints = st.integers(min_value=1, max_value=1000).map(lambda n: 10 ** n - 1)
numbers = st.one_of(st.integers(), huge_ints, huge_ints.map(lambda x: -x),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, -1, 0.0, 2**53, 2**53 + 1, 1e308, -1e308, 5e-324]))
scalars = st.one_of(numbers, st.booleans(), st.text(max_size=20),
                    st.sampled_from(["ceil", "nested", "average", "queen", "road", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


@st.composite
def documents(draw: st.DrawFn, *, sections: bool) -> dict[str, Any]:
    """A mapping shaped like a settings file (``sections``) or like ``staffing.toml``."""
    doc: dict[str, Any] = {}
    paths = KEY_PATHS if sections else [p[1:] for p in KEY_PATHS if p[0] == "policy"]
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=5)):
        node = doc
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = draw(values)
    if draw(st.booleans()):  # sometimes a key or a table that does not exist
        doc[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return doc


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def to_toml(value: Any) -> str:
    """A value as TOML (inline tables; floats and integers as Python writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {to_toml(v)}" for k, v in value.items()) + "}"


def document_text(doc: Mapping[str, Any]) -> str:
    return "".join(f"{_key(k)} = {to_toml(v)}\n" for k, v in doc.items())


def loads_or_policy_error(call: Any, *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except PolicyError as exc:
        assert str(exc) and len(str(exc)) < 2000  # one readable line
        assert "\n" not in exc.message


def _file(text: str | bytes, folder: str) -> Path:
    path = Path(folder) / "fuzz.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8", errors="surrogatepass")
    return path


@FUZZ
@given(doc=documents(sections=True))
def test_config_load_of_any_settings_mapping(doc):
    loads_or_policy_error(Config.load, settings=doc)


@FUZZ
@given(section=st.sampled_from([*SECTION_FILES, "nosuch"]), doc=documents(sections=False))
def test_config_load_of_any_section_mapping(section, doc):
    loads_or_policy_error(Config.load, **{section: doc})


@FUZZ
@given(doc=documents(sections=False))
def test_policy_loaders_on_any_mapping(doc):
    loads_or_policy_error(load_policy, doc)
    loads_or_policy_error(policy_sections, doc)


@FUZZ
@given(doc=documents(sections=True), cut=st.integers(min_value=0, max_value=400),
       junk=st.text(max_size=6))
def test_config_load_of_any_settings_text(doc, cut, junk):
    """The TOML text of a generated document, sometimes cut short or with junk inserted."""
    text = document_text(doc)
    if cut % 3 == 0 and text:
        text = text[: cut % len(text)] + junk + text[cut % len(text):]
    with tempfile.TemporaryDirectory() as folder:
        path = _file(text, folder)
        loads_or_policy_error(Config.load, settings=path)
        loads_or_policy_error(Config.load, grids=path)


@FUZZ
@given(doc=documents(sections=False))
def test_policy_file_of_any_text(doc):
    with tempfile.TemporaryDirectory() as folder:
        path = _file(document_text(doc), folder)
        loads_or_policy_error(policy_sections, path)
        loads_or_policy_error(load_policy, path)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_bytes_as_a_policy_file(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = _file(raw, folder)
        loads_or_policy_error(policy_sections, path)
        loads_or_policy_error(Config.load, settings=path)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(depth=st.integers(min_value=1, max_value=5000),
       kind=st.sampled_from(["inline table", "array", "mapping", "list"]))
def test_any_nesting_depth(depth, kind):
    """Up to 5,000 deep, as TOML text and as a mapping (what a JSON body gives)."""
    if kind in ("inline table", "array"):
        open_, close = ("{a = ", "}") if kind == "inline table" else ("[", "]")
        with tempfile.TemporaryDirectory() as folder:
            path = _file("[officers]\nper_beat = " + open_ * depth + "1" + close * depth,
                         folder)
            loads_or_policy_error(policy_sections, path)
        return
    value: Any = 1
    for _ in range(depth):
        value = {"a": value} if kind == "mapping" else [value]
    loads_or_policy_error(load_policy, {"officers": {"per_beat": value}})
    loads_or_policy_error(Config.load, settings={"policy": {"officers": value}})
    loads_or_policy_error(Config.load, coverage={"fov": value})


def test_store_setting_is_checked():
    """The setting this issue adds (``core``: ``store.stale_temp_hours``) has its check."""
    assert Config.load(core={"store": {"stale_temp_hours": 1}}).core["store"][
        "stale_temp_hours"] == 1.0
    for bad in (0, -2, float("nan"), 10**400):
        try:
            Config.load(core={"store": {"stale_temp_hours": bad}})
        except PolicyError as exc:
            assert "'store.stale_temp_hours' has value" in str(exc) and "Fix: give" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")
