"""Hide environment values in text bound for the termination message.

An asset can fail with an exception whose message carries a secret the pod received
through its environment (``valueFrom.secretKeyRef``, ``envFrom``): a connection string,
a token. The termination message lands in the AssetSchedule's ``status.recentRuns``,
readable by everyone who can read the custom resource, which is usually more people
than can read the Secret. So before any text goes into the summary, every occurrence of
the value of an environment variable (at least :data:`MIN_SECRET_CHARS` characters) is
replaced by :data:`MASK`, except for variables known not to be secret
(:func:`is_not_secret`).

Only the termination message is redacted. The runner's stdout and stderr (the pod log)
stay as they are: whoever can read pod logs can read the pod's environment too
(``kubectl exec``, the pod spec's Secret references) and needs the unredacted text to
debug.

Each value is also hidden in the forms an error message may show it in: with runs of
whitespace collapsed to one space (error lines are collapsed), escaped as ``repr``
escapes it, and, for a multi-line value such as a PEM key, line by line. Overlapping
occurrences of different values are hidden as their union, so no fragment of a longer
value survives next to a shorter one.

``ASSETCRON_STORAGE`` holds a path or a URL; only the userinfo of a URL
(``s3://KEY:SECRET@host/bucket``) is treated as secret, so messages naming the storage
path stay readable. Other ``ASSETCRON_*`` variables that the operator sets from the
spec (already readable in the custom resource) are not secret; any other
``ASSETCRON_*`` name is treated like a user variable, i.e. as secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

__all__ = ["MASK", "MIN_SECRET_CHARS", "Redactor", "is_not_secret", "secret_values"]

#: What a hidden value is replaced with.
MASK = "***"
#: Shorter values are not hidden (``1``, ``true`` would mask half of every message).
MIN_SECRET_CHARS = 4

#: Variables that are not secret and whose values appear in messages legitimately.
NOT_SECRET_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "HOSTNAME",
        "PWD",
        "OLDPWD",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "SHLVL",
        "USER",
        "LOGNAME",
        "SHELL",
        "VIRTUAL_ENV",
        "_",
        # Set by the operator from the AssetJob/AssetSchedule spec (render.RESERVED_ENV).
        "ASSETCRON_JOB_NAME",
        "ASSETCRON_SCHEDULED_TIME",
        "ASSETCRON_TIMEZONE",
        "ASSETCRON_CRON_SCHEDULE",
        "ASSETCRON_RUN_CONFIG",
        "ASSETCRON_PARTITION_KEY",
        "ASSETCRON_TERMINATION_LOG",
        "ASSETCRON_FORCE",
        # Runner settings that are paths or numbers, not secrets.
        "ASSETCRON_SCRATCH",
        "ASSETCRON_LOCK_WAIT",
        "ASSETCRON_LOCK_TTL",
        "ASSETCRON_LOG_FORMAT",
    }
)
#: Name prefixes of variables that are not secret (locale, Python, the API server).
NOT_SECRET_PREFIXES = ("LC_", "PYTHON", "KUBERNETES_SERVICE_", "KUBERNETES_PORT")
#: The variables Kubernetes injects for every Service of the namespace
#: (``enableServiceLinks``): ``<SVC>_SERVICE_HOST``, ``<SVC>_SERVICE_PORT[_<NAME>]``,
#: ``<SVC>_PORT[_<port>_<PROTO>[_PROTO|_PORT|_ADDR]]``: addresses, not secrets.
_SERVICE_LINK = re.compile(
    r"[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
    r"|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)"
)
#: A path or URL: only a URL's userinfo is secret.
STORAGE_VARIABLE = "ASSETCRON_STORAGE"


def is_not_secret(name: str) -> bool:
    """True for variables whose values are never hidden (see the module docstring)."""
    return (
        name in NOT_SECRET_NAMES
        or name.startswith(NOT_SECRET_PREFIXES)
        or _SERVICE_LINK.fullmatch(name) is not None
    )


def _userinfo(url: str) -> list[str]:
    """The userinfo of ``url`` and its user and password parts, raw and percent-decoded."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return [url]  # not even a URL: hide it whole rather than guess
    if "@" not in netloc:
        return []
    userinfo = netloc.rpartition("@")[0]
    parts = [userinfo, *userinfo.split(":", 1)]
    return parts + [unquote(p) for p in parts]


def _forms(value: str) -> set[str]:
    """``value`` and the forms an error message may show it in."""
    forms = {value, " ".join(value.split()), repr(value)[1:-1]}
    if "\n" in value:
        forms.update(line.strip() for line in value.splitlines())
    return forms


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Every string to hide for ``environ``, longest first.

    The values (and their forms, see the module docstring) of all variables except
    those :func:`is_not_secret` names; for ``ASSETCRON_STORAGE`` only a URL's
    userinfo. Strings shorter than :data:`MIN_SECRET_CHARS` are left out.
    """
    found: set[str] = set()
    for name, value in environ.items():
        if name == STORAGE_VARIABLE:
            candidates = _userinfo(value)
        elif is_not_secret(name):
            continue
        else:
            candidates = [value]
        for candidate in candidates:
            found.update(_forms(candidate))
    return sorted((s for s in found if len(s) >= MIN_SECRET_CHARS), key=lambda s: (-len(s), s))


class Redactor:
    """A callable ``str -> str`` that replaces every occurrence of the given secrets with
    :data:`MASK` (overlapping occurrences are merged, so ``***`` covers their union).

    ``Redactor.from_environ(os.environ)`` hides the environment's values
    (:func:`secret_values`); ``Redactor([])`` changes nothing.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = tuple(s for s in secrets if s)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Redactor:
        """A redactor for the values of ``environ`` (see the module docstring)."""
        return cls(secret_values(environ))

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by :data:`MASK`."""
        spans: list[tuple[int, int]] = []
        for secret in self._secrets:
            start = text.find(secret)
            while start >= 0:
                spans.append((start, start + len(secret)))
                start = text.find(secret, start + 1)
        if not spans:
            return text
        spans.sort()
        out: list[str] = []
        position = 0
        cover_start, cover_end = spans[0]
        for start, end in spans[1:]:
            if start <= cover_end:  # overlapping or touching: one mask
                cover_end = max(cover_end, end)
                continue
            out += [text[position:cover_start], MASK]
            position = cover_end
            cover_start, cover_end = start, end
        out += [text[position:cover_start], MASK, text[cover_end:]]
        return "".join(out)
