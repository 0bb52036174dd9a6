"""Where materialized values, run records and partition locks live: one object store.

A storage is a URI: a directory path, ``file://``, ``s3://``, ``gs://`` or ``az://``
(and obstore's aliases ``s3a``, ``azure``, ``abfs``, ``abfss``, ``adl``). Every access
goes through `obstore <https://developmentseed.org/obstore/>`_, imported on first use
so that the runner starts fast. Layout under the storage's prefix::

    assets/<key part>/.../<partition key or __unpartitioned__>.<pickle|json>  values
    records/<key part>/.../<partition key or __unpartitioned__>/<run id>.json run records
    locks/<key part>/.../<partition key or __unpartitioned__>.lock           partition locks

(:mod:`assetcron._records`, :mod:`assetcron._locks`). For a local directory this is the
layout earlier versions wrote, so existing stores keep their values; their SQLite
records (``records.sqlite3``) are no longer read, which only means that re-running a
run recorded before the upgrade recomputes instead of reusing.

Every write is one ``put``: atomic on object stores, and on a local directory obstore
writes a staging file beside the target and renames it over the target, so a reader
sees the old object or the new one, never half of one. A SIGTERM cannot stop a put
half-way (Python runs signal handlers between calls), so it leaves no staging file;
SIGKILL during a put can leave a ``<name>#<n>`` staging file that nothing reads.

Credentials and endpoints come from the environment variables obstore reads (for S3:
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_REGION``, ``AWS_ALLOW_HTTP`` for a plain-HTTP endpoint;
``GOOGLE_*`` and ``AZURE_*`` likewise).
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from assetcron._errors import AssetcronError
from assetcron._graph import AssetKey

if TYPE_CHECKING:
    from obstore import PutMode, PutResult
    from obstore.store import ObjectStore

__all__ = [
    "DEFAULT_STORAGE",
    "ENV_STORAGE",
    "MissingValueError",
    "ObjectStorage",
    "Storage",
    "StorageError",
    "StorageIOError",
    "describe_error",
    "open_storage",
]

ENV_STORAGE = "ASSETCRON_STORAGE"
#: Default storage directory, relative to the working directory.
DEFAULT_STORAGE = "./.assetcron/storage"
#: Local directory given to assets as ``context.storage_dir`` when the storage is remote:
#: ``$ASSETCRON_SCRATCH``, else this under the temporary directory (``$TMPDIR``, ``/tmp``:
#: writable in run pods, whose root file system is read-only). Files there live as long
#: as the pod: an asset that keeps files of its own across runs (a DuckDB database) needs
#: ``ASSETCRON_SCRATCH`` on a volume, or to write them to the object store itself.
ENV_SCRATCH = "ASSETCRON_SCRATCH"
DEFAULT_SCRATCH = "assetcron-scratch"
UNPARTITIONED = "__unpartitioned__"
_FORMATS = ("pickle", "json")
_REMOTE_SCHEMES = frozenset({"s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "adl"})


def _json_default(value: object) -> str:
    """JSON for dates and times (ISO 8601); anything else is a ``TypeError``."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable (use output_format='pickle')")


class StorageError(AssetcronError):
    """A storage URI is not supported or the storage cannot be used (a configuration
    error: the CLI exits 2)."""


class StorageIOError(StorageError):
    """Reading, writing or deleting one object failed (disk full, read-only, permission
    denied, unreachable, undecodable); the message names the object's location and what
    to do. During a run this fails the asset being materialized, not the run."""


class MissingValueError(LookupError):
    """No value is stored for an asset key and partition."""


# obstore errors carry the OS error number only in their text ("(os error 28)").
_OS_HINTS = {
    28: "no space left on the storage volume; free space or enlarge it, then re-run",
    30: "the storage is on a read-only file system; mount it read-write, then re-run",
    13: "permission denied; give the runner's user write access to the storage",
    122: "disk quota exceeded on the storage volume; raise the quota, then re-run",
}


