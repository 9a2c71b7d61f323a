# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read files with their metadata in one go, on the managed host (the module host_state; no Ansible imports).

``read_entry(path)`` -> None when the path does not exist, else
``{"content": base64, "checksum": sha1 hex, "mode": "0640", "owner": name, "group": name, "size": bytes,
"secontext": "user:role:type:level" or None}`` — the fields that ansible.builtin.stat (checksum, mode, pw_name,
gr_name), slurp (content) and ``stat -c %C`` gave the snapshot before, from one open file. Symbolic links are
followed (as slurp did). A path that is not a regular file, or is larger than ``max_bytes``, raises FileReadError:
a snapshot that cannot hold a file cannot restore it.
"""

from __future__ import annotations

import base64
import errno
import grp
import hashlib
import os
import pwd
import stat

MAX_BYTES = 1024 * 1024


class FileReadError(ValueError):
    """A file that exists but cannot be kept whole in a snapshot."""


def mode_string(st_mode):
    """The permission bits as stat reports them: 0o100640 -> '0640'."""
    return "%04o" % stat.S_IMODE(st_mode)


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)     # no name for the id: the number (what copy's owner/group accept too)


def secontext(path):
    """The file's SELinux context from its xattr, or None where it has none (SELinux off, a file system without)."""
    try:
        raw = os.getxattr(path, "security.selinux")
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            return None
        raise
    text = raw.rstrip(b"\0").decode("ascii", "replace")
    return text or None


def read_entry(path, selinux=False, max_bytes=MAX_BYTES):
    """One file's content and metadata (see the module docstring); None when the path does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None           # a parent is a file: the path cannot exist
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileReadError("%s is not a regular file: a snapshot cannot keep it" % path)
        if st.st_size > max_bytes:
            raise FileReadError("%s is %d bytes, over the snapshot's limit of %d" % (path, st.st_size, max_bytes))
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileReadError("%s grew over the snapshot's limit of %d bytes while it was read" % (path, max_bytes))
    return {
        "content": base64.b64encode(data).decode("ascii"),
        "checksum": hashlib.sha1(data).hexdigest(),
        "mode": mode_string(st.st_mode),
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
        "size": len(data),
        "secontext": secontext(path) if selinux else None,
    }


def read_paths(paths, dirs=(), selinux=False, max_bytes=MAX_BYTES):
    """{"files": {path: read_entry(path)}, "dirs": {path: is a directory}} for the given paths."""
    return {"files": {path: read_entry(path, selinux, max_bytes) for path in paths},
            "dirs": {path: os.path.isdir(path) for path in dirs}}
