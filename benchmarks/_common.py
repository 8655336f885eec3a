"""Shared plumbing of the benchmark scripts: timing as medians, peak memory, table, JSON.

Every figure a benchmark reports is a ratio of two measurements taken in the same run on the
same machine (the machine is shared and noisy), and every time is the median of repeats.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def median_seconds(func, repeats: int = 3, setup=None) -> float:
    """Median wall time of ``func()`` over ``repeats`` runs (``setup()`` before each, untimed)."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def peak_bytes(func) -> tuple[object, int]:
    """Run ``func()`` and return its result and the peak of Python-tracked allocations
    (NumPy's buffers included) during the call."""
    tracemalloc.start()
    try:
        result = func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes: runs in seconds")
    p.add_argument("--repeats", type=int, default=3, help="repeats per timing (median)")
    p.add_argument("--output", type=Path, default=None, help="JSON file for the results")
    return p


def report(name: str, rows: list[dict], columns: list[str], args, extra: dict | None = None):
    """Print ``rows`` as a table and write them with the run's context to JSON."""
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.rjust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).rjust(widths[c]) for c in columns))
    out = args.output or RESULTS / f"{name}{'_quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "quick": bool(args.quick),
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **(extra or {}),
        "rows": rows,
    }
    out.write_text(json.dumps(payload, indent=2, default=float))
    print(f"\nwritten: {out}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
