"""Issue 11 item 6: a rollback puts files back exactly (content, mode, owner, group), empty files included.

Runs the chrony role's real `snapshot` entry point and the file part of its `rollback` entry point with
ansible-playbook on localhost, the role's file paths pointed into tmp_path. On 778779a remediate's rollback
wrote every file 0644 root:root and deleted a file that existed but was empty.
"""
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "integration", "rollback", "files.yml")
PLAYBOOK_BIN = shutil.which("ansible-playbook") or os.path.join(ROOT, ".venv", "bin", "ansible-playbook")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(PLAYBOOK_BIN),
                                reason="needs root (chown) and ansible-playbook")


def run(tmp_path, phase, paths):
    extra = {"phase": phase, "snapshot_json": str(tmp_path / "snapshot.json"),
             "__chrony_config_path": paths["config"], "__chrony_options_file": paths["options"],
             "__chrony_dropin_path": paths["dropin"]}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="false")
    proc = subprocess.run([PLAYBOOK_BIN, "-i", "localhost,", PLAYBOOK, "-e", json.dumps(extra)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    return proc


def owner(path):
    info = os.stat(path)
    return (stat.S_IMODE(info.st_mode), pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name)


def test_rollback_restores_bytes_mode_owner_and_empty_files(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    paths = {"config": str(etc / "chrony.conf"), "options": str(etc / "chrony.options"),
             "dropin": str(etc / "fleetclock-container.conf")}
    config = b"# hand-made\nserver 192.0.2.1 iburst\n\xc3\xa9\n"
    with open(paths["config"], "wb") as handle:
        handle.write(config)
    os.chown(paths["config"], pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
    os.chmod(paths["config"], 0o640)
    open(paths["options"], "wb").close()        # exists, empty
    os.chmod(paths["options"], 0o600)
    before = {name: owner(paths[name]) for name in ("config", "options")}

    run(tmp_path, "snapshot", paths)
    snap = json.loads((tmp_path / "snapshot.json").read_text())
    assert snap["files"][paths["options"]]["content"] == ""
    assert snap["files"][paths["dropin"]] is None

    # what a role run does: new content, its own modes, a new drop-in
    for name in ("config", "options", "dropin"):
        with open(paths[name], "w") as handle:
            handle.write("changed by the role\n")
        os.chown(paths[name], 0, 0)
        os.chmod(paths[name], 0o644)

    run(tmp_path, "rollback", paths)
    with open(paths["config"], "rb") as handle:
        assert handle.read() == config
    with open(paths["options"], "rb") as handle:
        assert handle.read() == b""
    assert {name: owner(paths[name]) for name in ("config", "options")} == before
    assert before["config"] == (0o640, "nobody", "nogroup")
    assert not os.path.exists(paths["dropin"])
