"""Unit tests for module_utils/file_read.py (the module host_state): real files in a temporary directory."""
import base64
import grp
import hashlib
import os
import pwd

import pytest
from hypothesis import given, strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.file_read import (
    FileReadError,
    mode_string,
    read_entry,
    read_paths,
)


def test_a_file_is_read_with_the_fields_stat_and_slurp_gave(tmp_path):
    path = tmp_path / "chrony.conf"
    path.write_bytes(b"server 10.0.0.1 iburst\n")
    os.chmod(path, 0o640)
    entry = read_entry(str(path))
    assert base64.b64decode(entry["content"]) == b"server 10.0.0.1 iburst\n"
    assert entry["checksum"] == hashlib.sha1(b"server 10.0.0.1 iburst\n").hexdigest()   # stat's default algorithm
    assert entry["mode"] == "0640" and entry["size"] == 23
    assert entry["owner"] == pwd.getpwuid(os.getuid())[0] and entry["group"] == grp.getgrgid(os.getgid())[0]
    assert entry["secontext"] is None


def test_empty_missing_and_under_a_file(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "afile").write_text("x")
    assert read_entry(str(tmp_path / "empty"))["content"] == ""
    assert read_entry(str(tmp_path / "missing")) is None
    assert read_entry(str(tmp_path / "afile" / "below")) is None
    result = read_paths([str(tmp_path / "empty"), str(tmp_path / "missing")], [str(tmp_path), str(tmp_path / "afile")])
    assert result["files"][str(tmp_path / "missing")] is None
    assert result["dirs"] == {str(tmp_path): True, str(tmp_path / "afile"): False}


def test_a_symlink_is_followed_as_slurp_did(tmp_path):
    (tmp_path / "real").write_text("pool x\n")
    os.chmod(tmp_path / "real", 0o600)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    entry = read_entry(str(tmp_path / "link"))
    assert base64.b64decode(entry["content"]) == b"pool x\n" and entry["mode"] == "0600"


def test_what_a_snapshot_cannot_keep_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileReadError, match="is not a regular file"):
        read_entry(str(tmp_path))
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(FileReadError, match="big is 11 bytes, over the snapshot's limit of 10"):
        read_entry(str(big), max_bytes=10)
    os.mkfifo(tmp_path / "fifo")      # opened without blocking, refused as not regular
    with pytest.raises(FileReadError, match="fifo is not a regular file"):
        read_entry(str(tmp_path / "fifo"))


def test_mode_string():
    assert mode_string(0o100640) == "0640" and mode_string(0o104755) == "4755" and mode_string(0o100000) == "0000"


@given(st.binary(max_size=4096), st.integers(min_value=0, max_value=0o7777))
def test_any_content_and_mode_round_trip(tmp_path_factory, data, mode):
    path = tmp_path_factory.mktemp("rt") / "f"
    path.write_bytes(data)
    os.chmod(path, mode)
    entry = read_entry(str(path))
    assert base64.b64decode(entry["content"]) == data and entry["size"] == len(data)
    assert int(entry["mode"], 8) == mode
