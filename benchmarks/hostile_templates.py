"""What hostile run-config templates cost: ``check_template`` (the operator's check) and
``render_run_config`` (the runner's render, bounded by ``RenderLimits``) per input.

Usage: ``.venv/bin/python benchmarks/hostile_templates.py``. Prints, per template, the
wall time of the check and of the render and the outcome (the error message). Figures
only; the unit tests assert the behaviour (tests/unit/test_templates.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from assetcron import TemplateError, check_template, render_run_config

TICK = datetime(2015, 6, 2, 6, tzinfo=UTC)

HOSTILE = {
    "nested loops printing": (
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    ),
    "nested loops silent": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    ),
    "macro recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "string repeat": "{{ 'a' * 10**9 }}",
    "power tower": "{{ 9**(9**9) }}",
    "folded power": "{{ 9**(9**7) }}",
    "folded repeat": "{{ 'a' * 2*10**8 }}",
    "folded filter": "{{ 'x'|center(1000000000) }}",
    "huge range": "{{ range(10**9) | list }}",
    "~ doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "% width": "{{ '%01000000000d' % 1 }}",
    "lipsum": "{{ lipsum(10**8) }}",
}


def outcome(fn: Callable[[], object]) -> tuple[float, str]:
    """Wall time of ``fn()`` in seconds and ``ok`` or the TemplateError message."""
    start = time.perf_counter()
    try:
        fn()
        text = "ok"
    except TemplateError as exc:
        text = str(exc)
    return time.perf_counter() - start, text


def main() -> None:
    """Print one block per hostile template."""
    for name, text in HOSTILE.items():
        template = {"ops": {"a": {"config": {"x": text}}}}
        check_s, check = outcome(lambda t=template: check_template(t))
        render_s, render = outcome(lambda t=template: render_run_config(t, scheduled_time=TICK))
        print(f"{name}\n  check  {check_s * 1000:8.1f} ms  {check}")
        print(f"  render {render_s * 1000:8.1f} ms  {render}")


if __name__ == "__main__":
    main()
