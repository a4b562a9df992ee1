"""The shared row types of the claims: a flow's limit against a prediction, two
paths against each other, and the error measure they use.

A paper declares what to compare (which flow, which prediction, which tolerance
and why); these build the `Check` rows, so every limit claim of every paper is
measured and displayed the same way.
"""

import numpy as np

from ._claim import Check


def max_err(a, b) -> float:
    """Max-norm error of `a` against `b`, relative to max(1, |b|_inf)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def limit_row(
    label: str,
    sol,
    predicted,
    tolerance: float = 1e-7,
    *,
    converged: bool | None = None,
) -> Check:
    """The row "the flow's limit equals the prediction".

    Compares the end point of `sol` with `predicted` (`max_err`). The flow must
    have converged: by default, stopped by the `stop_loss` event; pass `converged`
    for a stricter test (e.g. the whole dose applied, or the constraint residual
    below a bound). A run that did not converge counts as a failure (error = inf).
    """
    x, p = np.asarray(sol.x_final), np.asarray(predicted)
    ok = sol.result == "event" if converged is None else converged
    return Check(
        label,
        f"|x|_1={np.abs(p).sum():.6g}",
        f"|x|_1={np.abs(x).sum():.6g}, loss {float(sol.loss_final):.0e}",
        max_err(x, p) if ok else float("inf"),
        tolerance,
    )


def path_row(
    label: str, problem, reference, sol, tolerance: float = 1e-8, *, names=None
) -> Check:
    """The row "two paths agree", compared on the save times both reached.

    Both paths stop at convergence; they are compared index by index (the grids
    may differ by a time change). The row states the time span compared and the
    loss at its end, so a reader sees that the comparison covers the plateaus and
    jumps and ends at convergence.
    """
    n = min(len(reference.ts), len(sol.ts))
    predicted, measured = names or ("x_ref(t)", "x(t)")
    if n < 2:
        return Check(label, predicted, f"{n} common save times", float("inf"), 1)
    loss = float(problem.loss(reference.xs[n - 1]))
    return Check(
        f"{label}: {n} times in [{float(reference.ts[0]):.0e}, "
        f"{float(reference.ts[n - 1]):.3g}], loss there {loss:.0e}",
        predicted,
        measured,
        max_err(sol.xs[:n], reference.xs[:n]),
        tolerance,
    )
