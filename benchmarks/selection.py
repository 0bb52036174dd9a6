"""Selection speed: define + build + parse + resolve + plan on large random asset graphs,
assetcron against Dagster in the same run.

Goals: issue 3, for 100,000 assets the assetcron work takes well under a second and is
at least 10x faster than Dagster doing the same work; issue 15, the ``total`` line
(build plus all six selections) under 1 s at 100,000 assets, and ``--whole-process
20000`` (load + resolve, whole process) at least 50x faster than Dagster.

Usage::

    .venv/bin/python benchmarks/selection.py [--sizes 10000 100000]
        [--dagster-python /tmp/dagster-venv/bin/python] [--dagster-max-size 100000]
    .venv/bin/python benchmarks/selection.py --differential \
        --dagster-python /tmp/dagster-venv/bin/python [--seed N]
    .venv/bin/python benchmarks/selection.py --whole-process 20000 \
        --dagster-python .venv/bin/python [--repeat 3]

The second form checks semantics rather than speed: 1,200 random selection strings on
40 small random graphs, resolved by both, with every difference printed.

The third form times what a user waits for (issue 15): a generated code location of N
``@asset`` functions in one Python file, written once per side (the same source but for
the import line), loaded and resolved by each side's own command line in a fresh
process, ``assetcron asset list -f FILE --select SEL`` against ``dagster asset list -f
FILE --select SEL``, with ``SEL`` = ``key:a<N/2>+ or (+key:a<N-1> and group:g3)``. The
whole process counts: interpreter start, imports, defining every asset, building the
definitions, resolving, printing. Both files, and the assetcron package, are
byte-compiled first (a deployed code location and runner have their ``.pyc``; Dagster's
installed package has its own), and both sides must print the same keys. Prints the median
and the spread of ``--repeat`` runs, wall and CPU time (user + system of the child), and
the ratio of the medians.

The graph is random but seeded: every asset depends on about 3 earlier ones (two near
it, so chains are deep, one anywhere), with one- and two-part keys, 8 groups, and some
tags, owners and kinds. The same generator (this file, stdlib only) feeds both sides.
Dagster runs in a subprocess with the interpreter given by ``--dagster-python``
(dagster is never installed into the project's venv); without it, only assetcron is
measured. Both sides print per-step wall times; the Dagster side also returns, per
selection, the number of keys and a digest of them, which must equal ours (printed as
``same result``).

What is timed, per side:

- ``define``: creating the asset definitions. assetcron: one ``@asset`` per asset (what
  user code does). Dagster: one ``multi_asset`` over ``AssetSpec`` s with
  ``can_subset=True``; per-asset ``@asset`` costs about 2 ms each in dagster 1.13, which
  would take minutes at 100,000, so Dagster gets its fastest path here.
- ``build``: ``Definitions(assets=...)`` with its asset graph (assetcron builds the graph
  in the constructor; Dagster's ``Definitions(...).resolve_asset_graph()``).
- per selection: ``parse`` (string to tree), ``resolve`` (tree to keys) and ``plan``
  (keys in topological order: ``assetcron.plan(graph, keys)``; for Dagster the graph's
  ``toposorted_asset_keys`` filtered to the keys, the cheapest equivalent it offers).
  Dagster resolves every selection before planning any, because its first plan
  computes ``toposorted_asset_keys``, which takes minutes at 100,000 assets.
- ``total`` = build + every selection's parse + resolve + plan (``define`` apart).

Timings are wall time of one run, or with ``--clock cpu`` each process's CPU time,
which load from other processes on a shared machine distorts much less.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from machine import describe

GROUPS = 8
DEPS = 3


def generate(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` assets as plain data: ``key`` (list of parts), ``deps`` (indices of
    earlier assets), ``group``, ``tags``, ``owners``, ``kinds``."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        key = [f"layer{i % 5}", f"a{i}"] if i % 4 == 0 else [f"a{i}"]
        deps: set[int] = set()
        if i:
            for _ in range(DEPS - 1):
                deps.add(rnd.randrange(max(0, i - 50), i))
            deps.add(rnd.randrange(i))
        out.append(
            {
                "key": key,
                "deps": sorted(deps),
                "group": f"g{rnd.randrange(GROUPS)}",
                "tags": {"tier": "gold"} if i % 7 == 0 else ({"pii": ""} if i % 11 == 0 else {}),
                "owners": [f"team:{i % 3}"] if i % 5 == 0 else [],
                "kinds": ["sql"] if i % 6 == 0 else (["python"] if i % 6 == 1 else []),
            }
        )
    return out


def user_string(asset: dict[str, Any]) -> str:
    return "/".join(asset["key"])


def selections(assets: list[dict[str, Any]]) -> list[str]:
    """Complex selections valid in both assetcron and Dagster, over existing keys."""
    n = len(assets)

    def k(frac: float) -> str:
        return '"' + user_string(assets[int((n - 1) * frac)]) + '"'

    return [
        "*",
        f"+key:{k(0.9)} and not group:g3",
        f"2+key:{k(0.5)}+2 or key:{k(0.25)}+ or 3+key:{k(0.75)}",
        'sinks(group:g1 or tag:tier=gold) or roots(key:"layer1/*")',
        '(key:"layer2/*" or kind:sql) and not (owner:"team:0" or tag:pii)',
        f"roots(+key:{k(0.99)}) or sinks(key:{k(0.01)}+3) or (group:g2 and kind:python)",
    ]


def digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


#: The clock of every figure: wall time (``time.perf_counter``) or this process's CPU
#: time (``time.process_time``, which other processes' load on a shared machine
#: inflates far less). Set by ``--clock``.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = clock()
    result = fn()
    return result, clock() - start


def dagster_assets(dg: Any, data: list[dict[str, Any]], keys: list[Any] | None = None) -> Any:
    """One Dagster multi-asset over AssetSpecs for ``data`` (its fastest definition path)."""
    keys = keys or [dg.AssetKey(x["key"]) for x in data]
    specs = [
        dg.AssetSpec(
            key=keys[i],
            deps=[keys[j] for j in a["deps"]],
            group_name=a["group"],
            tags=a["tags"],
            owners=a["owners"],
            kinds=set(a["kinds"]) or None,
        )
        for i, a in enumerate(data)
    ]

    @dg.multi_asset(specs=specs, can_subset=True)
    def everything():  # type: ignore[no-untyped-def]  # dagster rejects "-> None" here
        return None

    return everything


# ------------------------------------------------------------------ assetcron
def run_assetcron(n: int, seed: int) -> dict[str, Any]:
    from assetcron import AssetGraph, AssetKey, AssetSelection, Definitions, asset, plan

    data = generate(n, seed)
    keys = [AssetKey(a["key"]) for a in data]

    def body() -> None:
        return None

    def define() -> list[Any]:
        return [
            asset(
                key=keys[i],
                deps=[keys[j] for j in a["deps"]],
                group_name=a["group"],
                tags=a["tags"],
                owners=a["owners"],
                kinds=a["kinds"],
            )(body)
            for i, a in enumerate(data)
        ]

    defs_list, t_define = timed(define)
    defs, t_build = timed(lambda: Definitions(assets=defs_list))
    # The graph alone (the selection engine's share of `build`), from the same nodes.
    nodes = defs.graph.nodes
    _, t_graph = timed(lambda: AssetGraph.build(nodes))
    graph = defs.graph
    rows, plans = [], []
    for text in selections(data):
        sel, t_parse = timed(partial(AssetSelection.from_string, text))
        found, t_resolve = timed(partial(sel.resolve, graph, allow_empty=True))
        order, t_plan = timed(partial(plan, graph, found, allow_empty=True))
        assert set(order) == found
        rows.append(
            {
                "selection": text,
                "count": len(found),
                "digest": digest([key.to_user_string() for key in found]),
                "parse": t_parse,
                "resolve": t_resolve,
            }
        )
        plans.append(t_plan)
    return {"define": t_define, "build": t_build, "graph": t_graph, "rows": rows, "plans": plans}


# ------------------------------------------------------------------ dagster
def run_dagster(n: int, seed: int) -> None:
    """Runs inside the Dagster interpreter (``--dagster-worker``); prints one JSON line
    per finished step, so that a run cut short by the time limit still reports. Every
    selection is resolved before any is planned: Dagster's first plan computes
    ``toposorted_asset_keys``, which takes minutes for large graphs."""
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg  # type: ignore[import-not-found]  # only in the scratch venv

    def emit(record: dict[str, Any]) -> None:
        print(json.dumps(record), flush=True)

    data = generate(n, seed)
    keys = [dg.AssetKey(a["key"]) for a in data]
    emit({"started": clock()})  # after imports: start-up is not Dagster's work

    assets_def, t_define = timed(lambda: dagster_assets(dg, data, keys))
    emit({"define": t_define})
    graph, t_build = timed(lambda: dg.Definitions(assets=[assets_def]).resolve_asset_graph())
    emit({"build": t_build})
    resolved = []
    for text in selections(data):
        sel, t_parse = timed(partial(dg.AssetSelection.from_string, text))
        found, t_resolve = timed(partial(sel.resolve, graph))
        resolved.append(found)
        emit(
            {
                "row": {
                    "selection": text,
                    "count": len(found),
                    "digest": digest([key.to_user_string() for key in found]),
                    "parse": t_parse,
                    "resolve": t_resolve,
                }
            }
        )
    for found in resolved:
        _, t_plan = timed(partial(filtered, graph.toposorted_asset_keys, found))
        emit({"plan": t_plan})


def filtered(order: Any, keep: Any) -> list[Any]:
    """``order`` restricted to ``keep`` (how a Dagster subset is planned)."""
    return [k for k in order if k in keep]


def dagster_subprocess(
    python: str, n: int, seed: int, timeout: float, clock_name: str
) -> dict[str, Any]:
    """Run :func:`run_dagster` with another interpreter for at most ``timeout`` seconds
    and collect the steps it finished; ``note`` says why it stopped early, if it did."""
    argv = [python, str(Path(__file__).resolve()), "--dagster-worker", str(n)]
    argv += ["--seed", str(seed), "--clock", clock_name]
    result: dict[str, Any] = {"rows": [], "plans": [], "note": ""}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            # The child's clock reading when it stopped: CPU time from its rusage, or
            # the system-wide monotonic clock that perf_counter reads on Linux.
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = code = 0
            cpu = usage.ru_utime + usage.ru_stime
            result["stopped"] = cpu if clock_name == "cpu" else time.perf_counter()
            result["note"] = f"stopped after {timeout:.0f} s"
        out.seek(0)
        for line in out:
            record = json.loads(line)
            if "row" in record:
                result["rows"].append(record["row"])
            elif "plan" in record:
                result["plans"].append(record["plan"])
            else:
                result.update(record)
        if code != 0:
            err.seek(0)
            lines = err.read().strip().splitlines()
            result["note"] = f"failed: {lines[-1] if lines else code}"
    return result


# ------------------------------------------------------------------ report
def total(side: dict[str, Any]) -> float:
    """build + every parse, resolve and plan that finished."""
    rows = side.get("rows", [])
    return float(
        side.get("build", 0.0)
        + sum(r["parse"] + r["resolve"] for r in rows)
        + sum(side.get("plans", []))
    )


def complete(side: dict[str, Any], rows: int) -> bool:
    return "build" in side and len(side["rows"]) == rows and len(side["plans"]) == rows


def ms(seconds: float | None) -> str:
    return "unfinished" if seconds is None else f"{seconds * 1000:.1f} ms"


def report(n: int, ours: dict[str, Any], other: dict[str, Any] | None) -> None:
    print(f"\n=== {n:,} assets (~{DEPS} deps each) ===")
    head = f"{'step':<26}{'assetcron':>13}"
    if other is not None:
        head += f"{'dagster':>13}{'ratio':>9}"
    print(head)

    def line(label: str, a: float, b: float | None) -> None:
        row = f"{label:<26}{ms(a):>13}"
        if other is not None:
            row += f"{ms(b):>13}"
            if b is not None:
                row += f"{b / a:>8.1f}x"
        print(row)

    o: dict[str, Any] = other or {"rows": [], "plans": []}
    line("define", ours["define"], o.get("define"))
    line("build (Definitions)", ours["build"], o.get("build"))
    print(f"{'  of which AssetGraph.build':<26}{ms(ours['graph']):>13}")
    for i, row in enumerate(ours["rows"]):
        t = o["rows"][i] if i < len(o["rows"]) else None
        line(
            f"sel {i + 1} parse+resolve",
            row["parse"] + row["resolve"],
            t["parse"] + t["resolve"] if t else None,
        )
        p = o["plans"][i] if i < len(o["plans"]) else None
        line(f"sel {i + 1} plan", ours["plans"][i], p)
    rows = len(ours["rows"])
    line("total", total(ours), total(o) if complete(o, rows) else None)
    print()
    for i, row in enumerate(ours["rows"]):
        same = ""
        if i < len(o["rows"]):
            t = o["rows"][i]
            same = (
                "  same keys as dagster"
                if (t["count"], t["digest"]) == (row["count"], row["digest"])
                else f"  DIFFERENT: dagster {t['count']} keys"
            )
        print(f"  {i + 1}. {row['selection'][:72]:<72} {row['count']:>7} keys{same}")
    verdict = "under" if total(ours) < 1.0 else "OVER"
    print(f"\n{describe()}")
    print(f"assetcron total {total(ours):.3f} s ({verdict} the 1 s goal)", end="")
    if other is not None and complete(o, rows):
        print(f"; dagster {total(o):.3f} s; ratio {total(o) / total(ours):.1f}x", end="")
    elif other is not None:
        # Everything Dagster spent after `define` counts towards its total.
        spent = total(o)
        if "stopped" in o and "started" in o:
            spent = max(spent, o["stopped"] - o["started"] - o.get("define", 0.0))
        print(
            f"; dagster {o['note'] or 'incomplete'}: its total is more than {spent:.1f} s, "
            f"a ratio above {spent / total(ours):.1f}x",
            end="",
        )
    print()


# ---------------------------------------------------------- whole process
def location_source(n: int, seed: int, flavour: str) -> str:
    """A code location of ``n`` ``@asset`` functions ``a0 .. a<n-1>`` as a user writes
    them (``flavour``: ``"assetcron"`` or ``"dagster"`` picks the import line only).

    Same random graph as :func:`generate` but one-part keys: every odd asset takes its
    first dependency as an annotated parameter (an input) and lists the others in
    ``deps``; the others list all of them in ``deps``; one asset in three has a
    docstring; groups, tags and kinds as in :func:`generate`. With ``from __future__
    import annotations``, as modern code is written (annotations are strings).
    """
    lines = [
        '"""Generated by benchmarks/selection.py --whole-process."""',
        "",
        "from __future__ import annotations",
        "",
        f"from {flavour} import Definitions, asset",
        "",
    ]
    for i, a in enumerate(generate(n, seed)):
        deps = [f"a{j}" for j in a["deps"]]
        params = ""
        if i % 2 and deps:
            params = f"{deps[0]}: int"
            deps = deps[1:]
        options = [f"group_name={a['group']!r}"]
        if deps:
            options.insert(0, f"deps={deps!r}")
        if a["tags"]:
            options.append(f"tags={a['tags']!r}")
        if a["kinds"]:
            options.append(f"kinds={set(a['kinds'])!r}")
        lines += ["", f"@asset({', '.join(options)})", f"def a{i}({params}) -> int:"]
        if i % 3 == 0:
            lines.append(f'    """Asset number {i}."""')
        lines += ["    return 1", ""]
    names = ", ".join(f"a{i}" for i in range(n))
    lines += ["", f"defs = Definitions(assets=[{names}])", ""]
    return "\n".join(lines)


def whole_process_selection(n: int) -> str:
    """The selection of issue 15's whole-process comparison."""
    return f"key:a{n // 2}+ or (+key:a{n - 1} and group:g3)"


