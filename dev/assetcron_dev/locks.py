"""One lock file helper for the dev tool's shared state (build dirs, image storage, bridge
numbers, a cluster's state dir)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created, with its parents) for the block.

    Blocks until other holders, in this or another process, let go. Not re-entrant: a
    block that takes the same lock again waits for itself.

    Raises:
        OSError: ``path`` cannot be created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
