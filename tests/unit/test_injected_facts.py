"""Facts are read only as ansible_facts[...], never as injected ansible_* variables.

ansible-core deprecates the injected copies, and ansible.cfg and the molecule base config turn them off
(inject_facts_as_vars). A read that was missed fails loudly where it has no default, but one that ends in
``| default(...)`` (the booted-host check, the container detection) would silently take the default. So this
test reads every YAML file, Jinja template and shell script of the checkout (plus the integration tests' Python,
which fake facts) and fails on any ``ansible_<name>`` that is not a connection, become or magic variable:
in a Jinja expression (``{{ }}``, ``{% %}``, or a ``when``/``that``/``changed_when``/... value) it is a read;
as a variable's name it is a fake fact that would no longer reach ``ansible_facts``.
"""
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_DIRS = {".git", ".venv", ".cache", "collections", "output", "__pycache__", ".pytest_cache", ".hypothesis"}
# ansible-builder's files, not Ansible content: their ansible_core / ansible_runner keys are its schema, not variables.
SKIP_FILES = {"execution-environment.yml"}

# ansible_* names that are not facts: connection, become and shell settings, magic and special variables.
NOT_FACTS = {
    "facts", "local", "collections",
    "host", "port", "user", "password", "connection", "timeout", "pipelining", "private_key_file",
    "shell_type", "shell_executable", "module_compression", "remote_tmp", "async_dir",
    "check_mode", "diff_mode", "verbosity", "version", "forks", "limit", "run_tags", "skip_tags", "config_file",
    "inventory_sources", "playbook_python", "search_path", "managed",
    "play_hosts", "play_hosts_all", "play_batch", "play_name", "play_role_names",
    "role_name", "role_names", "dependent_role_names", "parent_role_names", "parent_role_paths", "collection_name",
    "loop", "loop_var", "index_var", "failed_task", "failed_result",
}
NOT_FACT_PREFIXES = ("ssh_", "sftp_", "scp_", "become", "docker_", "paramiko_", "winrm_", "psrp_", "netconf_")
NOT_FACT_SUFFIXES = ("_interpreter",)

# keys whose string values are bare Jinja expressions
EXPRESSION_KEYS = {"when", "that", "changed_when", "failed_when", "until", "removed_when"}
JINJA = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.S)
NAME = re.compile(r"(?<![\w.])ansible_(\w+)")
YAML_KEY = re.compile(r"^\s*(?:-\s+)?ansible_(\w+)\s*:", re.M)
PY_STRING = re.compile(r"""["']ansible_(\w+)["']""")


def is_fact(name):
    """name: what follows ``ansible_``."""
    return not (name in NOT_FACTS or name.startswith(NOT_FACT_PREFIXES) or name.endswith(NOT_FACT_SUFFIXES))


def reads_in_expression(text):
    return ["ansible_" + name for name in NAME.findall(text) if is_fact(name)]


def reads_in_text(text):
    """Injected facts read in the Jinja segments of a text."""
    found = []
    for match in JINJA.finditer(text):
        found += reads_in_expression(match.group(1) or match.group(2))
    return found


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Ansible's own tags (!unsafe, !vault) load as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None))


def reads_in_yaml(data, key=None):
    """Injected facts read or defined anywhere in loaded YAML; key: the mapping key ``data`` is the value of."""
    found = []
    if isinstance(data, dict):
        for k, value in data.items():
            if isinstance(k, str) and k.startswith("ansible_") and is_fact(k[len("ansible_"):]):
                found.append(k + " (defined as a variable)")
            found += reads_in_yaml(value, k)
    elif isinstance(data, list):
        for item in data:
            found += reads_in_yaml(item, key)
    elif isinstance(data, str):
        found += reads_in_expression(data) if key in EXPRESSION_KEYS else reads_in_text(data)
    return found


