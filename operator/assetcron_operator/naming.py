"""Deterministic names and label values for everything the operator creates.

Pure functions, no I/O. Every name is a function of its inputs only, so a restarted
operator renders exactly the same names and never creates a duplicate CronJob.

Length limits (from the Kubernetes API conventions and validation code):

* A CronJob name is at most **52** characters: the CronJob controller appends
  ``-<scheduled unix time // 60>`` (11 characters) to name each Job, and the Job name is
  copied into the pod label ``batch.kubernetes.io/job-name``, whose value is limited to
  63 characters (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/,
  "CronJob name").
* A label value is at most **63** characters, ``(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?``
  (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/).

Object names longer than a limit are valid input: they are shortened to
``<prefix>-<hash>`` where ``hash`` is the first characters of the SHA-256 of the *full*
name, so two long names that share a prefix still get different results.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "CRONJOB_NAME_MAX",
    "HASH_LENGTH",
    "JOB_NAME_MAX",
    "LABEL_VALUE_MAX",
    "cronjob_name",
    "label_value",
    "manual_job_name",
    "short_hash",
    "shorten",
]

#: Kubernetes' limit for a CronJob name (63 - len("-") - 10 digits of minutes).
CRONJOB_NAME_MAX = 52
#: Kubernetes' limit for a label value, and therefore for a Job name (pod label job-name).
LABEL_VALUE_MAX = 63
#: Limit for Job names: the Job name becomes the pod label ``batch.kubernetes.io/job-name``.
JOB_NAME_MAX = LABEL_VALUE_MAX
#: Hex characters of SHA-256 used as the collision-avoiding suffix (40 bits).
HASH_LENGTH = 10

_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def short_hash(value: str, length: int = HASH_LENGTH) -> str:
    """Return the first ``length`` lowercase hex characters of SHA-256(``value``, UTF-8)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:length]


def shorten(name: str, limit: int) -> str:
    """Return ``name`` unchanged if it fits in ``limit`` characters, else a hashed short form.

    The short form is ``<prefix>-<sha256(name)[:10]>`` with exactly ``limit`` characters
    or fewer: the prefix is cut so that it does not end in ``-``, ``.`` or ``_`` (a DNS-1123
    name and a label value must end with an alphanumeric character).

    Raises:
        ValueError: ``limit`` leaves no room for a prefix and the hash (``limit < 12``).
    """
    if limit < HASH_LENGTH + 2:
        msg = f"limit {limit} is too small for a hashed name (needs >= {HASH_LENGTH + 2})"
        raise ValueError(msg)
    if len(name) <= limit:
        return name
    prefix = name[: limit - HASH_LENGTH - 1].rstrip("-._")
    suffix = short_hash(name)
    return f"{prefix}-{suffix}" if prefix else suffix


def cronjob_name(schedule_name: str) -> str:
    """Name of the CronJob for the AssetSchedule called ``schedule_name``.

    The schedule's own name when it has at most 52 characters (so ``kubectl get cronjobs``
    shows the familiar name), else its hashed short form of exactly 52 characters.
    """
    return shorten(schedule_name, CRONJOB_NAME_MAX)


def label_value(value: str) -> str:
    """A valid label value (at most 63 characters) that stands for ``value``.

    Object names are already label-safe (DNS-1123), so only their length matters; any other
    string that is not a valid label value is replaced by its hashed form too.
    """
    if len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE_RE.match(value):
        return value
    if not _LABEL_VALUE_RE.match(value):
        cleaned = re.sub(r"[^-A-Za-z0-9_.]", "-", value).strip("-._")
        prefix = cleaned[: LABEL_VALUE_MAX - HASH_LENGTH - 1].rstrip("-._")
        suffix = short_hash(value)
        return f"{prefix}-{suffix}" if prefix else suffix
    return shorten(value, LABEL_VALUE_MAX)


def manual_job_name(cronjob: str, trigger: str) -> str:
    """Name of the Job a manual trigger (``assetcron.dev/trigger`` value ``trigger``) creates.

    ``<cronjob>-m<sha256(trigger)[:9]>``: at most 52 + 11 = 63 characters, like the
    CronJob controller's ``<cronjob>-<minutes>``; the ``m`` keeps it from ever looking like
    a scheduled Job's all-digits suffix. The same trigger value always gives the same name,
    which is what makes "act once per trigger value" idempotent (creating it twice
    conflicts with 409 AlreadyExists instead of running twice).
    """
    return f"{shorten(cronjob, CRONJOB_NAME_MAX)}-m{short_hash(trigger, HASH_LENGTH - 1)}"
