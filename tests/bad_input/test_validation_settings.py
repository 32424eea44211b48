"""Issue 9, loose ends: a project's settings reach validation, and settings messages say
what a value should be in plain words.

:data:`VALIDATE_CASES` run ``beatgrid validate --settings FILE.toml`` on a copy of the
sample: a settings file lowering a plausible maximum changes what is reported (the
count is recomputed from the sample), a wrong one is one line and exit 2.
``project.validate()`` of a project opened with the same settings reports the same.
:data:`TYPE_CASES` give each settings section a value of the wrong type and check the
words of the message and the fix ("give an integer", never "give a int").
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest

from beatgrid.api.cli import main
from beatgrid.gis import Config, Project
from beatgrid.gis.errors import PolicyError
from beatgrid.gis.policing.policy import load_policy

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def over() -> dict[str, int]:
    """How many sample features lie above the maxima the cases set."""
    b = pyogrio.read_dataframe(SAMPLE, layer="buildings", read_geometry=False)
    staff = pyogrio.read_dataframe(SAMPLE, layer="staff", read_geometry=False)
    cams = pyogrio.read_dataframe(SAMPLE, layer="cameras", read_geometry=False)
    return {"households > 50": int((b["households"] > 50).sum()),
            "officers > 1": int((staff["community_officers"] > 1).sum()),
            "range > 20": int((cams["range_m"] > 20).sum())}


@dataclass(frozen=True)
class ValidateCase:
    name: str
    settings: str | None
    status: int
    words: tuple[str, ...]
    errors: str | None = None  # key of ``over``: the number of errors expected


VALIDATE_CASES = [
    ValidateCase("shipped settings", None, 0, ("no problems",)),
    ValidateCase("the plausible maximum unchanged", "[validation.plausible_maximum]\n", 0,
                 ("no problems",)),
    ValidateCase("households above 50 implausible",
                 "[validation.plausible_maximum]\nbuildings.households = 50\n", 1,
                 ("[error] buildings id=", "column=households: value is implausible: more than 50",
                  "its range: 0 to 50", "raise [validation.plausible_maximum] buildings.households"),
                 "households > 50"),
    ValidateCase("several maxima lowered",
                 "[validation.plausible_maximum.staff]\ncommunity_officers = 1\n"
                 "[validation.plausible_maximum.cameras]\nrange_m = 20.0\n", 1,
                 ("column=community_officers: value is implausible: more than 1",
                  "column=range_m: value is implausible: more than 20"),
                 "officers > 1+range > 20"),
    ValidateCase("a column with hard bounds",
                 "[validation.plausible_maximum]\ncameras.direction = 400\n", 2,
                 ("'validation.plausible_maximum.cameras.direction' has no plausible maximum",
                  "Fix: give one of: range_m, height_m")),
    ValidateCase("a maximum at the minimum",
                 "[validation.plausible_maximum]\nbuildings.households = 0\n", 2,
                 ("'validation.plausible_maximum.buildings.households' has value 0: it must be "
                  "a number above the column's minimum 0", "(the schema's is 10,000)")),
    ValidateCase("a maximum as text",
                 "[validation.plausible_maximum]\nbuildings.households = \"many\"\n", 2,
                 ("has value 'many': it must be a number above",)),
    ValidateCase("a layer BeatGrid does not have",
                 "[validation.plausible_maximum]\ncastles.towers = 3\n", 2,
                 ("'validation.plausible_maximum.castles' names no layer",
                  "Fix: use one of: stations")),
    ValidateCase("a column the layer does not have",
                 "[validation.plausible_maximum]\nbuildings.floors = 30\n", 2,
                 ("'validation.plausible_maximum.buildings.floors' is not a column of the layer",
                  "households")),
    ValidateCase("a tolerance out of range", "[validation]\narea_of_use_tolerance_deg = 20\n",
                 2, ("'validation.area_of_use_tolerance_deg' has value 20",)),
]


@pytest.mark.parametrize("case", VALIDATE_CASES, ids=[c.name for c in VALIDATE_CASES])
def test_validate_with_settings(case: ValidateCase, over, tmp_path, capsys):
    project = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, project)
    before = sha256(project)
    argv = ["validate", "--project", str(project), "--limit", "400"]
    if case.settings is not None:
        (tmp_path / "city.toml").write_text(case.settings, "utf-8")
        argv += ["--settings", str(tmp_path / "city.toml")]
    status = main(argv)
    out, err = capsys.readouterr()
    text = out + err
    assert status == case.status, text
    for word in case.words:
        assert word in text, (word, text)
    assert "Traceback" not in text and sha256(project) == before
    if case.status == 2:
        assert len(err.strip().splitlines()) == 1, err
    if case.errors is not None:
        n = sum(over[key] for key in case.errors.split("+"))
        assert n > 0 and f"{n} error(s), 0 warning(s)" in out, out


def test_project_validate_uses_the_project_settings(over, tmp_path):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, path)
    assert Project.open(path).validate().ok
    lowered = {"validation": {"plausible_maximum": {"buildings": {"households": 50}}}}
    report = Project.open(path, core=lowered).validate()
    assert {(p.layer, p.column) for p in report.errors} == {("buildings", "households")}
    assert len(report.errors) == over["households > 50"]
    raised = Project.open(path, settings={"core": lowered}).validate()  # the whole-settings form
    assert len(raised.errors) == len(report.errors)


# -- the words for a value of the wrong type ---------------------------------------------------

@dataclass(frozen=True)
class TypeCase:
    section: str
    override: dict
    key: str
    message: str
    fix: str


TYPE_CASES = [
    TypeCase("policy", {"officers": {"per_beat": 1.5}}, "officers.per_beat",
             "has value 1.5 (a number) where an integer is expected",
             "give an integer like the default 1"),
    TypeCase("policy", {"auxiliaries": {"per_officer": "1.5"}}, "auxiliaries.per_officer",
             "has value '1.5' (text) where a number is expected",
             "give a number like the default 1.5"),
    TypeCase("policy", {"workload": {"enabled": "yes"}}, "workload.enabled",
             "has value 'yes' (text) where true or false is expected",
             "give true or false like the default true"),
    TypeCase("policy", {"auxiliaries": {"rounding": 1}}, "auxiliaries.rounding",
             "has value 1 (an integer) where text is expected",
             "give text like the default 'ceil'"),
    TypeCase("grids", {"band": {"min_households": 300.5}}, "band.min_households",
             "(a number) where an integer is expected", "give an integer like the default 300"),
    TypeCase("core", {"import": {"residential_building_tags": "yes"}},
             "import.residential_building_tags", "has value 'yes' (text) where a list is "
             "expected", "give a list like the default ['residential'"),
    TypeCase("core", {"import": {"dwelling_size_m2": True}}, "import.dwelling_size_m2",
             "has value True (true or false) where a number is expected",
             "give a number like the default 90.0"),
]


@pytest.mark.parametrize("case", TYPE_CASES, ids=[c.key for c in TYPE_CASES])
def test_type_words(case: TypeCase):
    with pytest.raises(PolicyError) as info:
        Config.load(**{case.section: case.override})
    err = info.value
    assert repr(case.key) in err.message and case.message in err.message, err.message
    assert err.fix.startswith(case.fix), err.fix
    assert not re.search(r"\ba (int|float|str|bool|dict|tuple)\b", f"{err.message} {err.fix}")
    if case.section == "policy":  # the policy loader says the same
        with pytest.raises(PolicyError) as again:
            load_policy(case.override)
        assert case.message in again.value.message and again.value.fix == err.fix


def test_policy_file_of_the_wrong_type_is_one_line(tmp_path, capsys):
    project = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, project)
    policy = tmp_path / "policy.toml"
    policy.write_text("[officers]\nper_beat = 1.5\n", "utf-8")
    assert main(["staffing", "--project", str(project), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'officers.per_beat' has value 1.5 (a number) where an integer is expected" in err
    assert "Fix: give an integer like the default 1" in err
