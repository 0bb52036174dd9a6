"""``kubectl assetcron``: the kubectl plugin (console script ``kubectl-assetcron``).

kubectl runs any ``kubectl-<name>`` executable on ``$PATH`` as ``kubectl <name>`` (the
krew naming), passing the rest of the command line as is. The commands are those of
``assetcron schedule`` (:func:`assetcron_operator.cli.add_schedule_commands`): the same
code, options and exit codes (0 success, 1 the run failed or the wait ran out, 2 bad
input), so a script can use either::

    kubectl assetcron status [NAME] [-A]
    kubectl assetcron runs NAME
    kubectl assetcron logs NAME [RUN] [-f]
    kubectl assetcron trigger NAME [--scheduled-time T] [--wait [SECONDS]]
    kubectl assetcron suspend NAME | resume NAME
    kubectl assetcron preview NAME|FILE

``-n/--namespace``, ``--kubeconfig`` and ``--context`` are read as kubectl reads them,
before or after the command (``kubectl assetcron -n data runs weather-daily``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from assetcron_operator.cli import add_cluster_args, add_schedule_commands

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The plugin's argument parser."""
    parser = argparse.ArgumentParser(
        prog="kubectl assetcron",
        description="Status, run history, logs and manual runs of assetcron AssetSchedules.",
    )
    add_cluster_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_schedule_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kubectl assetcron`` with ``argv`` (default ``sys.argv[1:]``); the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    code: int = args.func(args)
    return code


def entry() -> None:
    """Console script ``kubectl-assetcron``."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
