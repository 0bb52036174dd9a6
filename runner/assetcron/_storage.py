"""Where materialized values live: a storage interface and its local-filesystem default.

Layout of :class:`FilesystemStorage` (one directory, also holding the SQLite records
written by :mod:`assetcron._records` and any files assets keep themselves)::

    <root>/assets/<key part>/.../<partition key or __unpartitioned__>.<pickle|json>

Every write goes to a temporary file in the same directory, is flushed to disk and
then renamed over the target (``os.replace`` is atomic on POSIX), so a reader sees the
old value or the new one, never half a file — even when the pod is killed mid-write.
"""

from __future__ import annotations

import json
import os
import pickle
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from assetcron._errors import AssetcronError
from assetcron._graph import AssetKey

__all__ = [
    "DEFAULT_STORAGE",
    "ENV_STORAGE",
    "FilesystemStorage",
    "MissingValueError",
    "Storage",
    "StorageError",
    "open_storage",
]

ENV_STORAGE = "ASSETCRON_STORAGE"
#: Default storage directory, relative to the working directory.
DEFAULT_STORAGE = "./.assetcron/storage"
_UNPARTITIONED = "__unpartitioned__"


def _json_default(value: object) -> str:
    """JSON for dates and times (ISO 8601); anything else is a ``TypeError``."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable (use output_format='pickle')")


class StorageError(AssetcronError):
    """A storage URI is not supported or cannot be used."""


class MissingValueError(LookupError):
    """No value is stored for an asset key and partition."""


class Storage(Protocol):
    """Persists asset values per asset key and partition (``None`` = unpartitioned)."""

    @property
    def root(self) -> Path:
        """A local directory for the run's records and assets' own files."""
        ...

    def write(self, key: AssetKey, partition: str | None, value: Any, fmt: str) -> str:
        """Store ``value`` atomically in format ``fmt`` (``pickle``/``json``); return
        where it went (a path or URI, for records and logs)."""
        ...

    def read(self, key: AssetKey, partition: str | None) -> Any:
        """Load the stored value; raise :class:`MissingValueError` when there is none."""
        ...

    def exists(self, key: AssetKey, partition: str | None) -> bool:
        """Whether a value is stored for ``key`` and ``partition``."""
        ...


class FilesystemStorage:
    """:class:`Storage` in a local directory (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        """The storage directory."""
        return self._root

    def _base(self, key: AssetKey, partition: str | None) -> Path:
        name = partition if partition is not None else _UNPARTITIONED
        for part in (*key.path, name):
            if part in (".", "..") or "/" in part or "\x00" in part:
                raise StorageError(f"cannot store {key.to_user_string()!r}: bad path part {part!r}")
        return self._root.joinpath("assets", *key.path, name)

    def _find(self, key: AssetKey, partition: str | None) -> Path | None:
        base = self._base(key, partition)
        for fmt in ("pickle", "json"):
            path = base.with_name(f"{base.name}.{fmt}")
            if path.is_file():
                return path
        return None

    def write(self, key: AssetKey, partition: str | None, value: Any, fmt: str) -> str:
        """Serialise then write atomically (temp file + fsync + rename); see
        :meth:`Storage.write`. Raises ``TypeError``/``ValueError`` when ``value`` cannot
        be serialised in ``fmt`` (nothing is written then)."""
        if fmt == "json":
            data = json.dumps(value, sort_keys=True, indent=1, default=_json_default).encode()
        elif fmt == "pickle":
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            raise ValueError(f"unknown output format {fmt!r}")
        base = self._base(key, partition)
        target = base.with_name(f"{base.name}.{fmt}")
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL makes the name ours alone (tempfile.mkstemp's method, without importing
        # tempfile, whose shutil/lzma imports cost more start-up than the whole write).
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        other = base.with_name(f"{base.name}.{'json' if fmt == 'pickle' else 'pickle'}")
        other.unlink(missing_ok=True)  # a format change must not leave a stale twin
        return str(target)

    def read(self, key: AssetKey, partition: str | None) -> Any:
        """See :meth:`Storage.read`. Pickles are trusted: they were written by this
        runner into storage the code location controls."""
        path = self._find(key, partition)
        if path is None:
            what = f"partition {partition}" if partition is not None else "unpartitioned"
            raise MissingValueError(
                f"no stored value for asset {key.to_user_string()!r} ({what}) in {self._root}"
            )
        if path.suffix == ".json":
            return json.loads(path.read_bytes())
        return pickle.loads(path.read_bytes())  # noqa: S301 - our own output, see docstring

    def exists(self, key: AssetKey, partition: str | None) -> bool:
        """See :meth:`Storage.exists`."""
        return self._find(key, partition) is not None


def open_storage(uri: str) -> FilesystemStorage:
    """Storage for ``uri``: a directory path or a ``file://`` URI.

    Raises :class:`StorageError` for other schemes (none is supported yet) or an
    existing non-directory path.
    """
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(parsed.path)
    elif parsed.scheme and len(parsed.scheme) > 1:  # len 1: a Windows drive letter
        raise StorageError(f"unsupported storage URI {uri!r} (use a directory or file://)")
    else:
        path = Path(uri)
    if path.exists() and not path.is_dir():
        raise StorageError(f"storage {uri!r} exists and is not a directory")
    return FilesystemStorage(path)
