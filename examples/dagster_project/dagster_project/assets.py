"""The assets: the Dagster tutorial's Hacker News pipeline and a daily signups pair.

Group ``hackernews`` (unpartitioned), the tutorial's three assets::

    topstory_ids -> topstories -> most_frequent_words

Group ``signups`` (daily partitions from 2024-01-01, UTC)::

    signups -> signup_summary   (SignupSummaryConfig)

As in the tutorial, except that nothing goes to the network or to ``data/`` in the
working directory: the resources answer offline (:mod:`.resources`) and each asset
returns its value, which the IO manager stores (Dagster's default one under Dagster, the
run's storage under assetcron).
"""

from collections import Counter
from datetime import date
from typing import Any

import dagster as dg

from .resources import HackerNewsSnapshot, SignupsGenerator

#: Words left out of ``most_frequent_words`` (the tutorial's list).
STOPWORDS = frozenset(["a", "the", "an", "of", "to", "in", "for", "and", "with", "on", "is"])

#: Characters stripped from both ends of a title's words (the tutorial's set).
PUNCTUATION = ".,-!?:;()[]'\""

daily_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")


def _markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- hackernews
@dg.asset(group_name="hackernews", kinds={"python"}, tags={"tier": "bronze"})
def topstory_ids(hackernews: HackerNewsSnapshot) -> list[int]:
    """The ids of the 100 top stories on Hacker News, best first."""
    return hackernews.top_story_ids()[:100]


@dg.asset(group_name="hackernews", kinds={"python"}, tags={"tier": "silver"})
def topstories(
    context: dg.AssetExecutionContext, topstory_ids: list[int], hackernews: HackerNewsSnapshot
) -> dg.Output[list[dict[str, Any]]]:
    """The top stories themselves: id, title, author, score, url."""
    results = []
    for item_id in topstory_ids:
        item = hackernews.item(item_id)
        results.append({k: item.get(k) for k in ("id", "title", "by", "score", "url")})
        if len(results) % 20 == 0:
            context.log.info(f"Got {len(results)} items so far.")
    return dg.Output(
        results,
        metadata={
            "num_records": len(results),
            "preview": dg.MetadataValue.md(_markdown_table(results[:5], ["id", "title", "score"])),
        },
    )


@dg.asset(group_name="hackernews", kinds={"python"}, tags={"tier": "gold"})
def most_frequent_words(topstories: list[dict[str, Any]]) -> dg.Output[dict[str, int]]:
    """The 25 most frequent words in the top stories' titles, stopwords left out."""
    word_counts: Counter[str] = Counter()
    for story in topstories:
        for word in str(story["title"]).lower().split():
            cleaned = word.strip(PUNCTUATION)
            if cleaned and cleaned not in STOPWORDS:
                word_counts[cleaned] += 1
    # Most frequent first, ties in alphabetical order: the same answer every run.
    top = sorted(word_counts.items(), key=lambda pair: (-pair[1], pair[0]))[:25]
    table = _markdown_table([{"word": w, "count": n} for w, n in top], ["word", "count"])
    return dg.Output(dict(top), metadata={"plot": dg.MetadataValue.md(table)})


# ---------------------------------------------------------------- signups
@dg.asset(
    group_name="signups",
    partitions_def=daily_partitions,
    kinds={"python"},
    owners=["team:growth"],
    tags={"tier": "bronze"},
)
def signups(
    context: dg.AssetExecutionContext, signups_api: SignupsGenerator
) -> dg.Output[list[dict[str, Any]]]:
    """The partition day's signups, in the order they registered."""
    rows = signups_api.get_signups(date.fromisoformat(context.partition_key))
    return dg.Output(
        rows,
        metadata={
            "Record Count": len(rows),
            "Earliest Signup": rows[0]["registered_at"],
            "Latest Signup": rows[-1]["registered_at"],
            "Preview": dg.MetadataValue.md(
                _markdown_table(rows[:5], ["user_id", "registered_at", "country", "plan"])
            ),
        },
    )


class SignupSummaryConfig(dg.Config):
    """Config of ``signup_summary``: the summary's title and how many countries it ranks."""

    title: str = "Daily signups"
    top_countries: int = 3


@dg.asset(
    group_name="signups",
    partitions_def=daily_partitions,
    kinds={"python"},
    owners=["team:growth"],
    tags={"tier": "gold"},
)
def signup_summary(
    context: dg.AssetExecutionContext, config: SignupSummaryConfig, signups: list[dict[str, Any]]
) -> dict[str, Any]:
    """The day in numbers: signups, signups per plan, the countries with the most."""
    by_country = Counter(row["country"] for row in signups)
    ranked = sorted(by_country.items(), key=lambda pair: (-pair[1], pair[0]))
    summary = {
        "day": context.partition_key,
        "title": config.title,
        "signups": len(signups),
        "by_plan": dict(sorted(Counter(row["plan"] for row in signups).items())),
        "top_countries": [country for country, _ in ranked[: config.top_countries]],
    }
    context.log.info(f"{config.title}: {summary['signups']} signups on {summary['day']}")
    return summary
