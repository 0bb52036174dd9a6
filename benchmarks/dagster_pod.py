"""What a Dagster run pod costs against a native one: wall time, CPU time and peak memory
of ``assetcron asset materialize`` of one asset, from a native code location and from the
same asset written as a Dagster code location (``assetcron[dagster]``).

Every CronJob tick starts a fresh pod, so this is paid per run. Each command runs in its
own process, alternately, with a fresh storage directory per run; the figures come from
that child's own ``rusage`` (``os.wait4``: ``ru_maxrss`` is its peak resident set, in KiB
on Linux; ``getrusage(RUSAGE_CHILDREN)`` would report the largest child so far instead).
Also measured: a bare ``python -c pass`` and ``python -c "import dagster"``, which show
how much of the difference is Dagster's import.

Usage: ``.venv/bin/python benchmarks/dagster_pod.py [--repeat N]`` (needs dagster in the
venv: ``pip install -e '.[dagster]'``).
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

NATIVE = """\
from assetcron import Definitions, asset


@asset
def one() -> int:
    return 1


defs = Definitions(assets=[one])
"""

DAGSTER = """\
import dagster as dg


@dg.asset
def one() -> int:
    return 1


defs = dg.Definitions(assets=[one])
"""


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one run of
    ``argv``; exits if the command fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{argv} failed ({code}): {err}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command")
    args = parser.parse_args()

    python = sys.executable
    assetcron = str(Path(python).parent / "assetcron")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETCRON_", "DAGSTER_"))}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "native_one.py").write_text(NATIVE)
        (work / "dagster_one.py").write_text(DAGSTER)

        def materialize(location: str, storage: str) -> list[str]:
            return [
                assetcron, "asset", "materialize", "-f", location, "--select", "*",
                "--scheduled-time", "2015-06-02T06:00:00Z", "--storage", str(work / storage),
            ]  # fmt: skip

        commands = {
            "python -c pass": lambda i: [python, "-c", "pass"],
            "python -c 'import dagster'": lambda i: [python, "-c", "import dagster"],
            "materialize, native": lambda i: materialize("native_one.py", f"n{i}"),
            "materialize, Dagster": lambda i: materialize("dagster_one.py", f"d{i}"),
        }
        for make in commands.values():  # warm the page cache and write .pyc files
            measure(make("warm"), env, work)
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for i in range(args.repeat):
            for name, make in commands.items():
                runs[name].append(measure(make(i), env, work))

    def med(name: str, idx: int) -> float:
        return statistics.median(r[idx] for r in runs[name])

    load = os.getloadavg()[0]
    print(
        f"{args.repeat} runs each, alternating, fresh local storage per run; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs; medians"
    )
    print(f"{'command':<30}{'wall ms':>10}{'cpu ms':>10}{'peak RSS MiB':>15}")
    for name in commands:
        wall, cpu, rss = med(name, 0) * 1000, med(name, 1) * 1000, med(name, 2)
        print(f"{name:<30}{wall:>10.0f}{cpu:>10.0f}{rss:>15.1f}")
    native, dagster = "materialize, native", "materialize, Dagster"
    print(
        f"Dagster pod - native pod: {(med(dagster, 0) - med(native, 0)) * 1000:+.0f} ms wall, "
        f"{(med(dagster, 1) - med(native, 1)) * 1000:+.0f} ms CPU, "
        f"{med(dagster, 2) - med(native, 2):+.1f} MiB peak RSS"
    )


if __name__ == "__main__":
    main()
