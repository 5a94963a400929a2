# Copyright (c) mmkd_ext contributors. All rights reserved.
"""File writes that never leave a torn file, and file digests."""
import hashlib
import json
import os
import os.path as osp
from functools import lru_cache
from typing import Any, Callable

import torch


def replace_atomically(path: str, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temporary file in the same folder.

    ``write(tmp)`` writes the content to ``tmp``; it then replaces ``path``
    in one step (``os.replace``), so a reader (or a run resumed after a
    crash) sees the old file or the new one, never a partial one. The
    temporary name carries the process id, so processes writing the same
    file do not collide.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def torch_save_atomically(obj: Any, path: str) -> None:
    """``torch.save(obj, path)`` through :func:`replace_atomically`."""
    replace_atomically(path, lambda tmp: torch.save(obj, tmp))


def json_dump_atomically(obj: Any, path: str) -> None:
    """``json.dump(obj, indent=1)`` to ``path`` through
    :func:`replace_atomically`."""

    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1)

    replace_atomically(path, write)


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes.

    Cached per (real path, size, modification time), so a large checkpoint
    is read once per process unless it changes.
    """
    stat = os.stat(path)
    return _sha256(osp.realpath(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 24), b''):
            digest.update(block)
    return digest.hexdigest()
