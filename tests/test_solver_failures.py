"""`integrate` names the failure, its time and the fix, on every backend.

Four flows whose failure is known in closed form (the oracle):

- blow-up: $\\dot y = y^2$, $y(0) = 1$ has $y = 1/(1 - t)$, a singularity at
  $t = 1$: the step size collapses (`step_size_too_small`) just before 1;
- NaN: $\\dot y = -\\sqrt{1/2 - t}$ is undefined after $t = 1/2$ (`non_finite`);
- domain: a Riemannian flow with the entropy metric on a loss with zero gradient
  and a constant drift $-\\lambda$ has $x_i(t) = x_{0,i} - \\lambda t$, which
  leaves the positive orthant at $t = \\min_i x_{0,i}/\\lambda$ (`left_domain`);
- budget: a slow flow with `max_steps=5` (`max_steps_reached`).

For each, every backend (diffrax's default Kvaerno5, an explicit diffrax solver,
`BDF`, scipy DOP853 and Radau) must return the code with `throw=False`, keep a
valid prefix (save times before the failure, states matching the closed form),
and with `throw=True` raise a `RuntimeError` naming the failure and the time.
"""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mirrorflow as mf
from mirrorflow.flows import AbstractFlow


class _Toy(AbstractFlow):
    """A flow given by its right-hand side (the state is the weights)."""

    problem: object = None

    def to_primal(self, y):
        return y

    def loss(self, y):
        return jnp.sum(y**2)


class BlowUp(_Toy):
    def vector_field(self, t, y, args):
        return y**2


class NanAfterHalf(_Toy):
    def vector_field(self, t, y, args):
        return -jnp.sqrt(0.5 - t) * jnp.ones_like(y)


SOLVERS = {
    "Kvaerno5": None,
    "Tsit5": dfx.Tsit5(),
    "BDF": mf.BDF(),
    "scipy DOP853": mf.ScipyReference("DOP853"),
    "scipy Radau": mf.ScipyReference("Radau"),
}
# The default suite runs one solver per backend (diffrax, BDF, scipy); the slow
# suite adds an explicit diffrax solver and an implicit scipy one.
EXTRA = ("Tsit5", "scipy Radau")


def _backends(names=tuple(SOLVERS)):
    return [pytest.param(n, marks=pytest.mark.slow) if n in EXTRA else n for n in names]


def _solve(flow, y0, t1, solver, **kw):
    return mf.integrate(flow, y0, 0.0, t1, solver=solver, max_steps=20_000, **kw)


def _check_prefix(sol, exact):
    """Save times before `t_final`, states equal to the closed form there."""
    ts = np.asarray(sol.ts)
    assert ts.size > 10
    assert np.all(ts <= float(sol.t_final))
    np.testing.assert_allclose(
        np.asarray(sol.ys), exact(ts)[:, None] * np.ones((1, 2)), rtol=1e-5
    )


@pytest.mark.parametrize("name", _backends())
def test_blow_up_is_a_step_size_collapse_at_the_singularity(name):
    solver = SOLVERS[name]
    sol = _solve(BlowUp(), jnp.ones(2), 2.0, solver, throw=False)
    assert sol.result == mf.Result.step_size_too_small
    # Oracle: the singularity of 1/(1 - t) is at t = 1.
    assert 1.0 - 1e-6 < float(sol.t_final) < 1.0 + 1e-6
    assert sol.stats["num_steps"] < 20_000  # stopped, not the whole budget
    _check_prefix(sol, lambda t: 1.0 / (1.0 - t))
    with pytest.raises(RuntimeError) as err:
        _solve(BlowUp(), jnp.ones(2), 2.0, solver)
    assert "at t=1" in str(err.value) and "below round-off" in str(err.value)


@pytest.mark.parametrize("name", _backends())
def test_nan_vector_field_is_non_finite_at_its_time(name):
    solver = SOLVERS[name]
    sol = _solve(NanAfterHalf(), jnp.ones(2), 2.0, solver, throw=False)
    assert sol.result == mf.Result.non_finite
    # Oracle: sqrt(1/2 - t) is undefined after t = 1/2.
    assert abs(float(sol.t_final) - 0.5) < 1e-6
    assert sol.stats["num_steps"] < 20_000
    _check_prefix(sol, lambda t: 1.0 - (2.0 / 3.0) * (0.5**1.5 - (0.5 - t) ** 1.5))
    with pytest.raises(RuntimeError, match=r"NaN/inf just after t=0\.5"):
        _solve(NanAfterHalf(), jnp.ones(2), 2.0, solver)


def _leaving_flow():
    problem = mf.LinearRegression(jnp.zeros((1, 3)), jnp.zeros(1))
    return mf.RiemannianFlow(
        problem,
        mf.NegEntropy(),
        schedule=mf.ConstantDecay(0.5),
        drift=jnp.ones_like,
    )


