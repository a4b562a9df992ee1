r"""`Prediction`: a limit point with the result it applied and its certificate.

Defined beside the referees so that `mirrorflow.references` imports nothing from
`mirrorflow.predictions` (which re-exports it): both return it.
"""

import equinox as eqx
import jax


class Prediction(eqx.Module):
    r"""Where a flow converges according to a theorem, with a certificate.

    Returned by `mirrorflow.predictions.predict`, `mirrorflow.predictions.ham_limit`
    and `mirrorflow.references.lasso`.

    Attributes:
        x: the predicted limit, shape `(d,)`.
        theorem: the result applied (paper and theorem, or "derived" with the
            derivation), e.g. "Bregman projection limit of mirror flow (Gunasekar et
            al. 2018, Thm 1)".
        certificate: the residual that certifies `x` (0 at the exact answer); what it
            measures is `certificate_name`.
        certificate_name: one of `"constraint residual ||Ax - b||_2"` (Bregman
            projections: the constraint $Ax = b$; stationarity holds by construction,
            $\nabla R(x) = z_0 + A^\top\nu$), `"gradient norm ||grad F(x)||_2"`
            (minimizers of a smooth convex $F$), `"KKT violation"` (the lasso: the
            largest violation of its subgradient optimality conditions).
        iterations: the solver's iterations (Newton steps over all continuation
            stages, or coordinate-descent sweeps; 0 for a closed form).
        nu: the dual multiplier of a projection, $\nabla R(x) = z_0 + A^\top\nu$,
            shape `(n,)`; `None` where the result has none.
    """

    x: jax.Array
    theorem: str = eqx.field(static=True)
    certificate: float = eqx.field(static=True)
    certificate_name: str = eqx.field(static=True)
    iterations: int = eqx.field(static=True)
    nu: jax.Array | None = None
