"""One look for every figure: sizes for a paper column, colors, log-axis helpers."""

import contextlib

import numpy as np


# Width of a two-column paper's full text width and of one column, in inches.
TEXT_WIDTH = 7.0
COLUMN_WIDTH = 3.4

COLORS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
)  # Okabe-Ito: distinguishable with color-vision deficiencies and in grey print

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,
}


@contextlib.contextmanager
def paper_style():
    """A matplotlib rc context for figures read at paper-column size."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def new_figure(
    nrows: int,
    ncols: int,
    *,
    width: float = TEXT_WIDTH,
    height=None,
    width_ratios=None,
):
    """A bare `Figure` (no pyplot, no global backend) with a grid of axes.

    Returns `(fig, axes)` with `axes` a 2-d array of shape `(nrows, ncols)`.
    """
    from matplotlib.figure import Figure

    height = 2.3 * nrows if height is None else height
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, width_ratios=width_ratios)
    return fig, axes


def positive(values, floor: float = 1e-17):
    """`values` with zeros (exact agreement) raised to `floor` for log axes."""
    return np.maximum(np.asarray(values, dtype=float), floor)
