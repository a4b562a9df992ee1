"""The Graphon NTK and the NTKs of masked ReLU MLPs against independent references.

Oracles: one-dimensional `scipy.integrate.quad` integrals for the
arc-cosine expectations; the closed-form dense NTK (normalized correlations, a
separate derivation from the quadrature's covariance propagation) for graphons
$\\equiv 1$; exact scalings derived by hand (constant graphons, hidden-only
graphons); the full parameter Jacobian `J J^T` (`jax.vmap(jax.jacrev)`) for the
factorized empirical NTK; a numpy transcription of the forward pass; binomial
counts for sampled masks; Monte-Carlo bounds for finite widths.

Paper: Pham, Ta, Jacobs, Burkholz, Tran-Thanh, "The Graphon Limit Hypothesis:
Understanding Neural Network Pruning via Infinite Width Analysis", NeurIPS 2025.
"""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy import integrate, stats

from mirrorflow.graphon._ntk import (
    MLPGraphon,
    apply,
    dense_relu_ntk,
    dense_relu_ntk_terms,
    empirical_ntk,
    graphon_ntk,
    init_params,
    jacobian_ntk,
    relu_expectations,
    sample_masks,
)


def rel_fro(a, b) -> float:
    """||a - b||_F / ||b||_F."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def rel_max(a, b) -> float:
    """max |a - b| / max |b|."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def inputs(P, d, seed=0):
    return jnp.asarray(np.random.default_rng(seed).standard_normal((P, d)))


def factorized(u, v):
    """The factorized graphon 0.3 (1.5 - u)(1.5 - v) (values in [0.075, 0.675])."""
    return 0.3 * (1.5 - u) * (1.5 - v)


# ---------------------------------------------------------------- arc-cosine


def _quad_expectations(s, s2, c):
    """E[relu z relu z'] and P(z > 0, z' > 0) by conditioning on z (scipy quad).

    z ~ N(0, s); z' | z ~ N(m, v), m = c z / s, v = s2 - c^2 / s; and
    E[relu(Y)] = m Phi(m / sqrt v) + sqrt(v) phi(m / sqrt v) for Y ~ N(m, v).
    """
    sd, v = math.sqrt(s), max(s2 - c * c / s, 0.0)
    sv = math.sqrt(v)

    def cond_relu(z):
        m = c * z / s
        return m * stats.norm.cdf(m / sv) + sv * stats.norm.pdf(m / sv)

    def cond_pos(z):
        return stats.norm.cdf(c * z / s / sv)

    dens = stats.norm(0.0, sd).pdf
    kw = {"epsabs": 1e-14, "epsrel": 1e-13, "limit": 200}
    sigma = integrate.quad(lambda z: z * cond_relu(z) * dens(z), 0, np.inf, **kw)[0]
    dot = integrate.quad(lambda z: cond_pos(z) * dens(z), 0, np.inf, **kw)[0]
    return sigma, dot


