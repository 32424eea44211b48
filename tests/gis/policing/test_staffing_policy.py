"""The staffing policy and the policing settings: defaults, overrides, routing, every error
naming key, value, fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from beatgrid.api.errors import status_of
from beatgrid.gis import Project, schema
from beatgrid.gis.config import Config, default_config, default_path
from beatgrid.gis.errors import PolicyError
from beatgrid.gis.policing.policy import (POLICY_CHECKS, default_policy, load_policy,
                                          policy_sections, round_count, validate_policy)
from beatgrid.gis.policing.settings import (METHOD_TABLES, SETTINGS_CHECKS,
                                            load_policing_settings)
from beatgrid.gis.policing.value_checks import flatten

SAMPLE = Path(__file__).resolve().parents[3] / "sample-geodata" / "ningbo-jiangbei.gpkg"


def test_shipped_defaults_are_the_seed_rules():
    p = default_policy()
    assert p["officers"]["per_beat"] == 1
    assert p["officers"]["two_officer_population"] == 10000
    assert p["officers"]["two_officer_if_floating_exceeds_registered"] is True
    assert (p["officers"]["type1_room_min"], p["officers"]["type2_room_min"]) == (2, 1)
    assert p["auxiliaries"]["per_officer"] == 1.5 and p["auxiliaries"]["minimum"] == 1
    assert p["floating_managers"]["floating_per_manager"] == 500
    assert p["grid_workers"]["per_grid"] == 1.0
    assert p["workload"]["relief_factor"] == 1.6
    assert p["workload"]["max_committed_share"] == 0.6


def test_defaults_cite_the_seed_files():
    text = default_path("staffing").read_text(encoding="utf-8")
    seeds = set(re.findall(r"\d{3}_[0-9a-f]{16}\.txt", text))
    assert {"000_439ae9aeb257afbf.txt", "001_f995ff83c6af33f0.txt",
            "003_8d800e913b44d59c.txt"} <= seeds


def test_every_key_is_checked_and_categories_match_the_schema():
    flat = dict(flatten(default_policy(), POLICY_CHECKS))
    assert set(flat) == set(POLICY_CHECKS)
    settings = dict(flatten(load_policing_settings(), SETTINGS_CHECKS))
    assert set(settings) == set(SETTINGS_CHECKS)
    p = default_policy()
    assert set(p["workload"]["handling_hours"]) == set(schema.INCIDENT_CATEGORIES)
    assert set(p["workload"]["officers_per_incident"]) == set(schema.INCIDENT_CATEGORIES)


def test_override_from_file(tmp_path: Path):
    f = tmp_path / "shanghai.toml"
    f.write_text("[officers]\ntwo_officer_population = 8000\n"
                 "[floating_managers]\nfloating_per_manager = 800\n", encoding="utf-8")
    p = load_policy(f)
    assert p["officers"]["two_officer_population"] == 8000
    assert p["floating_managers"]["floating_per_manager"] == 800
    assert p["officers"]["per_beat"] == 1           # untouched keys keep the defaults


def test_stacked_overrides():
    province = load_policy({"auxiliaries": {"per_officer": 2.0}})
    city = load_policy({"officers": {"per_beat": 2}}, base=province)
    assert city["auxiliaries"]["per_officer"] == 2.0 and city["officers"]["per_beat"] == 2


@pytest.mark.parametrize("override,key,value_text,fix_text", [
    ({"officers": {"two_officers": 2}}, "officers.two_officers", "2", "officers.per_beat"),
    ({"officers": {"per_beat": 1.5}}, "officers.per_beat", "1.5", "give an integer"),
    ({"officers": {"per_beat": -1}}, "officers.per_beat", "-1", ">= 0"),
    ({"auxiliaries": {"per_officer": "1.5"}}, "auxiliaries.per_officer", "'1.5'", "give a number"),
    ({"auxiliaries": {"rounding": "up"}}, "auxiliaries.rounding", "'up'", "'ceil'"),
    ({"floating_managers": {"floating_per_manager": 0}},
     "floating_managers.floating_per_manager", "0", "> 0"),
    ({"workload": {"max_committed_share": 1.5}}, "workload.max_committed_share", "1.5",
     "0 < value <= 1"),
    ({"workload": {"relief_factor": 0.5}}, "workload.relief_factor", "0.5", ">= 1"),
    ({"workload": {"shift_hours": 7}}, "workload.shift_hours", "7", "8"),
    ({"workload": {"enabled": "yes"}}, "workload.enabled", "'yes'", "give true or false"),
    ({"workload": {"handling_hours": {"arson": 2.0}}}, "workload.handling_hours.arson", "2.0",
     "burglary"),
    ({"workload": {"handling_hours": {"burglary": -2.0}}}, "workload.handling_hours.burglary",
     "-2.0", ">= 0"),
    ({"rooms": {"flag_conditions": ["basement"]}}, "rooms.flag_conditions", "['basement']",
     "'second_floor'"),
    ({"severity": {"high": 5.0}}, "severity.critical", "3.0", "severity.medium"),
    ({"officers": 3}, "officers", "3", "[officers]"),
    ({"version": 2}, "version", "2", "1"),
])
def test_invalid_policy_names_key_value_and_fix(override, key, value_text, fix_text):
    with pytest.raises(PolicyError) as info:
        load_policy(override)
    err = info.value
    assert key in err.message
    assert value_text in err.message
    assert err.fix and fix_text in err.fix
    assert status_of(err) == 422


def test_policy_file_errors(tmp_path: Path):
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[officers\nper_beat = 1\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[officers]\ntwo_officer_population = -5\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(wrong)
    assert str(wrong) in info.value.message and "-5" in info.value.message


def test_validate_rejects_missing_and_unknown_keys():
    p = default_policy()
    del p["officers"]["per_beat"]
    with pytest.raises(PolicyError, match="officers.per_beat' is missing"):
        validate_policy(p)
    p = default_policy()
    p["extra"] = 1
    with pytest.raises(PolicyError, match="unknown key 'extra'"):
        validate_policy(p)


def test_round_count():
    assert round_count(1.5, "ceil") == 2
    assert round_count(3.0000000001, "ceil") == 3
    assert round_count(2.5, "round") == 3 and round_count(2.4, "round") == 2
    assert round_count(1.99, "floor") == 1
    assert round_count([0.2, 1.0, 1.2], "ceil").tolist() == [1, 1, 2]
    with pytest.raises(PolicyError):
        round_count(1.0, "up")


# -- two sections: the policy (staffing.toml) and the method settings (policing.toml) -----

def test_the_two_shipped_files_hold_their_own_tables():
    config = default_config()
    assert set(config.policing) == set(METHOD_TABLES)
    assert not set(config.policy) & set(METHOD_TABLES)
    assert default_path("policing").name == "policing.toml"
    assert config.policing["responsibility_areas"]["beats_per_area"] == 5
    assert config.policy["officers"]["per_beat"] == 1


def test_config_runs_the_value_checks_of_both_sections():
    with pytest.raises(PolicyError, match="'auxiliaries.per_officer' has value -1.0"):
        Config.load(policy={"auxiliaries": {"per_officer": -1}})
    with pytest.raises(PolicyError, match="'hotspots.weights' has value 'rook'"):
        Config.load(policing={"hotspots": {"weights": "rook"}})
    with pytest.raises(PolicyError, match="ascend"):
        Config.load(settings={"policy": {"severity": {"high": 0.1}}})


def test_policy_file_tables_are_routed_to_their_sections(tmp_path: Path):
    f = tmp_path / "city.toml"
    f.write_text("version = 1\n[officers]\nper_beat = 2\n[beats]\nrural_merge = true\n"
                 "[hotspots]\npermutations = 99\n", encoding="utf-8")
    sections = policy_sections(f)
    assert sections == {"policy": {"version": 1, "officers": {"per_beat": 2}},
                        "policing": {"beats": {"rural_merge": True},
                                     "hotspots": {"permutations": 99}}}
    project = Project.open(SAMPLE, **sections)
    assert project.config.policy["officers"]["per_beat"] == 2
    assert project.config.policing["beats"]["rural_merge"] is True
    assert project.config.policing["hotspots"]["permutations"] == 99
    assert policy_sections({"alignment": {"min_share": 0.5}}) == {
        "policing": {"alignment": {"min_share": 0.5}}}


@pytest.mark.parametrize("override,message", [
    ({"hotspots": {"weights": "rook"}}, "staffing policy: 'hotspots.weights' has value 'rook'"),
    ({"beats": {"rural_merges": True}}, "staffing policy: unknown key 'beats.rural_merges'"),
    ({"offficers": {}}, "staffing policy: unknown key 'offficers'"),
    ({"officers": {"per_beat": -1}}, "staffing policy: 'officers.per_beat' has value -1"),
])
def test_routed_policy_errors_name_the_source(override, message):
    with pytest.raises(PolicyError) as info:
        policy_sections(override)
    assert message in str(info.value)


def test_routed_policy_file_errors_name_the_file(tmp_path: Path):
    f = tmp_path / "typo.toml"
    f.write_text("[alignment]\nmin_shares = 0.8\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        policy_sections(f)
    assert info.value.message.startswith(f"{f}: unknown key 'alignment.min_shares'")
    assert "alignment.min_share" in info.value.fix


def test_load_policy_refuses_method_tables():
    with pytest.raises(PolicyError, match=r"\[alignment\] is a policing method setting") as info:
        load_policy({"alignment": {"min_share": 0.7}})
    assert "policing" in info.value.fix