def injected_facts(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.endswith((".yml", ".yaml")):
        found = []
        for document in yaml.load_all(text, Loader=_Loader):  # noqa: S506 - a SafeLoader subclass
            found += reads_in_yaml(document)
        return found
    if path.endswith(".j2"):
        return reads_in_text(text)
    if path.endswith(".sh"):  # inline playbooks and inventories (heredocs)
        return reads_in_text(text) + ["ansible_%s (defined as a variable)" % name
                                      for name in YAML_KEY.findall(text) if is_fact(name)]
    # the integration tests' Python: fake facts given as variables
    return ["ansible_%s (a fake fact outside ansible_facts)" % name for name in PY_STRING.findall(text) if is_fact(name)]


def scanned_files():
    for directory, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(directory, name)
            if name in SKIP_FILES:
                continue
            if name.endswith((".yml", ".yaml", ".j2", ".sh")):
                yield path
            elif name.endswith(".py") and os.path.relpath(directory, ROOT) == os.path.join("tests", "integration"):
                yield path


def test_no_role_playbook_or_test_reads_an_injected_fact():
    found = {}
    for path in scanned_files():
        names = injected_facts(path)
        if names:
            found[os.path.relpath(path, ROOT)] = sorted(set(names))
    assert not found, "read these as ansible_facts['<name>'] (no ansible_ prefix), fake them under ansible_facts: %s" % (
        found)


def test_the_scan_covers_the_role_playbooks_and_scenarios():
    scanned = {os.path.relpath(path, ROOT) for path in scanned_files()}
    for expected in ("roles/chrony/tasks/services.yml", "roles/chrony/vars/main.yml", "roles/chrony/templates/chrony.conf.j2",
                     "playbooks/remediate.yml", "molecule/airgap/molecule.yml", "tests/integration/render/render.yml",
                     "tests/integration/test_role_render.py", "scripts/test-build.sh"):
        assert expected in scanned, expected


@pytest.mark.parametrize("text, expected", [
    ("when: ansible_os_family == 'Debian'", ["ansible_os_family"]),
    ("x: \"{{ ansible_service_mgr | default('') == 'systemd' }}\"", ["ansible_service_mgr"]),
    ("x: \"{{ ansible_eth0.ipv4.network }}\"", ["ansible_eth0"]),
    ("x: \"{{ hostvars[h]['ansible_all_ipv4_addresses'] }}\"", ["ansible_all_ipv4_addresses"]),
    ("that: [ansible_virtualization_type is defined]", ["ansible_virtualization_type"]),
    ("vars: {ansible_distribution: Debian}", ["ansible_distribution (defined as a variable)"]),
    ("when: ansible_facts['os_family'] == 'Debian'", []),
    ("x: \"{{ ansible_facts.services['ufw.service'] is defined }}\"", []),
    ("when: not ansible_check_mode", []),
    ("x: \"{{ hostvars[h]['ansible_host'] | default(inventory_hostname) }}\"", []),
    ("x: \"{{ ansible_play_hosts_all }} {{ ansible_playbook_python }} {{ ansible_become_user }}\"", []),
    ("vars: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}", []),
    ("description: Treat the host as a container even when ansible_virtualization_type says not", []),
])
def test_what_counts_as_an_injected_fact(text, expected):
    assert reads_in_yaml(yaml.load(text, Loader=_Loader)) == expected  # noqa: S506


def test_template_reads():
    assert reads_in_text("{{ ansible_managed | comment }}\n{% if ansible_os_family %}x{% endif %}") == [
        "ansible_os_family"]


@pytest.mark.parametrize("cfg, pattern", [
    ("ansible.cfg", r"^inject_facts_as_vars\s*=\s*False\s*$"),
    (os.path.join(".config", "molecule", "config.yml"), r"^\s+inject_facts_as_vars:\s*false\s*$"),
])
def test_the_tests_run_without_injected_facts(cfg, pattern):
    with open(os.path.join(ROOT, cfg), encoding="utf-8") as handle:
        assert re.search(pattern, handle.read(), re.M), cfg
