"""The project's resources: where its data comes from, with no network.

The Dagster tutorial calls the Hacker News API over HTTP and a signups generator service.
A run pod here has no network, and a test wants the same answer every time, so both
resources answer offline and deterministically:

* :class:`HackerNewsSnapshot` reads ``data/hackernews.json`` shipped inside this package
  (a small hand-written sample in the API's own shape: ``topstories`` and ``items``).
* :class:`SignupsGenerator` makes up a day's signups from a random generator seeded with
  the day, so every run of one partition sees the same signups.
"""

import json
import random
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import dagster as dg

COUNTRIES = ("DE", "FR", "IN", "JP", "NL", "US", "US", "BR", "GB", "US")
PLANS = ("free", "free", "free", "pro", "team")


@cache
def _load_snapshot(path: str) -> dict[str, Any]:
    source = Path(path) if path else resources.files(__package__) / "data" / "hackernews.json"
    loaded: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return loaded


class HackerNewsSnapshot(dg.ConfigurableResource):
    """The Hacker News API (``topstories.json``, ``item/<id>.json``) read from a file.

    ``path`` empty (the default) reads the sample shipped in this package.
    """

    path: str = ""

    def top_story_ids(self) -> list[int]:
        """The ids of the top stories, best first (``/v0/topstories.json``)."""
        return list(_load_snapshot(self.path)["topstories"])

    def item(self, item_id: int) -> dict[str, Any]:
        """One item (``/v0/item/<id>.json``)."""
        return dict(_load_snapshot(self.path)["items"][str(item_id)])


class SignupsGenerator(dg.ConfigurableResource):
    """A day's signups, made up but the same for the same day and ``seed``."""

    seed: str = "dagster-project"
    max_per_day: int = 40

    def get_signups(self, day: date) -> list[dict[str, Any]]:
        """Between a quarter of ``max_per_day`` and ``max_per_day`` signups on ``day``,
        sorted by their time (UTC)."""
        # Not for security: a reproducible sample.
        rng = random.Random(f"{self.seed}:{day.isoformat()}")  # noqa: S311
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        count = rng.randint(max(1, self.max_per_day // 4), self.max_per_day)
        seconds = sorted(rng.randrange(86_400) for _ in range(count))
        return [
            {
                "user_id": f"{day:%Y%m%d}-{i:03d}",
                "registered_at": (midnight + timedelta(seconds=s)).isoformat(),
                "country": rng.choice(COUNTRIES),
                "plan": rng.choice(PLANS),
            }
            for i, s in enumerate(seconds)
        ]
