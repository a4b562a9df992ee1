r"""Closed-form graphon limits of pruning masks and the finite-width law of SAS.

Two limits of the Graphon Limit Hypothesis (Pham, Ta, Jacobs, Burkholz &
Tran-Thanh, NeurIPS 2025) that can be written down:

- **random pruning** (and magnitude pruning at an i.i.d. continuous
  initialization, whose kept set is a uniformly random subset of the given size)
  converges to the constant graphon $W \equiv p$. The SAS histogram (`sas`) of a
  finite mask is biased by the degree sorting; `sas_zeta`, `random_sas_bias` and
  `random_sas_rms` give that bias and the resulting error at width $n$;
- **rank-1 SNIP** (one sample, scores $|W_{ij}|\,r_i\,c_j$) converges to the
  factorized graphon $2\bar\Phi(\tau/(\sigma\,r(u)\,c(v)))$:
  `snip_rank1_threshold`, `snip_rank1_graphon`.

`block_average` turns a graphon function into the $K\times K$ histogram that SAS
estimates. The derivations are ours (the paper reports these limits from figures);
each docstring sketches its derivation and says what is approximated.
"""

import functools
import math
from collections.abc import Callable

import numpy as np
from jaxtyping import ArrayLike, Float
from scipy import optimize, special, stats


# --- validation ------------------------------------------------------------------


def _int(k, fn: str, name: str, low: int = 1) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < low:
        raise ValueError(f"{fn}: `{name}` must be an int >= {low}, got {k!r}.")
    return int(k)


def _fraction(p, fn: str) -> float:
    ok = isinstance(p, int | float | np.integer | np.floating) and not isinstance(
        p, bool
    )
    if not (ok and math.isfinite(float(p)) and 0.0 < float(p) < 1.0):
        raise ValueError(
            f"{fn}: `p` must be a float in (0, 1) (the kept fraction), got {p!r}."
        )
    return float(p)


def _positive(x, fn: str, name: str) -> float:
    ok = isinstance(x, int | float | np.integer | np.floating) and not isinstance(
        x, bool
    )
    if not (ok and math.isfinite(float(x)) and float(x) > 0.0):
        raise ValueError(f"{fn}: `{name}` must be a finite float > 0, got {x!r}.")
    return float(x)


def _width(n, K, fn: str) -> tuple[int, int]:
    K = _int(K, fn, "K")
    n = _int(n, fn, "n")
    if K > n:
        raise ValueError(f"{fn}: `K`={K} > width `n`={n}; pass K <= {n}.")
    return n, K


# --- random pruning: the SAS law ---------------------------------------------------


def sas_zeta(K: int) -> Float[np.ndarray, " K"]:
    r"""$\zeta_a$: the mean of a standard normal over its $a$-th $1/K$ quantile bin.

    Bins in **descending** order ($a = 0$ is the top bin, matching `sas`, whose
    first block holds the highest degrees):
    $$\zeta_a = K\int_{\Phi^{-1}(1-\frac{a+1}{K})}^{\Phi^{-1}(1-\frac aK)}
    z\varphi(z)\,dz = K\Big[\varphi\big(\Phi^{-1}(1-\tfrac{a+1}{K})\big) -
    \varphi\big(\Phi^{-1}(1-\tfrac aK)\big)\Big],$$
    using $z\varphi(z) = -\varphi'(z)$ and $\varphi(\pm\infty) = 0$. The $\zeta_a$
    sum to 0 and are antisymmetric, $\zeta_{K-1-a} = -\zeta_a$; their mean square is
    the between-bin variance of $\mathcal N(0, 1)$, below 1. For $K = 64$:
    $\zeta_0 = 2.5102$, $\frac1K\sum_a\zeta_a^2 = 0.99609$.

    Args:
        K: the number of bins, $\ge 1$.

    Returns:
        $(\zeta_0, \dots, \zeta_{K-1})$, float64, shape `(K,)`, decreasing.

    Raises:
        ValueError: `K` is not a positive int.
    """
    K = _int(K, "sas_zeta", "K")
    # Phi^{-1}(1 - q) = isf(q), accurate in the upper tail.
    z = stats.norm.isf(np.arange(K + 1) / K)
    phi = stats.norm.pdf(z)  # 0 at +-inf
    return K * (phi[1:] - phi[:-1])