def run_command(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall time and CPU time (user + system of the child) in seconds, and stdout, of
    one run of ``argv``; exits if the command fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[:3]} failed ({proc.returncode}): {err.read()[-2000:]}")
        return elapsed, usage.ru_utime + usage.ru_stime, out.read()


def whole_process(n: int, seed: int, dagster_python: str | None, repeat: int) -> None:
    """Time ``asset list --select`` on an ``n``-asset code location, whole process, for
    assetcron and (with ``dagster_python``) Dagster, ``repeat`` runs each, alternating."""
    import statistics

    select = whole_process_selection(n)
    sides = {"assetcron": [sys.executable, "-m", "assetcron.cli"]}
    if dagster_python:
        # Absolute (the commands run in a temporary directory), symlinks kept (a venv).
        dagster_python = str(Path.cwd() / dagster_python)
        sides["dagster"] = [str(Path(dagster_python).parent / "dagster")]
    with tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        outputs: dict[str, set[str]] = {}
        commands = {}
        for side, prefix in sides.items():
            # Not named after the package: the commands run in `tmp`, whose folder
            # "assetcron" would be imported as a namespace package ahead of the
            # installed one (an editable install's finder comes after sys.path's).
            folder = Path(tmp) / f"{side}_location"
            folder.mkdir()
            path = folder / f"location_{side}.py"
            path.write_text(location_source(n, seed, side))
            python = sys.executable if side == "assetcron" else str(dagster_python)
            subprocess.run([python, "-m", "py_compile", str(path)], check=True)
            commands[side] = [*prefix, "asset", "list", "-f", str(path), "--select", select]
        # Like the code location, the runner is byte-compiled where it is deployed (pip
        # install --compile in the image); a source checkout under
        # PYTHONDONTWRITEBYTECODE=1 would recompile it on every run.
        package = "import assetcron, os; print(os.path.dirname(assetcron.__file__))"
        where = subprocess.run(
            [sys.executable, "-c", package], capture_output=True, text=True, check=True
        ).stdout.strip()
        subprocess.run([sys.executable, "-m", "compileall", "-q", where], check=True)
        for _ in range(repeat):
            for side, argv in commands.items():
                wall, cpu, out = run_command(argv, Path(tmp))
                runs[side].append((wall, cpu))
                outputs.setdefault(side, set(out.split()))
    print(f"\n=== whole process: {n:,} @asset functions, asset list --select {select!r} ===")
    print(f"{repeat} runs per side, alternating")
    print(describe())
    medians: dict[str, tuple[float, float]] = {}
    for side, values in runs.items():
        walls, cpus = [v[0] for v in values], [v[1] for v in values]
        medians[side] = (statistics.median(walls), statistics.median(cpus))
        print(
            f"{side:<10} wall median {medians[side][0]:7.3f} s (min {min(walls):.3f}, max "
            f"{max(walls):.3f}); cpu median {medians[side][1]:7.3f} s (min {min(cpus):.3f}, "
            f"max {max(cpus):.3f}); {len(outputs[side])} keys"
        )
    if "dagster" in medians:
        same = outputs["dagster"] == outputs["assetcron"]
        wall = medians["dagster"][0] / medians["assetcron"][0]
        cpu = medians["dagster"][1] / medians["assetcron"][1]
        verdict = "meets" if min(wall, cpu) >= 50 else "MISSES"
        print(
            f"ratio dagster/assetcron: wall {wall:.1f}x, cpu {cpu:.1f}x "
            f"({verdict} the 50x goal); {'same keys' if same else 'DIFFERENT KEYS'}"
        )


