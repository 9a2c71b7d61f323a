"""Unit tests for module_utils/values.py: the one number and boolean converter of the collection."""

from __future__ import annotations

import pytest
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.fleetclock.timesync.plugins.module_utils import chrony_options, chrony_values, values
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_bool, as_float, as_int, is_number


def test_the_roles_validators_keep_their_public_names():
    assert chrony_values.as_int is as_int and chrony_values.as_float is as_float and chrony_options.as_int is as_int


@pytest.mark.parametrize("value, number", [
    (1, 1.0), (-2.5, -2.5), ("3", 3.0), (" 1e3 ", 1000.0), (".5", 0.5),
    (True, None), (float("nan"), None), (float("inf"), None), ("nan", None), ("inf", None), ("1_000", None),
    ("0x10", None), ("", None), (None, None), ([1], None), (10 ** 400, None),
])
def test_as_float(value, number):
    assert as_float(value) == number


def test_strings_can_be_refused():
    assert as_float("1.5", strings=False) is None and as_float(1.5, strings=False) == 1.5
    assert as_int("7", strings=False) is None and as_int(7, strings=False) == 7
    assert as_int(" -7 ") == -7 and as_int("7.0") is None and as_int(False) is None


def test_is_number_counts_nan_but_not_bools():
    assert is_number(float("nan")) and is_number(3) and not is_number(True) and not is_number("3")


@pytest.mark.parametrize("value", [True, False, 1, 0, 1.0, 0.0, "yes", "No", " on ", "OFF", "1", "0", "true", "False",
                                   "y", "n", "t", "f"])
def test_as_bool_takes_what_ansible_takes(value):
    assert as_bool(value) is boolean(value)


@pytest.mark.parametrize("value", ["maybe", "", None, 2, [], "2", float("nan")])
def test_as_bool_refuses_the_rest(value):
    assert as_bool(value) is None


def test_the_word_lists_do_not_overlap():
    assert not set(values.BOOL_TRUE) & set(values.BOOL_FALSE)