@pytest.mark.parametrize("name", _backends([n for n in SOLVERS if n != "Tsit5"]))
def test_leaving_the_domain_is_bracketed_and_cut(name):
    solver = SOLVERS[name]
    flow = _leaving_flow()
    x0 = jnp.array([1.0, 2.0, 3.0])
    sol = mf.integrate(
        flow, flow.initial_state(x0), 0.0, 5.0, solver=solver, throw=False
    )
    assert sol.result == mf.Result.left_domain
    # Oracle: x_1(t) = 1 - t/2 reaches 0 at t = 2. The prefix stays inside and
    # matches the closed form; the exit is bracketed by the last state inside
    # and the first outside.
    ts = np.asarray(sol.ts)
    np.testing.assert_allclose(
        np.asarray(sol.xs), x0[None, :] - 0.5 * ts[:, None], rtol=1e-8, atol=1e-10
    )
    assert np.all(np.asarray(sol.xs) > 0)
    assert ts[-1] < 2.0 <= float(sol.t_final)
    assert float(jnp.min(sol.x_final)) <= 0.0
    with pytest.raises(RuntimeError) as err:
        mf.integrate(flow, flow.initial_state(x0), 0.0, 5.0, solver=solver)
    text = str(err.value)
    assert "left the domain of RiemannianFlow between t=" in text
    lo, hi = (float(w.split("=")[1].rstrip(",")) for w in text.split() if "t=" in w)
    assert lo < 2.0 <= hi


def test_a_start_outside_the_dual_domain_is_refused():
    # The deep diagonal potential's conjugate lives on a bounded interval of
    # dual points (gamma_v/kappa, gamma_u/kappa): a start outside it is refused
    # before any step. Oracle: the interval in closed form.
    potential = mf.DeepDiagonalPotential(depth=3, alpha=0.1)
    flow = mf.MirrorFlow(mf.random_regression(d=4, n=2, k=1, seed=0), potential)
    lo, hi = -potential.gamma_v / potential.kappa, potential.gamma_u / potential.kappa
    inside = jnp.full(4, 0.5 * (lo + hi))
    assert bool(flow.in_domain(inside))
    outside = inside.at[2].set(hi + 1.0)
    assert not bool(flow.in_domain(outside))
    with pytest.raises(ValueError, match="`y0` lies outside the domain of MirrorFlow"):
        mf.integrate(flow, outside, 0.0, 1.0)
    # A ReducedMirrorFlow's domain is that of its dual point z0 - A^T lam.
    reduced = mf.ReducedMirrorFlow(flow.problem, potential, outside)
    with pytest.raises(ValueError, match="outside the domain of ReducedMirrorFlow"):
        mf.integrate(reduced, reduced.initial_state(), 0.0, 1.0)


@pytest.mark.parametrize(
    "name",
    # diffrax's and BDF's budgets are also tested in test_solvers / test_bdf.
    [pytest.param(n, marks=pytest.mark.slow) for n in ("Kvaerno5", "Tsit5", "BDF")]
    + ["scipy DOP853", pytest.param("scipy Radau", marks=pytest.mark.slow)],
)
def test_every_backend_honours_max_steps(name):
    solver = SOLVERS[name]
    problem = mf.random_regression(d=8, n=3, k=2, seed=0)
    flow = mf.GradientFlow(problem, mf.DiffOfSquares())
    y0 = flow.initial_state((jnp.full(8, 1e-3), jnp.full(8, 1e-3)))
    sol = mf.integrate(flow, y0, 0.0, 1e4, solver=solver, max_steps=5, throw=False)
    assert sol.result == mf.Result.max_steps_reached
    assert sol.stats["num_steps"] <= 5
    assert float(sol.t_final) < 1e4
    assert np.all(np.asarray(sol.ts) <= float(sol.t_final))
    with pytest.raises(RuntimeError, match=r"`max_steps`=5 .*stopped at t="):
        mf.integrate(flow, y0, 0.0, 1e4, solver=solver, max_steps=5)


@pytest.mark.slow  # the verify claims solve bounded-domain flows on every CI run
def test_a_healthy_flow_with_a_domain_is_untouched():
    # The domain watch must not change a solve that stays inside: the entropy
    # metric without drift keeps x > 0 (x' = -x * grad f); compare against scipy.
    problem = mf.random_regression(d=4, n=2, k=1, seed=1)
    problem = mf.LinearRegression(problem.A, problem.A @ jnp.full(4, 0.5))
    flow = mf.RiemannianFlow(problem, mf.NegEntropy())
    y0 = flow.initial_state(jnp.full(4, 0.3))
    ts = mf.log_times(1e-2, 5.0, 10)
    a = mf.integrate(flow, y0, 0.0, 5.0, ts=ts, solver=dfx.Tsit5())
    b = mf.integrate(flow, y0, 0.0, 5.0, ts=ts, solver=mf.ScipyReference())
    assert a.result == b.result == mf.Result.successful
    np.testing.assert_allclose(np.asarray(a.xs), np.asarray(b.xs), rtol=1e-7)
    assert jax.tree.structure(a.ys) == jax.tree.structure(y0)
