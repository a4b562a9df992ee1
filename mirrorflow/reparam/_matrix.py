r"""Matrix factorizations $X = UV^\top$ and $X = UU^\top$ (also LoRA's $BA$)."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._types import PyTree, Scalar
from ..potentials import AbstractPotential
from ._base import AbstractReparam


class MatrixFactorization(AbstractReparam):
    r"""The factorization $X = UV^\top$, or $X = UU^\top$ when `symmetric`.

    Params `(U, V)` with $U\in\mathbb{R}^{m\times r}$, $V\in\mathbb{R}^{p\times r}$
    (any inner dimension $r$, the same for both), or `U` alone
    ($U\in\mathbb{R}^{m\times r}$, $X\in\mathbb{R}^{m\times m}$ positive
    semidefinite) when `symmetric=True`.

    **Coordinates.** `to_x` returns the weights in the library's vector
    coordinates, $x = \mathrm{vec}(X)$, the row-major flattening `X.reshape(-1)` of
    length $mp$: the same ordering as the design of `MatrixSensing`, whose rows are
    the flattened measurement matrices, so the flows, `integrate`'s `xs` and
    `predict` all work on $x\in\mathbb{R}^{mp}$. `to_matrix` returns $X$ itself.

    **LoRA.** A low-rank adapter $\Delta W = BA$ ($B\in\mathbb{R}^{m\times r}$,
    $A\in\mathbb{R}^{r\times p}$) is this object with $U = B$ and $V = A^\top$:
    pass params `(B, A.T)`; gradient flow on $(B, A)$ and on $(U, V)$ is the same
    flow, and $B^\top B - AA^\top$ is its conserved quantity.

    **Gradient flow.** On $F(U, V) = f(UV^\top)$ with $G = \nabla f(X)$,
    $\dot U = -GV$ and $\dot V = -G^\top U$, so
    $\frac{d}{dt}U^\top U = -U^\top GV - V^\top G^\top U = \frac{d}{dt}V^\top V$:
    the balance matrix $U^\top U - V^\top V$ is conserved for every loss (Arora et
    al. 2018; Du et al. 2018; for this model it is the complete set of
    conservation laws, Marcotte et al. 2023). For $X = UU^\top$,
    $\dot U = -(G + G^\top)U$ and $\frac{d}{dt}U^\top U = -2U^\top(G + G^\top)U$
    changes with the loss: `conserved` raises, as it does for `Square`.

    **Induced geometry.** In general the flow of $X$ is not the mirror flow of a
    separable potential (`induced_potential` raises). In the commuting case it is
    a diagonal flow on the spectrum. Derivation for $X = UU^\top$: let
    $A_i = Q\,\mathrm{diag}(a_i)Q^\top$ with one orthogonal $Q$ (the measurements
    commute) and $U_0 = Q\,\mathrm{diag}(u_0)Q^\top$ (e.g. $U_0 = \alpha I$). At
    $U = Q\,\mathrm{diag}(u)Q^\top$, $X = Q\,\mathrm{diag}(u\odot u)Q^\top$, the
    residuals are $r = a(u\odot u) - y$ ($a$ the $n\times m$ matrix of rows
    $a_i$), $G = s\sum_ir_iA_i = Q\,\mathrm{diag}(g)Q^\top$ with
    $g = sa^\top r = \nabla f_{\mathrm{diag}}(u\odot u)$ for the eigenvalue problem
    $f_{\mathrm{diag}}(\lambda) = \tfrac{s}{2}\|a\lambda - y\|^2$
    (`LinearRegression(a, y)`), and $\dot U = -(G + G^\top)U
    = Q\,\mathrm{diag}(-2g\odot u)Q^\top$ stays in the algebra
    $\{Q\,\mathrm{diag}(\cdot)Q^\top\}$. By uniqueness, $U_t$ stays there with
    $\dot u = -2u\odot\nabla f_{\mathrm{diag}}(u\odot u)$: gradient flow on
    $f_{\mathrm{diag}}(u\odot u)$, the `Square` reparameterization of the
    eigenvalues $\lambda = u\odot u$, i.e. the mirror flow
    $\dot\lambda = -4\lambda\odot\nabla f_{\mathrm{diag}}(\lambda)$ of
    `NegEntropy(coef=1/4)` started at $\lambda_0 = \alpha^2\mathbf{1}$. When it
    interpolates at a positive $\lambda$ its limit is the Bregman projection
    (Gunasekar et al. 2018, Thm 1)
    $$\lambda_\infty = \arg\min_{a\lambda = y,\ \lambda > 0}
    \sum_i\lambda_i\log\frac{\lambda_i}{\alpha^2} - \lambda_i,
    \qquad X_\infty = Q\,\mathrm{diag}(\lambda_\infty)Q^\top.$$
    Divided by $\log(1/\alpha^2)$ the objective tends to $\sum_i\lambda_i$ as
    $\alpha\to0$, so $\lambda_\infty$ tends to $\arg\min\{\mathbf{1}^\top\lambda :
    a\lambda = y, \lambda \ge 0\}$. That is the minimum-trace PSD interpolant
    (the minimum nuclear norm among PSD $X$): for any PSD $X$, $\mathrm{tr}\,X$ and
    $\langle A_i, X\rangle$ depend only on $\mathrm{diag}(Q^\top XQ) \ge 0$
    (Gunasekar et al. 2017, Thm 1). For $X = UV^\top$ with
    $A_i = P\,\mathrm{diag}(a_i)Q^\top$ (common singular bases),
    $U_0 = P\,\mathrm{diag}(u_0)$ and $V_0 = Q\,\mathrm{diag}(v_0)$, the same
    argument gives the `Hadamard` flow $\sigma = u\odot v$ on the singular values.
    `time_factor` refers to these two cases.

    The weight-decay penalty is the default L2, $\|U\|_F^2 + \|V\|_F^2$ (or
    $\|U\|_F^2$), whose minimum over factorizations of a fixed $X$ is
    $2\|X\|_*$ (resp. $\|X\|_*$ for PSD $X$; Srebro et al. 2005).

    Args:
        symmetric: factor $X = UU^\top$ (params `U`) instead of $X = UV^\top$
            (params `(U, V)`).

    References:
        Gunasekar et al., "Implicit regularization in matrix factorization",
        NeurIPS 2017. Arora, Cohen, Hazan, "On the optimization of deep networks:
        implicit acceleration by overparameterization", ICML 2018. Marcotte,
        Gribonval, Peyré, "Abide by the law and follow the flow: conservation
        laws for gradient flows", NeurIPS 2023.
    """

    symmetric: bool = eqx.field(default=False, static=True)

    def __check_init__(self):
        if not isinstance(self.symmetric, bool):
            raise ValueError(
                "MatrixFactorization: `symmetric` must be a bool, got "
                f"{self.symmetric!r}."
            )

    def factors(self, params: PyTree) -> tuple[Array, Array]:
        r"""The checked factors `(U, V)` of `params` (`(U, U)` when `symmetric`).

        Raises:
            ValueError: `params` is not a pair of 2-d arrays with the same number
                of columns (or, when `symmetric`, not one 2-d array).
        """
        if self.symmetric:
            if isinstance(params, tuple | list):
                raise ValueError(
                    "MatrixFactorization(symmetric=True): `params` is the single "
                    f"factor U (X = U U^T), got a {type(params).__name__} of "
                    f"{len(params)}; pass U alone, or use symmetric=False for "
                    "params (U, V)."
                )
            U = jnp.asarray(params)
            if U.ndim != 2:
                raise ValueError(
                    "MatrixFactorization(symmetric=True): `params` = U must be a "
                    f"2-d array of shape (m, r), got shape {U.shape}."
                )
            return U, U
        if not (isinstance(params, tuple | list) and len(params) == 2):
            raise ValueError(
                "MatrixFactorization: `params` must be a pair (U, V) of 2-d arrays "
                f"(X = U V^T), got {type(params).__name__}; for X = U U^T use "
                "MatrixFactorization(symmetric=True) and pass U alone."
            )
        U, V = jnp.asarray(params[0]), jnp.asarray(params[1])
        if U.ndim != 2 or V.ndim != 2:
            raise ValueError(
                "MatrixFactorization: `params` = (U, V) must be 2-d arrays of shapes "
                f"(m, r) and (p, r), got {U.shape} and {V.shape}; reshape a "
                "vector factor to a column (r = 1)."
            )
        if U.shape[1] != V.shape[1]:
            raise ValueError(
                "MatrixFactorization: `params` = (U, V) must have the same number "
                f"of columns r (the rank of the factorization), got U {U.shape} "
                f"and V {V.shape}; for LoRA's B A pass (B, A.T)."
            )
        return U, V

    def to_matrix(self, params: PyTree) -> Float[Array, "m p"]:
        r"""The matrix $X = UV^\top$ (or $UU^\top$), shape `(m, p)`."""
        U, V = self.factors(params)
        return U @ V.T

    def to_x(self, params: PyTree) -> Float[Array, " mp"]:
        r"""$x = \mathrm{vec}(X)$, the row-major flattening of $X$, length $mp$."""
        return self.to_matrix(params).reshape(-1)

    def conserved(self, params: PyTree) -> Float[Array, "r r"]:
        r"""The balance matrix $U^\top U - V^\top V$, shape `(r, r)`.

        Conserved by gradient flow on $f(UV^\top)$ for every loss $f$.

        Raises:
            ValueError: when `symmetric` ($X = UU^\top$ conserves nothing; the
                analogue of `Square` for $x = w\odot w$).
        """
        if self.symmetric:
            raise ValueError(
                "MatrixFactorization(symmetric=True) (X = U U^T) has no conserved "
                "quantity (d/dt U^T U = -2 U^T (G + G^T) U depends on the loss), "
                "like Square for x = w*w. Use symmetric=False, whose balance "
                "U^T U - V^T V is conserved."
            )
        U, V = self.factors(params)
        return U.T @ U - V.T @ V

    def penalty(self, params: PyTree) -> Scalar:
        r"""$\|U\|_F^2 + \|V\|_F^2$ (or $\|U\|_F^2$ when `symmetric`): plain L2."""
        U, V = self.factors(params)
        if self.symmetric:
            return jnp.sum(U**2)
        return jnp.sum(U**2) + jnp.sum(V**2)

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        """Not available: the induced geometry is not a separable potential.

        Raises:
            ValueError: always; see the class docstring for the commuting case,
                where the flow is a diagonal one on the eigen- or singular values.
        """
        raise ValueError(
            "MatrixFactorization.induced_potential: the flow of X = U V^T (or "
            "U U^T) is not the mirror flow of a separable potential in general. "
            "When all measurements and the initialization are diagonal in one "
            "(pair of) orthonormal basis (commuting measurements, e.g. U0 = alpha "
            "I), it is diagonal: use Square on the eigenvalues (X = U U^T) or "
            "Hadamard on the singular values (X = U V^T) of that basis."
        )

    @property
    def time_factor(self) -> float:
        r"""4 when `symmetric` (`Square`), 2 otherwise (`Hadamard`).

        Valid in the commuting case, where the eigen- or singular values follow
        those diagonal reparameterizations (see the class docstring).
        """
        return 4.0 if self.symmetric else 2.0
