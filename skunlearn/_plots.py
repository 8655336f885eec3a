"""``python -m skunlearn demo --plot DIR``: the tour's figures, as PNG files.

matplotlib is an optional dependency (``pip install "skunlearn[plot]"``). Figures are drawn on
:class:`matplotlib.figure.Figure` objects directly, without pyplot, so that no display, backend
or global state is involved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["MissingMatplotlib", "require_matplotlib", "write_figures"]

# 150 dpi: the 8-point labels stay sharp when a figure is viewed scaled down to a page's width.
_DPI = 150


class MissingMatplotlib(ImportError):
    """matplotlib is needed for ``--plot`` and is not installed."""


def require_matplotlib():
    """Return the ``Figure`` class, or raise :class:`MissingMatplotlib` with what to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingMatplotlib(
            "--plot needs matplotlib, an optional dependency of skunlearn, which is not "
            'installed. Install it with: python -m pip install "skunlearn[plot]" '
            "(or python -m pip install matplotlib)."
        ) from exc
    return Figure


def _draw(ax, panel: dict) -> None:
    """Draw one panel: ``kind`` "lines" (series over requests) or "bars" (grouped bars)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if panel["kind"] == "lines":
        for label, values in panel["series"].items():
            x = np.arange(1, len(values) + 1)
            ax.plot(x, values, marker="o", markersize=3, label=label)
        for label, value in panel.get("hlines", {}).items():
            ax.axhline(value, color="black", linestyle="--", label=label)
    else:
        categories = panel["categories"]
        series = panel["series"]
        width = 0.8 / len(series)
        x = np.arange(len(categories))
        for i, (label, values) in enumerate(series.items()):
            bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
            ax.bar_label(bars, fmt="%.4g", fontsize=8)
        ax.set_xticks(x, categories, rotation=15 if len(categories) > 2 else 0)
        if panel.get("ylabel") is None and len(series) == 1:
            ax.set_ylabel(next(iter(series)))
    if panel.get("log"):
        ax.set_yscale("log")
        # Plain numbers (0.5, 20, 300) read better than 5x10^-1 on these short ranges.
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        if panel["kind"] == "bars":
            # A log axis starts where the data start: leave room under the smallest bar.
            low = min(v for values in panel["series"].values() for v in values if v > 0)
            high = max(v for values in panel["series"].values() for v in values)
            ax.set_ylim(low / 3, high * 3)
        low, high = ax.get_ylim()
        # Label the minor ticks only when few decades leave too few major ones.
        ax.yaxis.set_minor_formatter(plain if high / low < 30 else NullFormatter())
        ax.tick_params(axis="y", which="minor", labelsize=7)
    if "ylim" in panel:
        ax.set_ylim(*panel["ylim"])
    ax.set_title(panel["title"], fontsize=10)
    ax.set_xlabel(panel.get("xlabel", ""))
    if panel.get("ylabel") is not None:
        ax.set_ylabel(panel["ylabel"])
    if len(panel["series"]) + len(panel.get("hlines", {})) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _summary_figure(Figure, results):
    labels, speedups, colors = [], [], []
    for result in results:
        for m in result.measurements:
            labels.append(f"{result.name}: {m.model}")
            speedups.append(m.speedup)
            colors.append("tab:green" if m.verified else "tab:red")
    fig = Figure(figsize=(8, 0.45 * len(labels) + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(labels))[::-1]
    ax.barh(y, speedups, color=colors)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("retrain time / unlearn time per request (green: verified)")
    ax.set_title("skunlearn demo: speedup over retraining from scratch")
    ax.grid(alpha=0.3, axis="x")
    return fig


def write_figures(results, directory: Path) -> list[Path]:
    """Write one PNG per stop that ran (``<stop>.png``) and, for several stops, ``summary.png``.

    Returns the paths written.
    """
    Figure = require_matplotlib()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        if not result.panels:
            continue
        fig = Figure(figsize=(5 * len(result.panels), 3.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(result.panels)))
        for ax, panel in zip(axes, result.panels):
            _draw(ax, panel)
        path = directory / f"{result.name}.png"
        fig.savefig(path, dpi=_DPI)
        written.append(path)
    if len(results) > 1 and any(r.measurements for r in results):
        path = directory / "summary.png"
        _summary_figure(Figure, results).savefig(path, dpi=_DPI)
        written.append(path)
    return written