# ------------------------------------------------------- differential check
def differential_cases(seed: int, graphs: int = 40, per_graph: int = 30) -> list[dict[str, Any]]:
    """Small random graphs (3-15 assets) with random selection strings: nested
    and/or/not, traversals with and without depths, sinks/roots, every attribute,
    wildcards, and legacy clauses (``*a``, ``++a+``). Every exact key exists, so both
    sides agree on when an error is due."""
    rnd = random.Random(seed)
    cases = []
    for _ in range(graphs):
        n = rnd.randint(3, 15)
        assets = [
            {
                "key": ["p", f"n{i}"] if i % 3 == 2 else [f"n{i}"],
                "deps": sorted(rnd.sample(range(i), min(i, rnd.randint(0, 3)))),
                "group": rnd.choice(["g1", "g2", "default"]),
                "tags": rnd.choice([{}, {"tier": ""}, {"tier": "gold"}, {"pii": "", "tier": "x"}]),
                "owners": rnd.choice([[], ["team:a"], ["x@example.com", "team:a"]]),
                "kinds": rnd.choice([[], ["sql"], ["python", "sql"]]),
            }
            for i in range(n)
        ]
        keys = [user_string(a) for a in assets]
        leaves = [
            "*",
            "key:n1*",
            'key:"p/*"',
            "key:*2",
            "key:zz*",
            "group:g1",
            "group:default",
            'group:"g*"',
            "tag:tier",
            "tag:tier=gold",
            "tag:pii",
            'owner:"team:a"',
            'owner:"x@example.com"',
            "kind:sql",
            "kind:<null>",
        ]

        def leaf(keys: list[str] = keys, leaves: list[str] = leaves) -> str:
            return f'key:"{rnd.choice(keys)}"' if rnd.random() < 0.4 else rnd.choice(leaves)

        def expr(depth: int) -> str:
            if depth == 0 or rnd.random() < 0.3:
                return leaf()
            a = expr(depth - 1)
            operand = f"({a})"
            choice = rnd.randrange(7)
            if choice == 0:
                return f"{a} and {expr(depth - 1)}"
            if choice == 1:
                return f"{a} or {expr(depth - 1)}"
            if choice == 2:
                return f"not {operand}"
            if choice == 3:
                return f"{rnd.choice(['', '1', '2'])}+{operand}{rnd.choice(['', '+', '+1'])}"
            if choice == 4:
                return f"{operand}+{rnd.choice(['', '2'])}"
            if choice == 5:
                return f"{rnd.choice(['sinks', 'roots'])}({a})"
            return operand

        texts = [expr(4) for _ in range(per_graph - 5)]
        texts += [
            rnd.choice(["", "+", "++", "*"]) + rnd.choice(keys) + rnd.choice(["", "+", "+++", "*"])
            for _ in range(5)
        ]
        cases.append({"assets": assets, "selections": texts})
    return cases


