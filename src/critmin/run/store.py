"""A folder of finished blocks, so an interrupted run keeps its work and can resume.

Layout: ``manifest.json`` (what run the blocks belong to: a key and a description) and one
``block-NNNNNN.npz`` per finished block. Each file is written to a temporary name in the same
folder and renamed into place (atomic on POSIX and Windows), so a file that exists is complete;
a crash mid-write leaves at most a stray ``.tmp`` file, which is ignored and cleaned up.
Opening a folder that holds another run's blocks is an error rather than a silent mix.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np

from critmin.errors import CritminError

MANIFEST: Final = "manifest.json"
_BLOCK = re.compile(r"^block-(\d{6})\.npz$")


class BlockStore:
    """Finished blocks of one run (identified by ``key``) in ``folder``."""

    def __init__(self, folder: Path | str, key: str, n_blocks: int,
                 description: Mapping[str, Any] | None = None) -> None:
        self.folder = Path(folder)
        self.key = key
        self.n_blocks = n_blocks
        if self.folder.exists() and not self.folder.is_dir():
            raise CritminError(f"{self.folder} exists and is not a folder; choose another "
                               "--resume folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.folder / MANIFEST
        if manifest.exists():
            try:
                found = json.loads(manifest.read_text())
            except (OSError, ValueError) as err:
                raise CritminError(f"{manifest}: unreadable manifest ({err}); delete the "
                                   "folder or choose another") from None
            if found.get("key") != key or found.get("n_blocks") != n_blocks:
                what = found.get("description", {})
                raise CritminError(f"{self.folder} holds blocks of another run ({_brief(what)});"
                                   " choose another folder or delete it")
        elif any(p.name != MANIFEST and not p.name.endswith(".tmp")
                 for p in self.folder.iterdir()):
            raise CritminError(f"{self.folder} is not empty and has no {MANIFEST}; choose an "
                               "empty or new folder")
        else:
            _atomic_write(manifest, json.dumps(
                {"key": key, "n_blocks": n_blocks, "description": dict(description or {})},
                indent=2, default=str).encode())
        for stray in self.folder.glob("*.tmp"):
            stray.unlink(missing_ok=True)

    def path(self, index: int) -> Path:
        return self.folder / f"block-{index:06d}.npz"

    def done(self) -> set[int]:
        """Indices of the blocks already stored."""
        found = (_BLOCK.match(p.name) for p in self.folder.iterdir())
        return {int(m.group(1)) for m in found if m and int(m.group(1)) < self.n_blocks}

    def save(self, index: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Write one block atomically."""
        fd, tmp = tempfile.mkstemp(prefix=f".block-{index:06d}-", suffix=".tmp",
                                   dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **dict(arrays))  # type: ignore[arg-type]
            os.replace(tmp, self.path(index))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, index: int) -> dict[str, np.ndarray]:
        with np.load(self.path(index), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
    os.replace(tmp, path)


def _brief(description: Mapping[str, Any]) -> str:
    items = [f"{k}={v}" for k, v in description.items() if not isinstance(v, dict | list)]
    return ", ".join(items[:5]) or "no description"
