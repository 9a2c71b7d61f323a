"""The systemd container settings every molecule platform needs live once, in .config/molecule/config.yml."""
import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_no_scenario_repeats_the_shared_systemd_container_settings():
    shared = load(os.path.join(ROOT, ".config", "molecule", "config.yml"))["provisioner"]["inventory"]["group_vars"]["all"]
    settings = set(shared["fc_systemd_container"])
    assert {"command", "capabilities", "security_opts", "tmpfs", "volumes", "cgroupns_mode"} <= settings
    # the docker driver's create/destroy playbooks read the platforms from molecule_yml: the override merges them
    assert "fc_systemd_container" in shared["molecule_yml"]
    scenarios = sorted(glob.glob(os.path.join(ROOT, "molecule", "*", "molecule.yml")))
    assert len(scenarios) >= 4  # cloud, audit, airgap, remediate
    for path in scenarios:
        for platform in load(path)["platforms"]:
            assert not settings & set(platform), (path, platform["name"], sorted(settings & set(platform)))
