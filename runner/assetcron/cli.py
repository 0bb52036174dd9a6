"""The ``assetcron`` command line.

``assetcron asset list|materialize`` is implemented in this package (the runner). Other
command groups (``assetcron dev``, ``assetcron schedule``) come from other import packages
of the distribution through the ``assetcron.cli`` entry-point group, so the runner never
imports the operator or the Kubernetes client (checked by import-linter). Plugins are only
discovered when the first argument is not a built-in group, so ``assetcron asset ...`` in
a CronJob pod pays nothing for them.

Exit codes follow the Dagster CLI convention used throughout assetcron: 0 success,
1 a materialization failed, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    # A plugin's ``register``: adds one subparser to the top-level subparsers.
    _Register = Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]

#: Entry-point group through which other packages add subcommands. Each entry point is a
#: callable ``register(subparsers: argparse._SubParsersAction) -> None`` that adds one
#: subparser and sets ``func`` (``Callable[[argparse.Namespace], int]``) as its default.
PLUGIN_GROUP = "assetcron.cli"

_BUILTIN = ("asset",)


def _register_builtin(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from assetcron import _cli_asset

    _cli_asset.register(sub)


def _load_plugin(ep: EntryPoint) -> _Register | None:
    """The plugin's ``register`` callable, or ``None`` when its import package is absent.

    The distribution declares every plugin, but an installation may leave one's package
    out: the container image is built without ``assetcron_dev`` (the dev plane), whose
    entry point stays in the metadata. A plugin failing on any other missing module is a
    real error and propagates.
    """
    try:
        register: _Register = ep.load()
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (ep.module == missing or ep.module.startswith(f"{missing}.")):
            return None
        raise
    return register


def build_parser(
    *, with_plugins: bool, plugins: Iterable[EntryPoint] | None = None
) -> argparse.ArgumentParser:
    """Build the top-level parser; ``with_plugins`` adds the entry-point subcommands.

    ``plugins`` replaces the installed entry points of :data:`PLUGIN_GROUP` (tests).
    A plugin whose import package is not installed is left out (:func:`_load_plugin`).
    """
    parser = argparse.ArgumentParser(
        prog="assetcron",
        description="Dagster-style data assets on Kubernetes CronJobs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _register_builtin(sub)
    if with_plugins:
        if plugins is None:
            from importlib.metadata import entry_points  # ~20 ms: only when plugins are wanted

            plugins = entry_points(group=PLUGIN_GROUP)
        for ep in sorted(plugins, key=lambda e: e.name):
            if (register := _load_plugin(ep)) is not None:
                register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    with_plugins = not (args_in and args_in[0] in _BUILTIN)
    parser = build_parser(with_plugins=with_plugins)
    args = parser.parse_args(args_in)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
