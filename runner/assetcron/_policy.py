"""``RetryPolicy``: retry a failing asset in the run's process (Dagster's ``RetryPolicy``).

An asset with ``retry_policy=RetryPolicy(max_retries=2, delay=5)`` whose function raises
is called again, up to ``max_retries`` more times, after ``delay`` seconds (growing with
``backoff``, randomised by ``jitter``, as Dagster computes it). Only the function call is
retried: its inputs are read once, its value is stored once. A ``Failure`` raised with
``allow_retries=False`` and an interruption (SIGTERM) are not retried. Retrying the
whole pod is the Kubernetes Job's ``backoffLimit``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from assetcron._errors import InvalidDefinitionError

__all__ = ["Backoff", "Jitter", "RetryPolicy", "calculate_delay"]


class Backoff(Enum):
    """How the delay grows between attempts (Dagster's ``Backoff``)."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(Enum):
    """How the delay is randomised (Dagster's ``Jitter``)."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failing asset ``max_retries`` times, ``delay`` seconds apart (Dagster's
    ``RetryPolicy``; see :func:`calculate_delay` for ``backoff`` and ``jitter``)."""

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise InvalidDefinitionError(
                f"RetryPolicy: max_retries must be an integer >= 0, got {self.max_retries!r}"
            )
        if self.delay is not None and not (self.delay >= 0):  # also refuses NaN
            raise InvalidDefinitionError(f"RetryPolicy: delay must be >= 0, got {self.delay!r}")
        if (self.backoff is not None or self.jitter is not None) and self.delay is None:
            raise InvalidDefinitionError("RetryPolicy: backoff and jitter need a delay")

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        if self.delay is None:
            return 0.0
        return max(0.0, calculate_delay(attempt, self.backoff, self.jitter, self.delay))


def calculate_delay(
    attempt_num: int, backoff: Backoff | None, jitter: Jitter | None, base_delay: float
) -> float:
    """Dagster's formula: ``base_delay`` (no backoff), ``base_delay * attempt_num``
    (linear) or ``(2**attempt_num - 1) * base_delay`` (exponential); then full jitter
    picks uniformly in ``[0, delay]`` and plus-minus adds up to ``base_delay`` either
    way."""
    delay: float
    if backoff is Backoff.EXPONENTIAL:
        delay = ((2**attempt_num) - 1) * base_delay
    elif backoff is Backoff.LINEAR:
        delay = base_delay * attempt_num
    else:
        delay = base_delay
    if jitter is Jitter.FULL:
        delay = random.random() * delay  # noqa: S311 - spreading retries, not security
    elif jitter is Jitter.PLUS_MINUS:
        delay = delay + ((2 * (random.random() * base_delay)) - base_delay)  # noqa: S311
    return delay