def differential_assetcron(cases: list[dict[str, Any]]) -> list[list[Any]]:
    from assetcron import AssetcronError, AssetGraph, AssetKey, AssetNode, parse_selection

    results = []
    for case in cases:
        data = case["assets"]
        keys = [AssetKey(a["key"]) for a in data]
        graph = AssetGraph.build(
            AssetNode(
                keys[i],
                tuple(keys[j] for j in a["deps"]),
                a["group"],
                a["tags"],
                tuple(a["owners"]),
                frozenset(a["kinds"]),
            )
            for i, a in enumerate(data)
        )
        row: list[Any] = []
        for text in case["selections"]:
            try:
                found = parse_selection(text).resolve(graph, allow_empty=True)
                row.append(sorted(k.to_user_string() for k in found))
            except AssetcronError:
                row.append("error")
        results.append(row)
    return results


def differential_dagster(cases: list[dict[str, Any]]) -> list[list[Any]]:
    """Runs inside the Dagster interpreter (``--dagster-differential``)."""
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg

    results = []
    for case in cases:
        data = case["assets"]
        graph = dg.Definitions(assets=[dagster_assets(dg, data)]).resolve_asset_graph()
        row: list[Any] = []
        for text in case["selections"]:
            try:
                found = dg.AssetSelection.from_string(text).resolve(graph)
                row.append(sorted(k.to_user_string() for k in found))
            except Exception:
                row.append("error")
        results.append(row)
    return results