def random_sas_bias(p: float, n: int, K: int) -> Float[np.ndarray, "K K"]:
    r"""The expected SAS histogram of a random mask: $p + \sqrt{p(1-p)/n}\,
    (\zeta_a + \zeta_b)$.

    **Derivation.** Let $M$ be $n\times n$ with i.i.d. Bernoulli($p$) entries
    (or a uniformly random subset of $pn^2$ entries). Row degrees are
    $d_i \approx np + \sqrt{np(1-p)}\,Z_i$ and column degrees
    $e_j \approx np + \sqrt{np(1-p)}\,Y_j$ with $Z, Y$ approximately i.i.d.
    $\mathcal N(0, 1)$ (CLT). By exchangeability within a row,
    $\mathbb E[M_{ij}\mid d_i] = d_i/n$; regressing on both margins (which share
    only the entry $M_{ij}$),
    $\mathbb E[M_{ij}\mid d_i, e_j] \approx p + (d_i - np)/n + (e_j - np)/n$.
    Sorting rows by degree puts in group $a$ the rows whose $Z_i$ fall in the
    $a$-th $1/K$ quantile bin of the sample, whose mean is approximately the
    population bin mean $\zeta_a$ (`sas_zeta`); the same holds for the columns.
    Averaging over block $(a, b)$:
    $$\mathbb E H_{ab} \approx p + \sqrt{\tfrac{p(1-p)}{n}}\,(\zeta_a + \zeta_b).$$

    **Approximations** (each a relative correction of order $n^{-1/2}$ to the
    $n^{-1/2}$ deviation, i.e. $O(1/n)$ in $H$): the normal law of the
    binomial degrees (their skewness $(1-2p)/\sqrt{np(1-p)}$ and discreteness),
    the mean of the sorted sample over a group instead of the population bin
    mean $\zeta_a$, the linear regression on both margins, and equal group
    sizes $n/K$ (`np.array_split` differs by at most one).

    Args:
        p: the kept fraction, in $(0, 1)$.
        n: the width (rows = columns = $n$), $n \ge K$.
        K: the number of SAS blocks per side.

    Returns:
        The $K\times K$ matrix $p + \sqrt{p(1-p)/n}(\zeta_a + \zeta_b)$.

    Raises:
        ValueError: `p` outside $(0, 1)$, or `n`, `K` not ints with
            $1 \le K \le n$.
    """
    fn = "random_sas_bias"
    p = _fraction(p, fn)
    n, K = _width(n, K, fn)
    zeta = sas_zeta(K)
    return p + math.sqrt(p * (1.0 - p) / n) * (zeta[:, None] + zeta[None, :])


