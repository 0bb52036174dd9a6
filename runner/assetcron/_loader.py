"""Load a code location: the ``Definitions`` object in a Python file or module.

Follows the Dagster CLI's ``-f FILE`` / ``-m MODULE`` / ``-a ATTR`` conventions:

* ``-m pkg.mod``: imported with the working directory on ``sys.path`` (as Dagster does);
* ``-f path/to/file.py``: when the file sits inside a package (directories with
  ``__init__.py``), the directory above the outermost package goes on ``sys.path`` and
  the file is imported under its dotted name (``examples/weather/definitions.py`` →
  ``weather.definitions``), so relative imports work; otherwise its directory goes on
  ``sys.path`` and it is imported under its stem.

Every failure is an :class:`CodeLocationError` (exit 2) with one line naming the
location; errors assetcron raises while the module builds its ``Definitions`` (a cycle,
a missing dependency) pass through unchanged.

A code location may also be an unchanged Dagster one (the optional extra
``assetcron[dagster]``): :func:`load_code_location` tells a Dagster object by its type's
module, without importing Dagster (which a Dagster code location has imported already),
and wraps it for :mod:`assetcron._dagster`. When the module fails to import because
``dagster`` is missing, the error says to install the extra.
"""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

from assetcron._errors import AssetcronError
from assetcron._sdk import Definitions

if TYPE_CHECKING:
    from assetcron._dagster import DagsterCodeLocation

__all__ = ["CodeLocationError", "is_dagster_object", "load_code_location", "load_definitions"]


class CodeLocationError(AssetcronError):
    """The code location (file, module or attribute) cannot be loaded."""


def _module_name_for_file(path: Path) -> tuple[str, Path]:
    """Dotted module name of ``path`` and the directory to put on ``sys.path``."""
    parts = [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), directory


def _import(name: str, location: str, *, permanent: bool = False) -> object:
    """Import the code location's module with the cyclic garbage collector paused.

    Defining thousands of assets allocates hundreds of thousands of objects that all
    stay alive, and the collections those allocations trigger walk them again and
    again: half of the CPU time of ``assetcron asset list`` on a 20,000-asset code
    location (benchmarks/selection.py --whole-process). Paused, they are walked once,
    by the first collection after the import. ``permanent``: not even once; they are
    moved to the collector's permanent generation (``gc.freeze()``), for a process
    that keeps the code location until it exits (a run).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(name)
        if permanent:
            gc.freeze()
        return module
    except AssetcronError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise CodeLocationError(f"cannot load code location {location}: {exc}") from None
        if exc.name == "dagster" or (exc.name or "").startswith("dagster."):
            raise CodeLocationError(
                f"code location {location} imports dagster, which is not installed: "
                "install assetcron[dagster]"
            ) from None
        raise CodeLocationError(
            f"error importing code location {location}: ModuleNotFoundError: {exc}"
        ) from exc
    except Exception as exc:
        raise CodeLocationError(
            f"error importing code location {location}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if was_enabled:
            gc.enable()


def is_dagster_object(obj: object) -> bool:
    """Whether ``obj`` is an object of Dagster's (told by its type's module, so Dagster
    is never imported here)."""
    module = type(obj).__module__ or ""
    return module == "dagster" or module.startswith("dagster.")


def load_code_location(
    *,
    python_file: str | None = None,
    module_name: str | None = None,
    attribute: str = "defs",
    permanent: bool = False,
) -> tuple[Definitions | DagsterCodeLocation, str]:
    """Import the code location and return ``(definitions, location)``: an
    :class:`assetcron.Definitions`, or a Dagster code location wrapped for
    :mod:`assetcron._dagster`.

    ``location`` identifies the code location in run ids and messages
    (``module:attr`` or ``/abs/file.py:attr``). Exactly one of ``python_file`` and
    ``module_name`` must be given. Raises :class:`CodeLocationError` (and, for a Dagster
    object that is not a ``dagster.Definitions``, ``DagsterLocationError``).
    ``permanent=True`` (for a process that keeps the code location until it exits):
    the objects the import made are never walked by the garbage collector.
    """
    if (python_file is None) == (module_name is None):
        raise CodeLocationError("give exactly one of -f FILE.py and -m MODULE")
    if python_file is not None:
        path = Path(python_file).resolve()
        location = f"{path}:{attribute}"
        if not path.is_file():
            raise CodeLocationError(f"cannot load code location {python_file}: no such file")
        name, root = _module_name_for_file(path)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        module = _import(name, python_file, permanent=permanent)
        if Path(getattr(module, "__file__", "") or "").resolve() != path:
            raise CodeLocationError(
                f"cannot load code location {python_file}: module name {name!r} is taken "
                f"by {getattr(module, '__file__', None)}"
            )
    else:
        assert module_name is not None
        location = f"{module_name}:{attribute}"
        cwd = str(Path.cwd())
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        module = _import(module_name, module_name, permanent=permanent)
    try:
        defs = getattr(module, attribute)
    except AttributeError:
        where = python_file or module_name
        raise CodeLocationError(
            f"code location {where} has no attribute {attribute!r} (pass -a ATTR)"
        ) from None
    if not isinstance(defs, Definitions):
        if is_dagster_object(defs):
            from assetcron._dagster import DagsterCodeLocation

            return DagsterCodeLocation.wrap(defs, location), location
        raise CodeLocationError(f"{location} is a {type(defs).__name__}, not assetcron.Definitions")
    from assetcron._identity import code_location_version

    try:
        defs.code_location_version = code_location_version(cast("ModuleType", module))
    except OSError as exc:
        raise CodeLocationError(f"cannot read the source of {location}: {exc}") from exc
    return defs, location


def load_definitions(
    *, python_file: str | None = None, module_name: str | None = None, attribute: str = "defs"
) -> tuple[Definitions, str]:
    """Import the code location and return ``(definitions, location)`` (see
    :func:`load_code_location`); a Dagster code location is a :class:`CodeLocationError`
    here: only ``assetcron asset list|materialize`` run those. Raises
    :class:`CodeLocationError`.
    """
    defs, location = load_code_location(
        python_file=python_file, module_name=module_name, attribute=attribute
    )
    if not isinstance(defs, Definitions):
        raise CodeLocationError(
            f"{location} is a dagster.Definitions: `assetcron asset list` and "
            "`assetcron asset materialize` run it, this needs assetcron.Definitions"
        )
    return defs, location