def differential(python: str, seed: int) -> None:
    """Compare assetcron and Dagster on :func:`differential_cases`; print the summary
    and the first differences."""
    cases = differential_cases(seed)
    ours = differential_assetcron(cases)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.json"
        path.write_text(json.dumps(cases))
        proc = subprocess.run(
            [python, str(Path(__file__).resolve()), "--dagster-differential", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    theirs = json.loads(proc.stdout)
    total = differ = errors = 0
    for case, row_ours, row_theirs in zip(cases, ours, theirs, strict=True):
        for text, a, b in zip(case["selections"], row_ours, row_theirs, strict=True):
            total += 1
            errors += a == "error"
            if a != b:
                differ += 1
                if differ <= 10:
                    print(f"  DIFFERENT {text!r}: assetcron {a}, dagster {b}")
    print(
        f"differential check (seed {seed}): {total} selection strings on {len(cases)} "
        f"random graphs, {differ} differ from dagster ({errors} raise an error in assetcron)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or CPU time (fairer on a loaded machine)",
    )
    parser.add_argument("--dagster-python", help="interpreter with dagster installed")
    parser.add_argument(
        "--dagster-max-size", type=int, default=100_000, help="skip Dagster above this size"
    )
    parser.add_argument(
        "--dagster-timeout",
        type=float,
        default=600.0,
        help="seconds per size for the Dagster side; unfinished steps are reported as such",
    )
    parser.add_argument(
        "--differential",
        action="store_true",
        help="instead of timing, compare results with dagster on random small graphs",
    )
    parser.add_argument(
        "--whole-process",
        type=int,
        metavar="N",
        help="instead, time `asset list --select` on an N-asset code location, whole process",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (--whole-process)")
    parser.add_argument("--dagster-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dagster-differential", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global clock  # noqa: PLW0603 - one switch for every measurement in this script
    clock = CLOCKS[args.clock]
    if args.dagster_worker:
        run_dagster(args.dagster_worker, args.seed)
        return
    if args.dagster_differential:
        cases = json.loads(Path(args.dagster_differential).read_text())
        print(json.dumps(differential_dagster(cases)))
        return
    if args.differential:
        if not args.dagster_python:
            parser.error("--differential needs --dagster-python")
        differential(args.dagster_python, args.seed)
        return
    if args.whole_process:
        whole_process(args.whole_process, args.seed, args.dagster_python, args.repeat)
        return
    print(
        f"python {sys.version.split()[0]}; one run per size (seed {args.seed}); "
        f"{'wall time' if args.clock == 'wall' else 'CPU time of each process'}"
    )
    for n in args.sizes:
        ours = run_assetcron(n, args.seed)
        theirs = None
        if args.dagster_python and n <= args.dagster_max_size:
            theirs = dagster_subprocess(
                args.dagster_python, n, args.seed, args.dagster_timeout, args.clock
            )
        report(n, ours, theirs)


if __name__ == "__main__":
    main()