def random_sas_rms(p: float, n: int, K: int) -> float:
    r"""The expected RMS error of SAS on a random mask:
    $\sqrt{p(1-p)}\sqrt{2\overline{\zeta^2}/n + K^2/n^2}$.

    **Derivation.** Write $H_{ab} - p = \beta_{ab} + \epsilon_{ab}$ with the
    sorting bias $\beta_{ab} = \sqrt{p(1-p)/n}\,(\zeta_a + \zeta_b)$
    (`random_sas_bias`) and the sampling noise $\epsilon_{ab}$ of a block mean
    over $(n/K)^2$ entries, each of variance $p(1-p)$:
    $\mathrm{Var}\,\epsilon_{ab} \approx p(1-p)K^2/n^2$. The bias is
    (approximately) deterministic and the noise has mean zero, so
    $$\mathbb E\,\frac{1}{K^2}\sum_{ab}(H_{ab} - p)^2 \approx
    \frac{p(1-p)}{n}\cdot\frac{1}{K^2}\sum_{ab}(\zeta_a + \zeta_b)^2
    + \frac{p(1-p)K^2}{n^2}
    = p(1-p)\Big(\frac{2\overline{\zeta^2}}{n} + \frac{K^2}{n^2}\Big),$$
    since $\frac1{K^2}\sum_{ab}(\zeta_a+\zeta_b)^2 = 2\overline{\zeta^2} +
    2\bar\zeta^2$ and $\bar\zeta = 0$. The first term (sorting bias) gives the
    rate $n^{-1/2}$; the second (sampling noise) dominates while
    $n < K^2/(2\overline{\zeta^2})$ ($\approx 2056$ for $K = 64$).

    **Approximations**: those of `random_sas_bias`; entries of a block treated
    as independent given the sorting (conditioning on the margins reduces the
    variance by a relative $O(K/n)$); $\mathbb E\,\mathrm{rms} \approx
    \sqrt{\mathbb E\,\mathrm{rms}^2}$ (the rms averages $K^2$ blocks, so its
    relative spread is small).

    Args:
        p: the kept fraction, in $(0, 1)$.
        n: the width, $n \ge K$.
        K: the number of SAS blocks per side.

    Returns:
        The predicted $\mathbb E\,\mathrm{rms}(H - p)$.

    Raises:
        ValueError: as `random_sas_bias`.
    """
    fn = "random_sas_rms"
    p = _fraction(p, fn)
    n, K = _width(n, K, fn)
    zeta2 = float(np.mean(sas_zeta(K) ** 2))
    return math.sqrt(p * (1.0 - p)) * math.sqrt(2.0 * zeta2 / n + K**2 / n**2)


# --- rank-1 SNIP -----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _tanh_sinh(h: float = 1.0 / 32.0, t_max: float = 3.25):
    r"""Nodes and weights of the double-exponential rule on $(0, 1)$.

    $u = \mathrm{expit}(\pi\sinh t)$, $du = \pi\cosh t\,u(1-u)\,dt$, trapezoidal
    in $t$: exponentially accurate for integrands analytic inside $(0, 1)$, even
    with (integrable) endpoint singularities such as $\Phi^{-1}(1 - u/2)$ at 0.
    """
    t = np.arange(-t_max, t_max + h / 2, h)
    z = np.pi * np.sinh(t)
    u = special.expit(z)
    w = h * np.pi * np.cosh(t) * special.expit(z) * special.expit(-z)
    return u, w


def _abs_normal_quantile(u: np.ndarray) -> np.ndarray:
    r"""Descending quantile of $|\mathcal N(0,1)|$: $r(u) = \Phi^{-1}(1 - u/2)$."""
    return stats.norm.isf(np.asarray(u, dtype=np.float64) / 2.0)


def _factor(q, u: np.ndarray, fn: str, name: str) -> np.ndarray:
    """A factor quantile function evaluated at the nodes, checked."""
    if q is None:
        return _abs_normal_quantile(u)
    if not callable(q):
        raise ValueError(
            f"{fn}: `{name}` must be a callable u -> r(u) (vectorized), got "
            f"{type(q).__name__}."
        )
    r = np.asarray(q(u), dtype=np.float64)
    if r.shape != u.shape or np.isnan(r).any() or (r < 0).any():
        raise ValueError(
            f"{fn}: `{name}` must map an array of u in (0, 1) to non-negative "
            f"factors of the same shape (got shape {r.shape}, NaN or negative "
            "values); pass the descending quantile function of the factor's law."
        )
    if (np.diff(r) > 1e-12 * np.maximum(1.0, np.abs(r[1:]))).any():
        raise ValueError(
            f"{fn}: `{name}` must be non-increasing (the *descending* quantile "
            "function, r(u) = F^{-1}(1 - u)), so that u = 0 is the highest-degree "
            "unit as in `sas`; pass lambda u: F_inv(1 - u)."
        )
    return r


