"""What produced a materialization: code versions and the provenance key of a value.

A stored value may be reused only when everything that produced it is the same (issue
11, after Dagster's data versioning: a materialization is stale when its code version or
an input's data version changed). The provenance key of one materialization hashes:

* the asset key and the partition key (``None`` for unpartitioned);
* the asset's validated config, as canonical JSON;
* the materialization id of every input value read (so a recomputed upstream makes the
  downstream recompute even when the upstream's own config did not change);
* the code version: the asset's ``code_version`` (Dagster's ``@asset(code_version=...)``)
  when the user gives one, else the content hash of the code location
  (:func:`code_location_version`): any edit to its Python files recomputes everything.

Pure functions and file reads only; no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["code_location_version", "config_fingerprint", "provenance_key"]

#: Files of a code location that count as its code.
_CODE_SUFFIXES = (".py",)


def _package_root(module: ModuleType) -> Path | None:
    """The directory of ``module``'s top-level package, or ``None`` for a lone module."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    top = module.__name__.split(".")[0]
    parts = module.__name__.split(".")
    # a.b.c in .../a/b/c.py (or .../a/b/c/__init__.py): the top package is 2 levels up.
    depth = len(parts) - (0 if path.name == "__init__.py" else 1)
    root = path.parent
    for _ in range(depth - 1):
        root = root.parent
    return root if root.name == top and depth >= 1 and (root / "__init__.py").exists() else None


def code_location_version(module: ModuleType) -> str:
    """Content hash (``sha256:<hex>``) of a code location's Python source.

    For a module inside a package, every ``*.py`` file under the top-level package's
    directory (sorted by relative path; ``__pycache__`` left out); for a lone module
    (``-f file.py`` or a top-level ``.py`` module), that file. A module with no file (a
    namespace or built-in module) hashes its name only. Raises ``OSError`` when a
    source file cannot be read.
    """
    digest = hashlib.sha256()
    root = _package_root(module)
    file = getattr(module, "__file__", None)
    if root is not None:
        files = sorted(
            p
            for p in root.rglob("*")
            if p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts
        )
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    elif file:
        digest.update(Path(file).read_bytes())
    else:
        digest.update(module.__name__.encode())
    return f"sha256:{digest.hexdigest()}"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_fingerprint(config: Any) -> str:
    """Canonical JSON of an asset's validated config (a pydantic model or a mapping)."""
    dump = getattr(config, "model_dump", None)
    return _canonical(dump(mode="json") if dump is not None else config)


def provenance_key(
    *,
    asset_key: str,
    partition_key: str | None,
    config: str,
    inputs: Mapping[str, str],
    code_version: str,
) -> str:
    """The provenance key (``sha256:<hex>``) of one materialization (module docstring).

    Args:
        asset_key: the asset key's user string (``weather/daily``).
        partition_key: the partition, or ``None``.
        config: :func:`config_fingerprint` of the asset's validated config.
        inputs: upstream asset key (user string) -> the materialization id of the value
            read.
        code_version: the asset's code version or the code location's content hash.
    """
    payload = {
        "asset": asset_key,
        "partition": partition_key,
        "config": config,
        "inputs": dict(sorted(inputs.items())),
        "code": code_version,
    }
    return f"sha256:{hashlib.sha256(_canonical(payload).encode()).hexdigest()}"
