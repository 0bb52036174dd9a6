"""The errors assetcron raises for bad input.

Every error is an :class:`AssetcronError`; its ``str()`` is one line fit for stderr, and
its ``exit_code`` is the CLI exit code (2, "bad input", the Dagster CLI convention that
DESIGN.md adopts). Errors carry their details as attributes so callers (the CLI, the
operator's status conditions, tests) never have to parse the message.

This module imports nothing from the rest of the package, so every other module may
import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

__all__ = [
    "AssetcronError",
    "DependencyCycleError",
    "EmptySelectionError",
    "InvalidDefinitionError",
    "PartitionKeyError",
    "RunConfigError",
    "ScheduledTimeError",
    "SelectionSyntaxError",
    "TemplateError",
    "UnknownAssetKeyError",
    "did_you_mean",
]


def _one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space."""
    return " ".join(text.split())


def did_you_mean(word: str, candidates: Iterable[str], *, limit: int = 3) -> list[str]:
    """Return up to ``limit`` candidates close to ``word``, best first.

    Uses :func:`difflib.get_close_matches` (ratio cutoff 0.6), the same helper Python's
    own "did you mean" hints are modelled on.
    """
    import difflib  # only for an error message: not loaded by runs that raise none

    return difflib.get_close_matches(word, list(candidates), n=limit, cutoff=0.6)


def _hint(suggestions: Sequence[str]) -> str:
    if not suggestions:
        return ""
    return "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"


class AssetcronError(Exception):
    """Base class of every error assetcron raises for bad input.

    ``str(error)`` is a single line (newlines in the message are collapsed), and
    ``exit_code`` (2) is what the CLI exits with.
    """

    exit_code: ClassVar[int] = 2

    def __str__(self) -> str:
        return _one_line(super().__str__())


class SelectionSyntaxError(AssetcronError):
    """A selection string does not follow Dagster's asset-selection syntax.

    Attributes: ``text`` (the whole selection string), ``column`` (1-based column of the
    offending token; ``len(text) + 1`` means "at the end"), ``token`` (the offending
    token's text, ``""`` at the end of input) and ``reason`` (what was expected).
    The message reads ``selection syntax error at column 5: expected a value after
    'key:'``.
    """

    def __init__(self, reason: str, *, text: str, column: int, token: str = "") -> None:
        self.reason = reason
        self.text = text
        self.column = column
        self.token = token
        super().__init__(f"selection syntax error at column {column}: {reason}")


class UnknownAssetKeyError(AssetcronError):
    """A selection or a dependency names an asset key that is not defined.

    ``key`` is the unknown key as a user string (``a/b``); ``suggestions`` are the
    closest defined keys (difflib), shown as a "did you mean" hint. An exact key that
    matches nothing is an error (as in Dagster's ``AssetSelection.assets``); a key
    pattern with ``*`` that matches nothing is merely empty.
    """

    def __init__(self, key: str, candidates: Iterable[str] = (), *, context: str = "") -> None:
        self.key = key
        self.suggestions = did_you_mean(key, candidates)
        where = f" {context}" if context else ""
        super().__init__(f"unknown asset key {key!r}{where}{_hint(self.suggestions)}")


class EmptySelectionError(AssetcronError):
    """A selection resolved to no asset and the caller did not allow an empty result.

    ``selection`` is the selection's text (or ``repr`` of the Python expression).
    """

    def __init__(self, selection: str) -> None:
        self.selection = selection
        super().__init__(f"selection {selection!r} matched no asset")


class DependencyCycleError(AssetcronError):
    """The asset dependencies contain a cycle.

    ``cycle`` lists the keys (user strings) along one cycle in data-flow order
    (upstream first) and repeats the first key at the end: ``["a", "b", "a"]`` reads
    ``a -> b -> a`` ("b depends on a, a depends on b").
    """

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("dependency cycle: " + " -> ".join(self.cycle))


class InvalidDefinitionError(AssetcronError):
    """Asset definitions are inconsistent (duplicate keys, dependency on a missing asset,
    an empty or malformed asset key, ...)."""


class RunConfigError(AssetcronError):
    """Run config does not validate against an asset's config schema."""


class TemplateError(AssetcronError):
    """A run-config template does not parse or does not render."""


class ScheduledTimeError(AssetcronError):
    """The run's scheduled time is missing or cannot be derived."""


class PartitionKeyError(AssetcronError):
    """A partition key is malformed or outside the partitions definition, or a tick has
    no partition to materialize.

    Defined here rather than in :mod:`assetcron._partitions` (which re-exports it) so
    that a run can catch it without loading the partitions module.
    """