def _kept_fraction(tau, sigma, r, c, w):
    """Quadrature of the double integral of 2 Phi-bar(tau / (sigma r c))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = tau / (sigma * np.outer(r, c))
    arg = np.where(np.isnan(arg), np.inf, arg)  # 0/0: a zero factor keeps nothing
    return float(w @ (2.0 * stats.norm.sf(arg)) @ w)


def snip_rank1_threshold(
    p: float,
    *,
    sigma: float = 1.0,
    r_quantile: Callable | None = None,
    c_quantile: Callable | None = None,
) -> float:
    r"""The score threshold $\tau$ of rank-1 SNIP at kept fraction $p$.

    One-sample SNIP on a linear layer scores $S_{ij} = |W_{ij}\,\partial_{W_{ij}}
    L| = |W_{ij}|\,r_i\,c_j$ with $r_i = |\delta_i|$ (back-propagated error) and
    $c_j = |h_j|$ (input activation), since $\partial L/\partial W_{ij} =
    \delta_ih_j$. With $W_{ij} \sim \mathcal N(0, \sigma^2)$ i.i.d. and the factors
    independent of $W$, keeping the top fraction $p$ of scores keeps
    $S_{ij} \ge t_n$, and $t_n$ converges to the $(1-p)$-quantile $\tau$ of the
    law of $|W|\,r\,c$:
    $$\int_0^1\!\!\int_0^1 2\bar\Phi\Big(\frac{\tau}{\sigma\,r(u)\,c(v)}\Big)\,
    du\,dv = p,$$
    with $r(u)$, $c(v)$ the **descending** quantile functions of the factors' laws
    (row $u = 0$ has the largest factor). Default: $r, c \sim |\mathcal N(0, 1)|$,
    $r(u) = \Phi^{-1}(1 - u/2)$; then $\tau = 0.75085$ for $p = 0.2$, $\sigma =
    1$ (and $\tau$ scales with $\sigma$).

    The double integral uses a double-exponential (tanh-sinh) rule with 209
    nodes per axis (the quantile functions may diverge at $u = 0$), and $\tau$ is
    found by Brent's method.

    Args:
        p: the kept fraction, in $(0, 1)$.
        sigma: the weights' standard deviation.
        r_quantile: descending quantile function of the row factors, a
            vectorized callable on $(0, 1)$ (default: $|\mathcal N(0,1)|$).
        c_quantile: the same for the column factors.

    Returns:
        $\tau > 0$.

    Raises:
        ValueError: `p` outside $(0, 1)$, `sigma` not positive, a quantile
            function that is not callable, negative, NaN or increasing, or no
            $\tau$ keeps the fraction $p$ (factors zero too often).
    """
    fn = "snip_rank1_threshold"
    p = _fraction(p, fn)
    sigma = _positive(sigma, fn, "sigma")
    u, w = _tanh_sinh()
    r = _factor(r_quantile, u, fn, "r_quantile")
    c = _factor(c_quantile, u, fn, "c_quantile")
    if _kept_fraction(0.0, sigma, r, c, w) <= p:
        raise ValueError(
            f"{fn}: even tau = 0 keeps at most the fraction p = {p} (the factors "
            "are zero too often); pass a larger density or other factor laws."
        )
    hi = sigma * max(1.0, float(np.max(r) * np.max(c)))
    while _kept_fraction(hi, sigma, r, c, w) > p:
        hi *= 2.0
    return float(
        optimize.brentq(
            lambda t: _kept_fraction(t, sigma, r, c, w) - p,
            0.0,
            hi,
            xtol=1e-15,
            rtol=4 * np.finfo(float).eps,
        )
    )


def snip_rank1_graphon(
    p: float,
    *,
    sigma: float = 1.0,
    r_quantile: Callable | None = None,
    c_quantile: Callable | None = None,
) -> Callable:
    r"""The factorized graphon of rank-1 SNIP masks, $W(u, v) =
    2\bar\Phi\big(\tau/(\sigma\,r(u)\,c(v))\big)$.

    **Derivation.** Output unit $i$ with factor $r_i = r(u)$ and input unit $j$
    with $c_j = c(v)$ keep their weight iff $|W_{ij}| \ge \tau/(r_ic_j)$ (in the
    limit, with $\tau$ from `snip_rank1_threshold`), which has probability
    $2\bar\Phi(\tau/(\sigma r(u)c(v)))$, independently over $(i, j)$ given the
    factors. A unit's degree increases with its factor, so SAS's degree sort
    recovers the factor order and the position $u$ (the rank of $r_i$ among the
    rows, divided by $n$) matches the descending quantile: the SAS histogram
    converges to `block_average` of this function. Rows and columns are
    exchangeable (i.i.d. factors), so at width $n$ the estimate also carries
    the $n^{-1/2}$ fluctuation of the empirical quantiles.

    Args:
        p: the kept fraction, in $(0, 1)$.
        sigma: the weights' standard deviation.
        r_quantile: as in `snip_rank1_threshold`.
        c_quantile: as in `snip_rank1_threshold`.

    Returns:
        A vectorized function `W(u, v)` (numpy broadcasting) on $[0, 1]^2$.

    Raises:
        ValueError: as `snip_rank1_threshold`.
    """
    tau = snip_rank1_threshold(
        p, sigma=sigma, r_quantile=r_quantile, c_quantile=c_quantile
    )
    sigma = float(sigma)
    rq = _abs_normal_quantile if r_quantile is None else r_quantile
    cq = _abs_normal_quantile if c_quantile is None else c_quantile

    def graphon(u: ArrayLike, v: ArrayLike) -> np.ndarray:
        """$2\\bar\\Phi(\\tau/(\\sigma r(u) c(v)))$ with numpy broadcasting."""
        ru = np.asarray(rq(np.asarray(u, dtype=np.float64)), dtype=np.float64)
        cv = np.asarray(cq(np.asarray(v, dtype=np.float64)), dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            arg = tau / (sigma * ru * cv)
        arg = np.where(np.isnan(arg), np.inf, arg)
        return 2.0 * stats.norm.sf(arg)

    return graphon


def block_average(
    fn: Callable, K: int, resolution: int = 4096
) -> Float[np.ndarray, "K K"]:
    r"""The $K\times K$ bin means of a function on $[0, 1]^2$ (midpoint rule).

    $$\bar W_{ab} = K^2\int_{a/K}^{(a+1)/K}\int_{b/K}^{(b+1)/K}W(u, v)\,dv\,du,$$
    the histogram that `sas` estimates for a graphon $W$ whose rows and columns
    are ordered by decreasing degree. Each bin gets $m = \max(1,
    \mathrm{round}(\text{resolution}/K))$ midpoints per axis (error $O(1/(Km)^2)$
    for smooth $W$); $W$ is evaluated on one block row, $m \times Km$ points, at a
    time.

    Args:
        fn: a vectorized function `fn(u, v)`: given `u` of shape `(m, 1)` and `v`
            of shape `(1, K m)` it returns shape `(m, K m)`.
        K: the number of bins per axis.
        resolution: about the number of quadrature points per axis.

    Returns:
        $\bar W$, float64, shape `(K, K)`.

    Raises:
        ValueError: `fn` is not callable, does not broadcast to the grid, or
            returns NaN; `K` or `resolution` not a positive int.
    """
    name = "block_average"
    if not callable(fn):
        raise ValueError(
            f"{name}: `fn` must be a callable fn(u, v), got {type(fn).__name__}."
        )
    K = _int(K, name, "K")
    resolution = _int(resolution, name, "resolution")
    m = max(1, round(resolution / K))
    offsets = (np.arange(m) + 0.5) / m
    x = ((np.arange(K)[:, None] + offsets[None, :]) / K).ravel()  # bin-major
    out = np.empty((K, K))
    for a in range(K):
        vals = np.asarray(fn(x[a * m : (a + 1) * m, None], x[None, :]), dtype=float)
        if vals.shape != (m, K * m):
            raise ValueError(
                f"{name}: `fn` must broadcast: fn(u[:, None], v[None, :]) should "
                f"have shape {(m, K * m)}, got {vals.shape}; write it with numpy "
                "operations."
            )
        if np.isnan(vals).any():
            raise ValueError(f"{name}: `fn` returned NaN on [0, 1]^2.")
        out[a] = vals.reshape(m, K, m).mean(axis=(0, 2))
    return out


__all__ = [
    "block_average",
    "random_sas_bias",
    "random_sas_rms",
    "sas_zeta",
    "snip_rank1_graphon",
    "snip_rank1_threshold",
]
