"""What a benchmark's figures were measured on: the machine's load and its speed now.

The machines these benchmarks run on are shared virtual machines whose speed changes
from hour to hour: on the same 2-core kind, the arithmetic loop below has taken 0.27 s of
CPU on one day and 0.46 s on another, and every CPU figure moved with it. Memory can be
slow when arithmetic is not (a 100,000-asset graph build took 0.63-0.85 s on one day and
0.77-0.99 s on another with the loop at 0.25-0.32 s both days), so a second reference
chases pointers through a large dict the way graph code does. A figure is only
comparable with another next to this line. Benchmarks print :func:`describe` with their
results.
"""

from __future__ import annotations

import os
import random
import time

#: The reference workload: pure-Python integer arithmetic, no allocation to speak of.
REFERENCE = "sum(range(10**7))"


def reference_cpu_seconds(repeat: int = 3) -> float:
    """CPU seconds (this process's user + system time) of :data:`REFERENCE`, the best
    of ``repeat`` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        sum(range(10**7))
        best = min(best, time.process_time() - start)
    return best


def memory_reference_cpu_seconds(size: int = 10**6) -> float:
    """CPU seconds to look up ``size`` one-part tuple keys (fresh tuples, equal to the
    stored ones) in a dict of ``size`` entries, in random order: cache misses as in an
    asset graph's build. Seeded, so the same work on every machine."""
    keys = [(f"asset_{i}",) for i in range(size)]
    index = {key: i for i, key in enumerate(keys)}
    probes = [(name,) for (name,) in keys]
    random.Random(0).shuffle(probes)
    start = time.process_time()
    lookup = index.__getitem__
    for probe in probes:
        lookup(probe)
    return time.process_time() - start


def describe() -> str:
    """One line: the 1-minute load average, the CPU count and both references' CPU
    times (lower is a faster machine), e.g. ``machine: load average 0.4 on 2 CPUs;
    sum(range(10**7)) 0.45 s CPU; 10**6 shuffled dict look-ups 1.30 s CPU``."""
    load = os.getloadavg()[0]
    return (
        f"machine: load average {load:.1f} on {os.cpu_count()} CPUs; "
        f"{REFERENCE} {reference_cpu_seconds():.2f} s CPU; "
        f"10**6 shuffled dict look-ups {memory_reference_cpu_seconds():.2f} s CPU"
    )