def test_relu_expectations_match_quadrature():
    rng = np.random.default_rng(3)
    s = rng.uniform(0.2, 3.0, 6)
    s2 = rng.uniform(0.2, 3.0, 6)
    rho = np.array([-0.95, -0.4, 0.0, 0.3, 0.8, 0.99])
    c = rho * np.sqrt(s * s2)
    sigma, dot = relu_expectations(jnp.asarray(s), jnp.asarray(s2), jnp.asarray(c))
    ref = np.array([_quad_expectations(*t) for t in zip(s, s2, c, strict=True)])
    # quad's tolerances (1e-13 relative) times a safety factor of 100
    np.testing.assert_allclose(np.asarray(sigma), ref[:, 0], rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(np.asarray(dot), ref[:, 1], rtol=1e-11, atol=1e-13)


def test_relu_expectations_at_the_boundary_are_exact_and_finite():
    s = jnp.asarray([2.0, 2.0, 0.0, 1.5, 0.0, 1.0, 1.0])
    s2 = jnp.asarray([2.0, 2.0, 1.0, 0.0, 0.0, 4.0, 4.0])
    # c = s; c = -s; zero variances; |c| above sqrt(s s2) by round-off
    c = jnp.asarray([2.0, -2.0, 0.0, 0.0, 0.0, 2.0 * (1 + 1e-15), -2.0 * (1 + 1e-15)])
    sigma, dot = relu_expectations(s, s2, c)
    assert bool(jnp.all(jnp.isfinite(sigma)) and jnp.all(jnp.isfinite(dot)))
    # rho = 1: E[relu(z)^2] = s/2 and P(z > 0) = 1/2, exactly (no round-off)
    assert float(sigma[0]) == 1.0 and float(dot[0]) == 0.5
    # rho = -1: z' = -z, so relu(z) relu(z') = 0 and the signs never agree
    assert abs(float(sigma[1])) < 1e-15 and abs(float(dot[1])) < 1e-15
    # zero variance: the pre-activation is exactly 0 (relu'(0) = 0 convention)
    assert np.all(np.asarray(sigma[2:5]) == 0.0) and np.all(np.asarray(dot[2:5]) == 0)
    # clipped cosine: the values at rho = +-1 of the scale sqrt(1 * 4) = 2
    np.testing.assert_allclose(np.asarray(sigma[5:]), [1.0, 0.0], atol=1e-14)
    np.testing.assert_allclose(np.asarray(dot[5:]), [0.5, 0.0], atol=1e-14)


# ---------------------------------------------------------------- dense limit


@pytest.mark.parametrize("with_x2", [False, True])
def test_graphons_of_ones_give_the_dense_ntk(with_x2):
    # Oracle: the closed form of Arora et al. (normalized correlations), written
    # separately from the quadrature; both exact, so round-off only (1e-12).
    L, d = 3, 5
    X = inputs(9, d, seed=1)
    X2 = inputs(4, d, seed=2) if with_x2 else None
    dense = dense_relu_ntk_terms(X, X2, depth=L)
    arrays = MLPGraphon.constant(1.0, L, d, 8)  # every matrix an array of ones
    nones = MLPGraphon(None, [np.ones((3, 3))] * (L - 1), None)  # dense in/out
    for g in (arrays, nones):
        terms = graphon_ntk(g, X, X2, per_layer=True, block_size=4)  # padded blocks
        assert terms.shape == (L + 1, 9, 4 if with_x2 else 9)
        assert rel_max(terms, dense) < 1e-12
        theta = graphon_ntk(g, X, X2, block_size=4)
        assert rel_max(theta, dense_relu_ntk(X, X2, depth=L)) < 1e-12
    assert rel_max(jnp.sum(dense, axis=0), dense_relu_ntk(X, X2, depth=L)) < 1e-14


def test_dense_ntk_is_the_wide_network_limit():
    # Oracle: the Jacobian NTK of one wide random network. Its fluctuation: Hanin &
    # Nica (ICLR 2020, Thm. 1) give E[K^2]/E[K]^2 = exp(5 L/n)(1 + o(1)) for deep
    # bias-free ReLU nets, i.e. a relative std of sqrt(5 L/n); tolerance 3 std,
    # C/sqrt(n) with C = 3 sqrt(5 L) (= 11.6 for L = 3).
    L, d, n = 3, 8, 1024
    X = inputs(5, d, seed=4)
    params = init_params(jr.PRNGKey(5), d, n, L)
    err = rel_fro(jacobian_ntk(params, None, X), dense_relu_ntk(X, depth=L))
    assert err < 3 * math.sqrt(5 * L / n), err


# ---------------------------------------------------------------- empirical NTK


@pytest.fixture(scope="module")
def small_masked_net():
    """Width 40 (not a multiple of K = 8), every matrix masked from a graphon."""
    L, d, n = 3, 6, 40
    g = MLPGraphon.from_functions(
        L,
        d,
        8,
        factorized,
        input_fn=lambda u, v: 0.2 + 0.7 * u * v,
        readout_fn=lambda u: 0.9 - 0.5 * u,
    )
    params = init_params(jr.PRNGKey(7), d, n, L)
    masks = sample_masks(g, n, jr.PRNGKey(8))
    return params, masks, inputs(11, d, seed=9), inputs(7, d, seed=10)


@pytest.mark.parametrize("block_size", [3, 32])
def test_empirical_ntk_equals_the_jacobian_contraction(small_masked_net, block_size):
    # Exact identity (the per-layer factorization of J J^T): round-off only.
    params, masks, X, X2 = small_masked_net
    for x2 in (None, X2):
        ours = empirical_ntk(params, masks, X, x2, block_size=block_size)
        ref = jacobian_ntk(params, masks, X, x2)
        assert ours.shape == ref.shape
        assert rel_max(ours, ref) < 1e-10
    sym = empirical_ntk(params, masks, X, block_size=block_size)
    assert float(jnp.max(jnp.abs(sym - sym.T))) == 0.0  # assembled symmetric


def test_empirical_ntk_dense_layers(small_masked_net):
    # None entries, masks=None and all-True masks take the dense path; same kernel
    # as the Jacobian with the same masks (1e-10, round-off).
    params, masks, X, _ = small_masked_net
    ones = [jnp.ones(p.shape, bool) for p in params]
    dense = jacobian_ntk(params, ones, X)
    assert rel_max(empirical_ntk(params, None, X), dense) < 1e-10
    assert rel_max(empirical_ntk(params, ones, X), dense) < 1e-10
    mixed = [None, masks[1], None, masks[3]]
    ref = jacobian_ntk(params, [ones[0], masks[1], ones[2], masks[3]], X)
    assert rel_max(empirical_ntk(params, mixed, X), ref) < 1e-10


def test_masked_weights_get_no_gradient(small_masked_net):
    # The Jacobian of a masked weight is 0, so masking changes the kernel: with
    # the masks dropped the NTK differs by far more than round-off.
    params, masks, X, _ = small_masked_net
    assert rel_max(jacobian_ntk(params, None, X), jacobian_ntk(params, masks, X)) > 0.1


def test_apply_matches_a_numpy_forward_pass(small_masked_net):
    params, masks, X, _ = small_masked_net
    h = np.asarray(X)
    ws = [np.asarray(p) * np.asarray(m) for p, m in zip(params, masks, strict=True)]
    for w in ws[:-1]:
        h = np.maximum(h @ w.T / np.sqrt(w.shape[1]), 0.0)
    ref = h @ ws[-1] / np.sqrt(ws[-1].shape[0])
    np.testing.assert_allclose(np.asarray(apply(params, masks, X)), ref, rtol=1e-12)
    shapes = [p.shape for p in params]
    assert shapes == [(40, 6), (40, 40), (40, 40), (40,)]
    assert all(p.dtype == jnp.float64 for p in params)


# ---------------------------------------------------------------- graphon claims


def test_graphon6_constant_graphon_scales_the_dense_ntk():
    # graphon.6: with ReLU and no bias every covariance is homogeneous of degree 1
    # and Sigma_dot scale-free, so each masked matrix multiplies Theta by c:
    # c^(L+1) (all masked), c^L (dense readout), c^(L-1) (dense input and readout).
    L, d, c = 3, 256, 0.4
    X = inputs(6, d, seed=2)
    dense = np.asarray(dense_relu_ntk(X, depth=L))
    for kw, power in [
        ({}, L + 1),
        ({"mask_readout": False}, L),
        ({"mask_input": False, "mask_readout": False}, L - 1),
    ]:
        theta = np.asarray(graphon_ntk(MLPGraphon.constant(c, L, d, 64, **kw), X))
        # exact identity: round-off only
        np.testing.assert_allclose(theta / dense, c**power, rtol=1e-10)


def _gammas(hidden, readout):
    """The layer weights gamma_0..gamma_L of graphon.10, in numpy (dense input).

    a_1 = 1, a_l = W_l a_{l-1} / K, so Sigma^(l)(u) = a_l(u) Sigma^(l)_dense;
    b_L = W_out 1[a_L > 0], b_l = 1[a_l > 0] W_{l+1}^T b_{l+1} / K, so
    B^(l)(u) = b_l(u) prod_k Sigma_dot^(k)_dense; gamma_0 = mean(W_out a_L) and
    gamma_l = mean(b_l a_l). Since b_l^T a_l = b_{l+1}^T W_{l+1} a_l / K =
    b_{l+1}^T a_{l+1} (the indicator only removes entries where a_l = 0), all
    gamma_l are equal to the mean path density gamma_0.
    """
    K = hidden[0].shape[0]
    a = [np.ones(K)]
    for w in hidden:
        a.append(w @ a[-1] / K)
    b = [readout * (a[-1] > 0)]
    for w, al in zip(hidden[::-1], a[-2::-1], strict=True):
        b.insert(0, (al > 0) * (w.T @ b[0]) / K)
    layers = [np.mean(x * y) for x, y in zip(b, a, strict=True)]
    return np.array([np.mean(readout * a[-1])] + layers)


def test_graphon10_hidden_only_graphons_reweight_the_dense_layers():
    # graphon.10: with a dense input layer every Sigma^(l)(u) is a_l(u) times the
    # dense one and Sigma_dot is scale-free, so Theta = sum_l gamma_l T_l^dense;
    # the gammas (`_gammas`) are moreover all equal: Theta = gamma Theta_dense.
    L, d, K = 3, 12, 32
    X = inputs(10, d, seed=11)
    u = (np.arange(K) + 0.5) / K
    rng = np.random.default_rng(16)
    dense = np.asarray(dense_relu_ntk_terms(X, depth=L)).reshape(L + 1, -1).T
    cases = [
        ([np.full((K, K), 0.3), factorized(u[:, None], u[None, :])], None),
        ([np.full((K, K), 0.3), factorized(u[:, None], u[None, :])], 0.9 - 0.5 * u),
        # a random graphon, and a block one with fully pruned rows and columns
        # (SynFlow-like), with a random readout
        (
            [rng.uniform(size=(K, K)), 0.9 * (u[:, None] < 0.5) * (u[None, :] < 0.7)],
            rng.uniform(size=K),
        ),
    ]
    for hidden, out in cases:
        theta = np.asarray(graphon_ntk(MLPGraphon(None, hidden, out), X)).ravel()
        coef, *_ = np.linalg.lstsq(dense, theta, rcond=None)
        # an exact identity: the least-squares residual is round-off
        assert np.linalg.norm(dense @ coef - theta) / np.linalg.norm(theta) < 1e-10
        # the coefficients are the derived ones (round-off over the fit's
        # conditioning), and all equal
        gam = _gammas(hidden, np.ones(K) if out is None else out)
        np.testing.assert_allclose(coef, gam, rtol=1e-8)
        np.testing.assert_allclose(gam, gam[0], rtol=1e-12)
        assert rel_max(dense @ gam, theta) < 1e-12
    # The claim can fail: a non-uniform input graphon is not a re-weighting.
    hidden = cases[0][0]
    g = MLPGraphon(0.2 + 0.8 * (u[:, None] > 0.5) * (np.arange(d) < 6), hidden, None)
    theta = np.asarray(graphon_ntk(g, X)).ravel()
    coef, *_ = np.linalg.lstsq(dense, theta, rcond=None)
    assert np.linalg.norm(dense @ coef - theta) / np.linalg.norm(theta) > 1e-3


# graphon.7: hidden layers masked by Bernoulli(0.3 (1.5 - u)(1.5 - v)), dense input
# and readout, L = 3, d = 16, P = 6, K = 64. Measured relative Frobenius errors of
# single networks at n = 512: 0.082 .. 0.279 (the 8 seeds below, mean 0.159 =
# 3.6/sqrt(n); 5 of 8 above 3/sqrt(n) = 0.133); other seeds and inputs gave means
# 0.146 to 0.156; at n = 2048 (10 seeds) mean 0.084 = 3.8/sqrt(n). The claim's
# per-network bound 3/sqrt(n) is therefore about the typical error, not a bound;
# what converges reliably is the mean kernel (8-seed average: 0.031).
G7_N, G7_SEEDS = 512, 8


def _graphon7_kernels(n, seeds):
    L, d, K = 3, 16, 64
    X = inputs(6, d, seed=12)
    g = MLPGraphon.from_functions(L, d, K, factorized)
    theta = graphon_ntk(g, X)
    out = []
    for seed in range(seeds):
        k1, k2 = jr.split(jr.PRNGKey(100 + seed))
        params = init_params(k1, d, n, L)
        out.append(np.asarray(empirical_ntk(params, sample_masks(g, n, k2), X)))
    return np.array(out), np.asarray(theta)


@pytest.fixture(scope="module")
def graphon7_kernels():
    return _graphon7_kernels(G7_N, G7_SEEDS)


def test_graphon7_mean_finite_kernel_approaches_the_graphon_ntk(graphon7_kernels):
    # The fluctuations are zero-mean: averaging S networks divides them by sqrt(S)
    # (the bias is O(1/n)); the claim's 3/sqrt(n) applies to the 8-seed mean with
    # a margin of about 4 (measured 0.031 against 0.133).
    kernels, theta = graphon7_kernels
    assert rel_fro(kernels.mean(axis=0), theta) < 3 / math.sqrt(G7_N)


@pytest.mark.xfail(
    strict=True,
    reason="graphon.7's per-network bound 3/sqrt(n) does not hold for every "
    "network at n = 512 (5 of 8 above it, up to 0.28; see the comment above)",
)
def test_graphon7_every_network_within_3_over_sqrt_n(graphon7_kernels):
    kernels, theta = graphon7_kernels
    errs = [rel_fro(k, theta) for k in kernels]
    assert max(errs) <= 3 / math.sqrt(G7_N), errs


@pytest.mark.slow
def test_graphon7_error_decays_like_one_over_sqrt_n():
    # Rate: the mean single-network error at n = 512 over n = 2048 should be
    # 2 (n^(-1/2)); accept 1.5 .. 2.7 (slope -0.5 +- 0.2 with 8 seeds).
    small, theta = _graphon7_kernels(512, 8)
    big, _ = _graphon7_kernels(2048, 8)
    e_small = np.mean([rel_fro(k, theta) for k in small])
    e_big = np.mean([rel_fro(k, theta) for k in big])
    assert 1.5 < e_small / e_big < 2.7, (e_small, e_big)


# ---------------------------------------------------------------- masks, graphons


def test_sample_masks_bins_and_densities():
    # Bin rule by hand: n = 10, K = 4, u_i = (i + 1/2)/10 -> floor(4 u_i) =
    # 0 0 1 1 1 2 2 3 3 3; a 0/1 readout graphon makes the mask deterministic.
    g = MLPGraphon(None, [np.ones((4, 4))], np.array([0.0, 1.0, 0.0, 1.0]), dim=3)
    m = sample_masks(g, 10, jr.PRNGKey(0))
    assert [x.shape for x in m] == [(10, 3), (10, 10), (10,)]
    assert all(x.dtype == jnp.bool_ for x in m)
    want = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 1], bool)
    assert np.array_equal(np.asarray(m[2]), want)
    assert bool(jnp.all(m[0])) and bool(jnp.all(m[1]))  # dense parts
    # Frequencies: each (bin, bin) block of a 256-wide layer with K = 8 holds
    # 32 x 32 Bernoulli(W) draws; within 5 binomial standard deviations.
    K, n, d = 8, 256, 16
    g = MLPGraphon.from_functions(
        2, d, K, factorized, input_fn=lambda u, v: u * v, readout_fn=lambda u: u
    )
    m = sample_masks(g, n, jr.PRNGKey(1))
    blocks = np.asarray(m[1], float).reshape(K, n // K, K, n // K).mean(axis=(1, 3))
    w = np.asarray(g.hidden[0])
    assert np.all(np.abs(blocks - w) <= 5 * np.sqrt(w * (1 - w) / (n // K) ** 2))
    cols = np.asarray(m[0], float).reshape(K, n // K, d).mean(axis=1)
    w_in = np.asarray(g.input)
    assert np.all(np.abs(cols - w_in) <= 5 * np.sqrt(w_in * (1 - w_in) / (n // K)))


def test_mlp_graphon_constructors_and_properties():
    g = MLPGraphon.constant(0.25, 4, 7, 5, mask_input=False)
    assert (g.depth, g.K, g.dim) == (4, 5, 7)
    assert g.input is None and g.readout.shape == (5,) and len(g.hidden) == 3
    assert float(jnp.max(jnp.abs(g.hidden[2] - 0.25))) == 0.0
    # from_functions: the midpoint values, rows = layer l (u), columns = l - 1 (v)
    g = MLPGraphon.from_functions(
        3,
        2,
        4,
        [lambda u, v: u + 0 * v, lambda u, v: v + 0 * u],
        input_fn=lambda u, v: u * v,
        readout_fn=lambda u: 1 - u,
    )
    mid = np.array([0.125, 0.375, 0.625, 0.875])
    np.testing.assert_array_equal(np.asarray(g.hidden[0]), np.tile(mid[:, None], 4))
    np.testing.assert_array_equal(
        np.asarray(g.hidden[1]), np.tile(mid[None, :], (4, 1))
    )
    np.testing.assert_allclose(np.asarray(g.input), mid[:, None] * [[0.25, 0.75]])
    np.testing.assert_array_equal(np.asarray(g.readout), 1 - mid)
    dense = MLPGraphon()
    assert (dense.depth, dense.K, dense.dim) == (1, 1, None)
    assert dense_relu_ntk(inputs(3, 4), depth=1).shape == (3, 3)
    assert (
        rel_max(graphon_ntk(dense, inputs(3, 4)), dense_relu_ntk(inputs(3, 4), depth=1))
        < 1e-12
    )


def test_works_under_jit_and_never_gives_nan():
    # A graphon with fully pruned neurons (zero rows) and a zero input: finite.
    K, L, d = 4, 3, 5
    w = np.full((K, K), 0.5)
    w[0] = 0.0
    g = MLPGraphon(None, [w, w], None)
    X = inputs(4, d, seed=13).at[2].set(0.0)
    theta = graphon_ntk(g, X)
    assert bool(jnp.all(jnp.isfinite(theta))) and float(jnp.abs(theta[2]).max()) == 0
    jitted = jax.jit(lambda x: graphon_ntk(g, x))(X)
    assert rel_max(jitted, theta) < 1e-14
    params = init_params(jr.PRNGKey(14), d, 16, L)
    masks = sample_masks(g, 16, jr.PRNGKey(15), dim=d)
    emp = jax.jit(lambda p, x: empirical_ntk(p, masks, x))(params, X)
    assert bool(jnp.all(jnp.isfinite(emp))) and float(jnp.abs(emp[2]).max()) == 0
    assert rel_max(emp, jacobian_ntk(params, masks, X)) < 1e-10


# ---------------------------------------------------------------- bad input


def _bad_cases():
    g = MLPGraphon.constant(0.5, 3, 4, 8)
    X = np.ones((3, 4))
    params = init_params(jr.PRNGKey(0), 4, 6, 2)
    masks = [np.ones(p.shape, bool) for p in params]
    return [
        (lambda: MLPGraphon(np.full((8, 4), 1.5), [], None), "`input`"),
        (lambda: MLPGraphon(None, [np.full((3, 3), np.nan)], None), r"`hidden\[0\]`"),
        (lambda: MLPGraphon(None, [-np.ones((3, 3))], None), r"\[0, 1\]"),
        (lambda: MLPGraphon(np.ones((8, 4)), [np.ones((4, 4))], None), "K = 4"),
        (lambda: MLPGraphon(None, [np.ones((4, 4))], np.ones(5)), "`readout`"),
        (lambda: MLPGraphon(None, [np.ones((4, 3))], None), "square"),
        (lambda: MLPGraphon(np.ones((8, 4)), [], None, dim=5), "`dim`"),
        (lambda: MLPGraphon(None, [np.ones((4, 4))], None, K=3), "`K`"),
        (lambda: MLPGraphon.constant(1.5, 3, 4, 8), "`c`"),
        (lambda: MLPGraphon.constant(0.5, 0, 4, 8), "`depth`"),
        (lambda: MLPGraphon.from_functions(2, 4, 8, lambda u, v: u + v), "hidden_fn"),
        (
            lambda: MLPGraphon.from_functions(2, 4, 8, factorized, readout_fn=np.log),
            "`readout_fn`",
        ),
        (lambda: graphon_ntk(g, np.ones(4)), "`X`"),
        (lambda: graphon_ntk(g, np.ones((3, 5))), "`X`"),
        (lambda: graphon_ntk(g, X, np.ones((2, 3))), "`X2`"),
        (lambda: graphon_ntk(g, np.full((3, 4), np.nan)), "NaN"),
        (lambda: graphon_ntk(g, X, block_size=0), "`block_size`"),
        (lambda: dense_relu_ntk(X, depth=0), "`depth`"),
        (lambda: sample_masks(MLPGraphon(), 8, jr.PRNGKey(0)), "`dim`"),
        (lambda: sample_masks(g, 0, jr.PRNGKey(0)), "`width`"),
        (lambda: empirical_ntk(params, masks[:2], X), "`masks`"),
        (lambda: empirical_ntk(params, [masks[0], masks[0], masks[2]], X), "masks"),
        (lambda: empirical_ntk([params[0], params[0], params[2]], None, X), "params"),
        (lambda: empirical_ntk(params, masks, np.ones((3, 5))), "`X`"),
        (lambda: empirical_ntk(params, masks, X, block_size=0), "`block_size`"),
        (lambda: jacobian_ntk(params, masks, X, np.full((2, 4), np.inf)), "`X2`"),
        (lambda: apply(params, masks, np.ones((3, 7))), "`X`"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_cases())))
def test_bad_input_is_a_value_error_naming_the_argument(case):
    call, match = _bad_cases()[case]
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError):
        graphon_ntk("not a graphon", np.ones((2, 3)))
    with pytest.raises(TypeError):
        MLPGraphon(None, np.ones((3, 3)), None)
