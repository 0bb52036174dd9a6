"""Storage throughput and latency: a local directory against S3 on loopback, side by side.

What the runner does per value (``ObjectStorage.put`` / ``get``, obstore underneath):
1,000 small values (1 KiB, one put and one get each: the latency of a record or a small
asset) and 10 large ones (100 MB each: the throughput of a big asset). S3 is a real
SeaweedFS (the dev plane's build, ``make k8s``) started here on 127.0.0.1 with its own
state in a temporary directory; the local store is a temporary directory on the same
disk. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/storage.py [--small 1000] [--large 10] [--large-mb 100]

Needs root (SeaweedFS runs in its own mount namespace, as in ``assetcron dev``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from assetcron._storage import ObjectStorage, open_storage


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_s3(state: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    from assetcron_dev.binaries import find_binaries
    from assetcron_dev.s3 import SeaweedFS

    binaries = find_binaries()
    if binaries is None:
        sys.exit("benchmarks/storage.py: no SeaweedFS build; run `make k8s` first")
    weed = SeaweedFS(state, "127.0.0.1", port=_free_port())
    settings = weed.prepare()
    log = (state / "seaweedfs.log").open("wb")
    proc = subprocess.Popen(
        weed.argv(binaries.weed, weed.pick_ports()), cwd=state, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120
    while not (weed.healthy() and weed.create_bucket()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit(f"SeaweedFS did not start; see {state / 'seaweedfs.log'}")
        time.sleep(0.5)
    return proc, settings.env()


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _measure(storage: ObjectStorage, small: int, large: int, large_mb: int) -> dict[str, str]:
    tiny = os.urandom(1024)
    puts = [_timed(lambda i=i: storage.put(f"bench/small/{i}.bin", tiny)) for i in range(small)]
    gets = [_timed(lambda i=i: storage.get(f"bench/small/{i}.bin")) for i in range(small)]
    big = os.urandom(large_mb * 2**20)
    big_puts = [_timed(lambda i=i: storage.put(f"bench/large/{i}.bin", big)) for i in range(large)]
    big_gets = [_timed(lambda i=i: storage.get(f"bench/large/{i}.bin")) for i in range(large)]

    def ms(values: list[float], q: float) -> str:
        return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:.2f} ms"

    mb = large * large_mb
    return {
        f"small put p50 ({small} x 1 KiB)": ms(puts, 50),
        "small put p99": ms(puts, 99),
        "small put max (first puts grow volumes)": f"{max(puts) * 1000:.0f} ms",
        "small put rate": f"{small / sum(puts):.0f} /s",
        f"small get p50 ({small} x 1 KiB)": ms(gets, 50),
        "small get p99": ms(gets, 99),
        "small get max": f"{max(gets) * 1000:.0f} ms",
        "small get rate": f"{small / sum(gets):.0f} /s",
        f"large put ({large} x {large_mb} MB)": f"{mb / sum(big_puts):.0f} MB/s",
        f"large get ({large} x {large_mb} MB)": f"{mb / sum(big_gets):.0f} MB/s",
    }


def main() -> None:
    """Run both stores and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10)
    parser.add_argument("--large-mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="assetcron-bench-") as tmp:
        root = Path(tmp)
        local = _measure(open_storage(str(root / "local")), args.small, args.large, args.large_mb)
        (root / "s3").mkdir()
        proc, env = _start_s3(root / "s3")
        try:
            os.environ.update(env)
            s3 = _measure(
                open_storage(f"s3://{env['ASSETCRON_S3_BUCKET']}/bench"),
                args.small,
                args.large,
                args.large_mb,
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    width = max(map(len, local))
    print(f"{'':<{width}}  {'local dir':>14}  {'S3 (SeaweedFS, loopback)':>26}")
    for name in local:
        print(f"{name:<{width}}  {local[name]:>14}  {s3[name]:>26}")


if __name__ == "__main__":
    main()
