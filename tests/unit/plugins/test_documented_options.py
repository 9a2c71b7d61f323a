"""Each action's ARGUMENT_SPEC is what its documentation stub (plugins/modules/*.py) documents, doc fragments included.

The stubs are read as ansible-doc reads them: DOCUMENTATION merged with its extends_documentation_fragment
by ansible-core's own add_fragments (the fragments loaded from plugins/doc_fragments and ansible-core).
"""

from __future__ import annotations

import importlib

import pytest
import yaml
from ansible.utils.plugin_docs import add_fragments

COLLECTION = "ansible_collections.fleetclock.timesync.plugins"
FRAGMENT_PACKAGES = {"fleetclock.timesync": COLLECTION + ".doc_fragments", "ansible.builtin": "ansible.plugins.doc_fragments"}
ACTIONS = ("clock_probe", "clock_probe_batch", "clock_report", "report_merge", "audit_compare")


class FragmentLoader:
    """The part of ansible-core's fragment_loader that add_fragments uses: get(name) -> fragment class or None."""

    def get(self, name):
        collection, _dot, short = name.rpartition(".")
        package = FRAGMENT_PACKAGES.get(collection)
        if package is None:
            return None
        try:
            module = importlib.import_module("%s.%s" % (package, short))
        except ImportError:
            return None
        return type("Fragment", (module.ModuleDocFragment,), {"ansible_name": name})


def documented_options(name):
    stub = importlib.import_module("%s.modules.%s" % (COLLECTION, name))
    doc = yaml.safe_load(stub.DOCUMENTATION)
    add_fragments(doc, stub.__file__, FragmentLoader(), is_module=True)
    return doc["options"]


def shape(option):
    """What a task's arguments must match: type, elements, default, choices, required (ansible-core's defaults)."""
    return {"type": option.get("type", "str"), "elements": option.get("elements"), "default": option.get("default"),
            "choices": option.get("choices"), "required": bool(option.get("required", False))}


@pytest.mark.parametrize("name", ACTIONS)
def test_argument_spec_is_the_documented_options(name):
    spec = importlib.import_module("%s.action.%s" % (COLLECTION, name)).ARGUMENT_SPEC
    documented = documented_options(name)
    assert sorted(documented) == sorted(spec), name
    for option in spec:
        assert shape(documented[option]) == shape(spec[option]), "%s: option %s" % (name, option)
        assert documented[option].get("description"), "%s: option %s has no description" % (name, option)


def test_the_shared_options_have_one_text():
    """Options documented in a fragment read the same wherever they appear (unless a module words its own)."""
    probe, batch = documented_options("clock_probe"), documented_options("clock_probe_batch")
    for option in ("min_samples", "max_samples", "target_bound", "collect_chrony"):
        assert probe[option] == batch[option]
    report, merged = documented_options("clock_report"), documented_options("report_merge")
    for option in ("output_dir", "formats", "prometheus_path", "fail_task"):
        assert report[option] == merged[option]