# S3 error codes (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
_S3_HINTS = {
    "NoSuchBucket": "the bucket does not exist; create it or fix the storage URI",
    "AccessDenied": "access denied; give the credentials access to the bucket and prefix",
    "InvalidAccessKeyId": "the access key is not known; check AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "the credentials were not accepted; check AWS_SECRET_ACCESS_KEY",
    "ExpiredToken": "the credentials have expired; renew AWS_SESSION_TOKEN",
}


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong with an object-store call and, where known, what
    to do: a hint for known OS errors and S3 error codes, then obstore's message cut to
    its first line (or, for an S3 error, the error's code and message)."""
    from obstore import exceptions as oe

    full = str(exc).split("Debug source:", 1)[0]
    text = full.strip().split("\n", 1)[0].strip() or type(exc).__name__
    code = re.search(r"<Code>([^<]+)</Code>", full)
    if code:
        message = re.search(r"<Message>([^<]*)</Message>", full)
        detail = f"{code.group(1)}: {message.group(1)}" if message else code.group(1)
        hint = _S3_HINTS.get(code.group(1))
        return f"{hint} ({detail})" if hint else detail
    match = re.search(r"\(os error (\d+)\)", text)
    if match and int(match.group(1)) in _OS_HINTS:
        return f"{_OS_HINTS[int(match.group(1))]} ({text})"
    if isinstance(exc, oe.UnauthenticatedError):
        return f"the credentials were not accepted; check AWS_ACCESS_KEY_ID/... ({text})"
    if isinstance(exc, oe.PermissionDeniedError):
        return f"permission denied; check the credentials' access to the bucket ({text})"
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        return f"{_OS_HINTS[exc.errno]} ({text})"
    return text


class Storage(Protocol):
    """Persists asset values per asset key and partition (``None`` = unpartitioned)."""

    @property
    def root(self) -> Path:
        """A local directory for assets' own files (``context.storage_dir``)."""
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


def object_parts(key: AssetKey, partition: str | None) -> tuple[str, ...]:
    """The path parts of ``key`` and ``partition`` (``__unpartitioned__`` for None).

    Raises :class:`StorageError` for a part that cannot be one path segment (``.``,
    ``..``, or containing ``/`` or NUL).
    """
    name = partition if partition is not None else UNPARTITIONED
    parts = (*key.path, name)
    for part in parts:
        if part in (".", "..") or "/" in part or "\x00" in part:
            raise StorageError(f"cannot store {key.to_user_string()!r}: bad path part {part!r}")
    return parts


class ObjectStorage:
    """:class:`Storage` (values), plus the raw objects of records and locks, in one
    obstore store.

    ``url`` is how locations are shown (a local directory is shown as its path);
    ``local_root`` is the directory of a local store (None for a remote one), and
    ``scratch`` the local directory given to assets as ``context.storage_dir`` (default:
    ``local_root``, else ``$ASSETCRON_SCRATCH``, else ``<tmp>/assetcron-scratch``).
    Object paths are relative to the store's prefix, parts joined by ``/``.
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        url: str,
        local_root: Path | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.store = store
        self.url = url.rstrip("/")
        self.local_root = local_root
        self._scratch = scratch or local_root or _default_scratch()

    @classmethod
    def local(cls, directory: str | os.PathLike[str]) -> ObjectStorage:
        """Storage in a local directory (created now, with its parents): obstore's
        ``LocalStore``. Raises :class:`StorageError` when it cannot be created."""
        from obstore.store import LocalStore

        root = Path(directory).absolute()
        try:
            store = LocalStore(root, mkdir=True)
        except Exception as exc:
            raise StorageError(
                f"cannot create storage directory {root}: {describe_error(exc)}"
            ) from None
        return cls(store, url=str(root), local_root=root)

    @classmethod
    def in_memory(cls, name: str = "memory") -> ObjectStorage:
        """Storage in this process's memory (obstore's ``MemoryStore``): gone when the
        process ends; for tests and embedders that keep nothing."""
        from obstore.store import MemoryStore

        return cls(MemoryStore(), url=f"memory://{name}")

    @property
    def root(self) -> Path:
        """The local directory for assets' own files (see the class docstring)."""
        return self._scratch

    @property
    def is_local(self) -> bool:
        """Whether the objects are files in :attr:`local_root`."""
        return self.local_root is not None

    def location(self, path: str) -> str:
        """Where object ``path`` is, for messages and records (a file path when local)."""
        if self.local_root is not None:
            return str(self.local_root.joinpath(*path.split("/")))
        return f"{self.url}/{path}"

    # ---------------------------------------------------------------- raw objects
    def get(self, path: str) -> tuple[bytes, dict[str, Any]] | None:
        """The bytes and metadata (obstore ``ObjectMeta``: ``e_tag``, ``version``,
        ``last_modified``, ``size``) of object ``path``, or None when there is none.
        Raises :class:`StorageIOError` for any other failure."""
        import obstore

        try:
            result = obstore.get(self.store, path)
            return bytes(result.bytes()), dict(result.meta)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageIOError(
                f"cannot read {self.location(path)}: {describe_error(exc)}"
            ) from None

    def put(self, path: str, data: bytes, mode: PutMode | None = None) -> PutResult:
        """Write object ``path`` in one atomic put (``mode`` is obstore's ``PutMode``:
        ``"create"`` fails with ``AlreadyExistsError`` when it exists, an
        ``UpdateVersion`` with ``PreconditionError`` when it changed). Those two and
        ``NotImplementedError`` (a mode the store lacks) propagate as obstore raises
        them; any other failure is a :class:`StorageIOError`."""
        import obstore
        from obstore import exceptions as oe

        try:
            return obstore.put(self.store, path, data, mode=mode, use_multipart=False)
        except (oe.AlreadyExistsError, oe.PreconditionError, NotImplementedError):
            raise
        except oe.NotSupportedError as exc:
            raise NotImplementedError(str(exc)) from None
        except Exception as exc:
            raise StorageIOError(
                f"cannot write {self.location(path)}: {describe_error(exc)}"
            ) from None

    def delete(self, path: str) -> None:
        """Delete object ``path`` (no error when it is already gone). Raises
        :class:`StorageIOError` when deleting fails."""
        import obstore

        try:
            obstore.delete(self.store, path)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise StorageIOError(
                f"cannot delete {self.location(path)}: {describe_error(exc)}"
            ) from None

    def rename(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Rename object ``src`` to ``dst`` (obstore ``rename``: an atomic ``rename(2)``
        on a local directory; copy then delete on object stores). ``FileNotFoundError``
        and ``AlreadyExistsError`` propagate; other failures are
        :class:`StorageIOError`."""
        import obstore
        from obstore import exceptions as oe

        try:
            obstore.rename(self.store, src, dst, overwrite=overwrite)
        except (FileNotFoundError, oe.AlreadyExistsError):
            raise
        except Exception as exc:
            raise StorageIOError(
                f"cannot rename {self.location(src)}: {describe_error(exc)}"
            ) from None

    def list_modified(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """``(path, last modified)`` of every object under ``prefix`` (a ``/``-ended
        folder path; times aware, as the store reports them). Raises
        :class:`StorageIOError` when listing fails."""
        import obstore

        try:
            for chunk in obstore.list(self.store, prefix=prefix.rstrip("/")):
                for meta in chunk:
                    yield meta["path"], meta["last_modified"]
        except FileNotFoundError:
            return
        except Exception as exc:
            raise StorageIOError(
                f"cannot list {self.location(prefix)}: {describe_error(exc)}"
            ) from None

    def list_paths(self, prefix: str) -> Iterator[str]:
        """The paths of every object under ``prefix`` (a ``/``-ended folder path).
        Raises :class:`StorageIOError` when listing fails."""
        import obstore

        try:
            for chunk in obstore.list(self.store, prefix=prefix.rstrip("/")):
                for meta in chunk:
                    yield meta["path"]
        except FileNotFoundError:
            return
        except Exception as exc:
            raise StorageIOError(
                f"cannot list {self.location(prefix)}: {describe_error(exc)}"
            ) from None

    def check(self) -> None:
        """Check that the storage can be used before a run writes anything: a local
        directory must be writable; a remote store must answer a listing (one request),
        which finds a missing bucket, rejected credentials and an unreachable endpoint.
        Raises :class:`StorageError` (exit 2) saying what to fix."""
        if self.local_root is not None:
            if not os.access(self.local_root, os.W_OK):
                raise StorageError(
                    f"storage directory {self.local_root} is not writable (read-only mount or "
                    "permissions); mount it read-write or choose another --storage"
                )
            return
        import obstore
        from obstore import exceptions as oe

        try:
            obstore.list_with_delimiter(self.store)
        except FileNotFoundError:
            raise StorageError(
                f"storage {self.url}: the bucket or container does not exist; create it "
                "or fix the storage URI"
            ) from None
        except oe.BaseError as exc:
            raise StorageError(f"storage {self.url}: {describe_error(exc)}") from None

    # ---------------------------------------------------------------- values
    @staticmethod
    def value_path(key: AssetKey, partition: str | None, fmt: str) -> str:
        """The object path of ``key``'s value for ``partition`` in format ``fmt``."""
        return "/".join(("assets", *object_parts(key, partition))) + f".{fmt}"

    def write(self, key: AssetKey, partition: str | None, value: Any, fmt: str) -> str:
        """Serialise then store in one atomic put; see :meth:`Storage.write`. Raises
        ``TypeError``/``ValueError`` when ``value`` cannot be serialised in ``fmt``
        (nothing is written then), :class:`StorageIOError` when the put fails."""
        if fmt == "json":
            data = json.dumps(value, sort_keys=True, indent=1, default=_json_default).encode()
        elif fmt == "pickle":
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            raise ValueError(f"unknown output format {fmt!r}")
        path = self.value_path(key, partition, fmt)
        self.put(path, data)
        other = self.value_path(key, partition, "json" if fmt == "pickle" else "pickle")
        self.delete(other)  # a format change must not leave a stale twin
        return self.location(path)

    def read(self, key: AssetKey, partition: str | None) -> Any:
        """See :meth:`Storage.read`. Pickles are trusted: they were written by this
        runner into storage the code location controls. Raises
        :class:`StorageIOError` when the object cannot be read or decoded."""
        for fmt in _FORMATS:
            path = self.value_path(key, partition, fmt)
            got = self.get(path)
            if got is None:
                continue
            try:
                if fmt == "json":
                    return json.loads(got[0])
                return pickle.loads(got[0])  # noqa: S301 - our own output, see docstring
            except Exception as exc:
                raise StorageIOError(
                    f"cannot decode {self.location(path)} ({type(exc).__name__}: {exc}); "
                    f"re-materialize {key.to_user_string()!r} with --force"
                ) from None
        what = f"partition {partition}" if partition is not None else "unpartitioned"
        raise MissingValueError(
            f"no stored value for asset {key.to_user_string()!r} ({what}) in {self.url}"
        )

    def exists(self, key: AssetKey, partition: str | None) -> bool:
        """See :meth:`Storage.exists` (one ``head`` per format)."""
        import obstore

        for fmt in _FORMATS:
            path = self.value_path(key, partition, fmt)
            try:
                obstore.head(self.store, path)
            except FileNotFoundError:
                continue
            except Exception as exc:
                raise StorageIOError(
                    f"cannot read {self.location(path)}: {describe_error(exc)}"
                ) from None
            return True
        return False


def _default_scratch() -> Path:
    import tempfile

    configured = os.environ.get(ENV_SCRATCH)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / DEFAULT_SCRATCH


def open_storage(uri: str) -> ObjectStorage:
    """Storage for ``uri``: a directory path, ``file://``, or a remote object store URL
    (``s3://bucket/prefix``, ``gs://``, ``az://``; see the module docstring for the
    credentials). Does no I/O for a remote store (see :meth:`ObjectStorage.check`).

    Raises :class:`StorageError` for an unsupported scheme, an existing non-directory
    path, a local directory that cannot be created, or a malformed remote URL.
    """
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "file" or not scheme or len(scheme) == 1:  # len 1: a Windows drive letter
        path = Path(parsed.path) if scheme == "file" else Path(uri)
        if path.exists() and not path.is_dir():
            raise StorageError(f"storage {uri!r} exists and is not a directory")
        return ObjectStorage.local(path)
    if scheme not in _REMOTE_SCHEMES:
        raise StorageError(
            f"unsupported storage URI {uri!r} (use a directory, file://, s3://, gs:// or az://)"
        )
    if not parsed.netloc:
        raise StorageError(f"storage URI {uri!r} names no bucket (e.g. s3://bucket/prefix)")
    from obstore.store import from_url

    try:
        store = from_url(uri)
    except Exception as exc:
        raise StorageError(f"cannot use storage {uri!r}: {describe_error(exc)}") from None
    return ObjectStorage(store, url=uri)
