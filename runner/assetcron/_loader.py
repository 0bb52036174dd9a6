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
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import cast

from assetcron._errors import AssetcronError
from assetcron._sdk import Definitions

__all__ = ["CodeLocationError", "load_definitions"]


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


def _import(name: str, location: str) -> object:
    try:
        return importlib.import_module(name)
    except AssetcronError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise CodeLocationError(f"cannot load code location {location}: {exc}") from None
        raise CodeLocationError(
            f"error importing code location {location}: ModuleNotFoundError: {exc}"
        ) from exc
    except Exception as exc:
        raise CodeLocationError(
            f"error importing code location {location}: {type(exc).__name__}: {exc}"
        ) from exc


def load_definitions(
    *, python_file: str | None = None, module_name: str | None = None, attribute: str = "defs"
) -> tuple[Definitions, str]:
    """Import the code location and return ``(definitions, location)``.

    ``location`` identifies the code location in run ids and messages
    (``module:attr`` or ``/abs/file.py:attr``). Exactly one of ``python_file`` and
    ``module_name`` must be given. Raises :class:`CodeLocationError`.
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
        module = _import(name, python_file)
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
        module = _import(module_name, module_name)
    try:
        defs = getattr(module, attribute)
    except AttributeError:
        where = python_file or module_name
        raise CodeLocationError(
            f"code location {where} has no attribute {attribute!r} (pass -a ATTR)"
        ) from None
    if not isinstance(defs, Definitions):
        raise CodeLocationError(f"{location} is a {type(defs).__name__}, not assetcron.Definitions")
    from assetcron._identity import code_location_version

    try:
        defs.code_location_version = code_location_version(cast("ModuleType", module))
    except OSError as exc:
        raise CodeLocationError(f"cannot read the source of {location}: {exc}") from exc
    return defs, location
