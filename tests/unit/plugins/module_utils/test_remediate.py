"""Unit tests for module_utils/remediate.py: the remediate playbook's options, checked before any change."""
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.remediate import KNOWN, validate_options
from ansible_collections.fleetclock.timesync.plugins.filter.remediate import remediate_validate_options


def test_defaults_and_good_values_pass():
    assert validate_options({}) == []
    assert validate_options({name: None for name in KNOWN}) == []
    assert validate_options({
        "fleetclock_remediate_hosts": "web:&prod",
        "fleetclock_remediate_serial": [1, "10%", "25%", "100%"],
        "fleetclock_remediate_max_fail_percentage": 0,
        "fleetclock_remediate_order": "sorted",
        "fleetclock_remediate_sync_timeout": 120,
        "fleetclock_remediate_max_offset": 0.5,
        "fleetclock_remediate_makestep": False,
        "fleetclock_remediate_output_dir": "reports/remediate",
        "fleetclock_remediate_resume": "rollback",
    }) == []


def test_no_allow_list_for_the_playbooks_own_facts():
    """The playbook's facts are __fleetclock_remediate_*: a public-prefixed name is a typo, whatever it is."""
    assert validate_options({"fleetclock_remediate_batch_no": 3}) == [
        "fleetclock_remediate_batch_no is not a remediate option (known: %s)" % ", ".join(KNOWN)]


def test_argument_spec_names_the_known_options():
    import os
    import yaml
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "playbooks", "vars", "remediate_argument_spec.yml")) as handle:
        spec = yaml.safe_load(handle)["__fc_rem_argument_spec"]
    assert sorted(spec) == sorted(KNOWN)
    assert spec["fleetclock_remediate_resume"]["choices"] == ["auto", "rollback", "ignore"]


def test_string_forms_from_extra_vars_pass():
    assert validate_options({
        "fleetclock_remediate_serial": "2",
        "fleetclock_remediate_max_fail_percentage": "25",
        "fleetclock_remediate_sync_timeout": "30",
        "fleetclock_remediate_max_offset": "1.5",
        "fleetclock_remediate_makestep": "yes",
    }) == []
    assert validate_options({"fleetclock_remediate_serial": "50%"}) == []


@pytest.mark.parametrize("name, value, message", [
    ("fleetclock_remediate_serial", [], "list of batch sizes is empty"),
    ("fleetclock_remediate_serial", [1, "150%"], r"serial\[1\]: '150%' must be a percentage above 0%"),
    ("fleetclock_remediate_serial", [0], r"serial\[0\]: 0 must be a batch size"),
    ("fleetclock_remediate_serial", "abc", "serial: 'abc' must be a batch size"),
    ("fleetclock_remediate_serial", [1.5], "must be a batch size"),
    ("fleetclock_remediate_serial", [True], "must be a batch size"),
    ("fleetclock_remediate_max_fail_percentage", 101, "from 0 to 100"),
    ("fleetclock_remediate_max_fail_percentage", "x", "from 0 to 100"),
    ("fleetclock_remediate_order", "random", "must be one of inventory"),
    ("fleetclock_remediate_sync_timeout", 0, "whole number of seconds >= 1"),
    ("fleetclock_remediate_sync_timeout", "soon", "whole number of seconds >= 1"),
    ("fleetclock_remediate_max_offset", -1, "above 0"),
    ("fleetclock_remediate_makestep", "maybe", "true or false"),
    ("fleetclock_remediate_hosts", "", "non-empty inventory pattern"),
    ("fleetclock_remediate_hosts", ["a"], "non-empty inventory pattern"),
    ("fleetclock_remediate_output_dir", " ", "non-empty path"),
    ("fleetclock_remediate_resume", "later", "must be one of auto, rollback, ignore"),
    ("fleetclock_remediate_serials", [1], "fleetclock_remediate_serials is not a remediate option"),
])
def test_bad_values_are_named(name, value, message):
    errors = validate_options({name: value})
    assert len(errors) == 1, errors
    assert name in errors[0]
    assert re.search(message, errors[0]), errors[0]


def test_not_a_dict():
    assert validate_options(["x"]) == ["the remediate options must be a dict, got list"]


def test_filter_wraps_it():
    assert remediate_validate_options({"fleetclock_remediate_order": "sorted"}) == []
    with pytest.raises(Exception, match="expects a dict"):
        remediate_validate_options("sorted")


# the machine is shared: generation speed is not what this test is about
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KNOWN), st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=4))))
def test_never_raises_and_every_error_names_its_option(options):
    for error in validate_options(options):
        assert any(error.startswith(name) for name in options), error


@pytest.mark.parametrize("name", ["fleetclock_remediate_serial", "fleetclock_remediate_sync_timeout",
                                  "fleetclock_remediate_max_offset", "fleetclock_remediate_max_fail_percentage"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "nan", "-inf"])
def test_nan_and_infinity_are_not_numbers(name, value):
    errors = validate_options({name: value})
    assert len(errors) == 1 and errors[0].startswith(name), errors
