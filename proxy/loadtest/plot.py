"""--plot: latency distributions and outcome counts per strategy (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from proxy.loadtest.records import OPERATIONS
from proxy.loadtest.runner import StrategyRun

OUTCOMES = (
    ("told booked", "confirmed"),
    ("false conf.", "false_confirmations"),
    ("double", "double_bookings"),
    ("lost→caller", "lost_to_caller"),
    ("lost→outside", "lost_to_outside"),
    ("hard errors", "hard_errors"),
    ("no offer", "no_offer"),
)


def plot(runs: Sequence[StrategyRun], path: Path, title: str) -> None:
    """One PNG: a latency CDF per caller-visible operation, and grouped outcome bars."""
    import logging

    import matplotlib

    # Font-cache chatter at INFO would land in the middle of the report.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig = plt.figure(figsize=(13, 8))
    grid = fig.add_gridspec(2, len(OPERATIONS))
    for col, op in enumerate(OPERATIONS):
        ax = fig.add_subplot(grid[0, col])
        for run in runs:
            values = sorted(o.timings_ms[op] for o in run.outcomes if op in o.timings_ms)
            if values:
                ys = [(i + 1) / len(values) for i in range(len(values))]
                ax.step(values, ys, where="post", label=f"{run.name} (n={len(values)})")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{op} latency, ms (log)")
        ax.set_ylabel("fraction of callers")
        ax.set_title(f"caller-visible '{op}'")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    ax = fig.add_subplot(grid[1, :])
    width = 0.8 / max(1, len(runs))
    xs = range(len(OUTCOMES))
    for i, run in enumerate(runs):
        counts = [int(getattr(run.figures, attr)) for _, attr in OUTCOMES]
        bars = ax.bar([x + i * width for x in xs], counts, width, label=run.name)
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks([x + width * (len(runs) - 1) / 2 for x in xs], [label for label, _ in OUTCOMES])
    ax.set_ylabel("callers / bookings")
    ax.set_title("outcomes from the simulator's ground truth")
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
