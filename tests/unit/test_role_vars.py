"""The role's OS vars files are plain data: a version's differences are a file of its own (Ubuntu-20.yml,
RedHat-8.yml, loaded by the preflight after the family's and the distribution's file), never a Jinja condition."""
import glob
import os

import yaml

VARS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "roles", "chrony", "vars")


def os_vars_files():
    return sorted(path for path in glob.glob(os.path.join(VARS, "*.yml")) if os.path.basename(path) != "main.yml")


def strings(data):
    if isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings(item)
    elif isinstance(data, str):
        yield data


def test_os_vars_files_hold_no_jinja():
    files = os_vars_files()
    assert {"Debian.yml", "Ubuntu.yml", "Ubuntu-20.yml", "RedHat.yml", "RedHat-8.yml"} <= {
        os.path.basename(path) for path in files}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        templated = [text for text in strings(data) if "{{" in text or "{%" in text]
        assert not templated, "%s: %s" % (os.path.basename(path), templated)
