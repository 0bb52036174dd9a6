"""Start-up cost of the runner: ``assetcron asset materialize`` on a one-asset code
location against a bare ``python -c pass``, measured in the same run.

Every CronJob tick starts a fresh pod running the runner, so its start-up is paid per
run. Goal (issue 3): the median wall time of the materialize command is less than
150 ms above the bare interpreter's.

Usage: ``.venv/bin/python benchmarks/startup.py [--repeat N] [--storage URL]``. With
``--storage s3://bucket/prefix`` (and the ``AWS_*`` variables set) each run writes under
its own ``<prefix>/s<i>``; the default is a fresh local directory. Prints the median (and
min/max) of each and the difference, for wall time (the goal) and for CPU time (user +
system of the child, which load from other processes on a shared machine does not
inflate). Both commands run alternately so that load from
other processes affects them alike; the storage directory is fresh per run (a re-run
would be a cheaper "reused" path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

GOAL_MS = 150.0

LOCATION = """\
from assetcron import Definitions, asset


@asset
def one() -> int:
    return 1


defs = Definitions(assets=[one])
"""


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, from the child's rusage) of one run of
    ``argv``, in seconds; exits if the command fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {err}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    parser.add_argument(
        "--storage", metavar="URL", help="an object store prefix (default: a local directory)"
    )
    args = parser.parse_args()

    python = sys.executable
    assetcron = str(Path(python).parent / "assetcron")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETCRON_")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "one_asset.py").write_text(LOCATION)
        bare = [python, "-c", "pass"]
        runner = [
            assetcron, "asset", "materialize", "-f", "one_asset.py", "--select", "*",
            "--scheduled-time", "2015-06-02T06:00:00Z",
        ]  # fmt: skip
        base = args.storage.rstrip("/") if args.storage else str(work)
        # Warm the page cache and write the .pyc files a deployed image has (pip install
        # --compile), also where PYTHONDONTWRITEBYTECODE=1 is set for the shell.
        warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        measure(bare, warm, work)
        measure([*runner, "--storage", f"{base}/warm"], warm, work)
        bare_runs: list[tuple[float, float]] = []
        runner_runs: list[tuple[float, float]] = []
        for i in range(args.repeat):
            bare_runs.append(measure(bare, env, work))
            runner_runs.append(measure([*runner, "--storage", f"{base}/s{i}"], env, work))

    def ms(values: list[float]) -> str:
        return (
            f"median {statistics.median(values) * 1000:7.1f} ms  "
            f"(min {min(values) * 1000:6.1f}, max {max(values) * 1000:6.1f})"
        )

    where = args.storage or "a local directory"
    print(f"{args.repeat} runs each, alternating, storage {where}")
    print(describe())
    for what, idx in (("wall", 0), ("cpu ", 1)):
        bare_t = [r[idx] for r in bare_runs]
        run_t = [r[idx] for r in runner_runs]
        overhead = (statistics.median(run_t) - statistics.median(bare_t)) * 1000
        verdict = "meets" if overhead < GOAL_MS else "MISSES"
        print(f"{what} python -c pass               {ms(bare_t)}")
        print(f"{what} assetcron asset materialize  {ms(run_t)}")
        print(
            f"{what} overhead (median difference) {overhead:7.1f} ms "
            f"-> {verdict} the {GOAL_MS:.0f} ms goal"
        )


if __name__ == "__main__":
    main()
