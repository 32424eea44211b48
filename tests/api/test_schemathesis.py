"""schemathesis over the whole OpenAPI of the service: no 5xx, answers as documented.

Every operation of ``create_app(copy of the sample)`` is exercised in-process (the ASGI
transport, no network) in the examples, coverage and fuzzing phases, with positive and
negative data. Each answer is checked: never a server error, a documented status code
and content type, the body conforming to its documented schema (the one error body
for every 4xx), and schema-invalid requests refused.

Bounds, so that the whole run stays within about a minute on 2 cores:

- ``max_examples`` is small per operation (:data:`MAX_EXAMPLES`);
- the heavy computations are given small *valid* values before the call
  (:func:`bounded`): a recommendation covers one estate with a budget of at most
  :data:`MAX_BUDGET` and an ILP time limit of at most :data:`MAX_TIME_LIMIT_S`; grid
  generation plans one community with a household band at least
  :data:`MIN_BAND_WIDTH` wide (a narrow band keeps the generator busy for a minute);
  Gi* uses at most :data:`MAX_PERMUTATIONS` permutations. Only in-range values are
  lowered, so a valid request stays valid and an invalid one stays invalid (and is
  refused as before);
- the stateful phase is off: the OpenAPI declares no links between operations, and
  the only link schemathesis infers (``GET /layers`` -> ``GET /layers/{name}``) adds a
  minute for nothing the other phases miss.

The service runs in accounts mode and every request carries an administrator's token
(an authenticated client: the role checks pass and the routes themselves are fuzzed).
Each xdist worker builds its own app on its own copy of the sample.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.checks import (content_type_conformance, negative_data_rejection,
                                 not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from beatgrid.api.service import create_app
from beatgrid.gis import Project

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
#: Hypothesis examples per operation in the fuzzing phase.
MAX_EXAMPLES = 8
#: The estate and community the heavy computations are bounded to (small ones).
ESTATE = "E55"
COMMUNITY = "C05"
#: Largest camera budget and ILP time limit sent to POST /cameras/recommend.
MAX_BUDGET = 3
MAX_TIME_LIMIT_S = 1.0
#: Narrowest household band sent to POST /grids/generate, the shipped band and the range
#: of min and max the service accepts.
MIN_BAND_WIDTH = 200
DEFAULT_BAND = (300, 500)
BAND_RANGE = (50, 10_000)
#: Most Gi* permutations sent to GET /hotspots.
MAX_PERMUTATIONS = 99
#: Seconds an answer may take (schemathesis's default of 10 s failed once on a machine
#: loaded by other jobs; a real hang still fails).
REQUEST_TIMEOUT_S = 60

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]

schemathesis.serializer.alias("application/toml", "text/plain")


def _app() -> tuple[Any, dict[str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="beatgrid-schemathesis-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "p.gpkg"
    shutil.copy(SAMPLE, path)
    project = Project.open(path)
    project.accounts.add("fuzz", role="admin")
    token = project.accounts.issue_token("fuzz", label="schemathesis")
    return create_app(project, auth_mode="accounts"), {"Authorization": f"Bearer {token}"}


CONFIG = schemathesis.Config.from_dict({
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
})
APP, HEADERS = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wide_band(body: dict[str, Any]) -> None:
    """Widen a valid household band narrower than :data:`MIN_BAND_WIDTH` (a band of 300
    to 350 keeps the generator busy for a minute on one community)."""
    given: dict[str, int | None] = {}
    for key in ("min", "max"):
        value = body.get(key)
        if value is not None and not (_whole(value) and BAND_RANGE[0] <= value <= BAND_RANGE[1]):
            return                  # invalid: sent as it is, and refused
        given[key] = value
    if given["min"] is None and given["max"] is None:
        return
    lo = given["min"] if given["min"] is not None else DEFAULT_BAND[0]
    hi = given["max"] if given["max"] is not None else DEFAULT_BAND[1]
    if lo <= hi < lo + MIN_BAND_WIDTH:
        hi = min(BAND_RANGE[1], lo + MIN_BAND_WIDTH)
        body["min"], body["max"] = hi - MIN_BAND_WIDTH, hi


def bounded(case: Any) -> None:
    """Lower the expensive valid values of ``case`` in place (see the module docstring)."""
    body, query = case.body, case.query
    if case.path == "/cameras/recommend" and isinstance(body, dict):
        if "estate" not in body or body["estate"] is None:
            body["estate"] = ESTATE
        if _whole(body.get("budget")) and 1 <= body["budget"] <= 500:
            body["budget"] = min(body["budget"], MAX_BUDGET)
        if _number(body.get("time_limit")) and 0 < body["time_limit"] <= 600:
            body["time_limit"] = min(body["time_limit"], MAX_TIME_LIMIT_S)
    if case.path == "/grids/generate" and body is None and case.method.upper() == "POST":
        case.body = body = {}                 # no body would plan the whole district
    if case.path == "/grids/generate" and isinstance(body, dict):
        if "community_id" not in body or body["community_id"] is None:
            body["community_id"] = COMMUNITY
        _wide_band(body)
    if case.path in ("/plans", "/plans/import") and isinstance(body, dict) \
            and isinstance(body.get("community_id"), str) \
            and 1 <= len(body["community_id"]) <= 64:
        body["community_id"] = COMMUNITY      # a generated plan of a small community
    if case.path == "/plans/{plan_id}/generate" and isinstance(body, dict):
        lo, hi = body.get("min_households"), body.get("max_households")
        if _whole(lo) and _whole(hi) and 1 <= lo <= hi < lo + MIN_BAND_WIDTH:
            body["max_households"] = lo + MIN_BAND_WIDTH
    if case.path == "/hotspots" and isinstance(query, dict):
        perms = query.get("permutations")
        if _whole(perms) and 0 <= perms <= 9999:
            query["permutations"] = min(perms, MAX_PERMUTATIONS)


def checks_for(case: Any) -> list[Any]:
    """The checks of ``case``: all of :data:`CHECKS`, except that a TOML policy body that
    schemathesis generated as a non-string is sent as its JSON text, which the service
    rightly reads as a JSON policy (so it is not "invalid data accepted")."""
    if case.media_type == "application/toml" and not isinstance(case.body, str):
        return [c for c in CHECKS if c is not negative_data_rejection]
    return CHECKS


@schema.parametrize()
def test_no_server_error_and_answers_as_documented(case):
    bounded(case)
    # signing out would revoke the one token of the run: that route is called without it
    headers = {} if case.path == "/auth/logout" else HEADERS
    case.call_and_validate(checks=checks_for(case), headers=headers,
                          timeout=REQUEST_TIMEOUT_S)
