"""Bad input to the public API: a clear `ValueError`/`TypeError`, never a NaN.

A table of entry points, each with a valid call and, per argument, the kind of
value it takes; `bad_inputs()` generates the wrong values of each kind (wrong
shape, complex dtype, NaN/inf entries, empty arrays, values outside a domain,
non-positive scales and tolerances, unknown names, wrong object types) and
`test_bad_input_gets_a_clear_error` asserts, for every one, that the call raises
`ValueError` or `TypeError` whose message names the call and the argument, raised
from mirrorflow's own code (not from deep inside JAX or numpy). The valid call of
every entry point is run too (a valid call that raises is a defect as well), and
valid scalar spellings (numpy scalars, 0-d JAX arrays) are accepted.

Run `python tests/test_bad_input.py` for the table of messages (one row per bad
input), `--summary` for one row per entry point and argument plus the CLI.
"""

import dataclasses
import json
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mirrorflow as mf
from mirrorflow import masks, references


jax.config.update("jax_enable_x64", True)

PACKAGE = Path(mf.__file__).resolve().parent


# ---------------------------------------------------------------- the problems


def _problem(d=6, n=3):
    rng = np.random.default_rng(0)
    return mf.LinearRegression(
        jnp.asarray(rng.standard_normal((n, d))), jnp.asarray(rng.standard_normal(n))
    )


PROB = _problem()
D, N = 6, 3
X0 = jnp.full(D, 0.1)


def _flow():
    return mf.GradientFlow(PROB, mf.DiffOfSquares())


def _y0():
    return _flow().initial_state((jnp.full(D, 0.3), jnp.full(D, 0.2)))


# --------------------------------------------------------------- value kinds
# Each kind lists (description, bad value) pairs.

NAN, INF = float("nan"), float("inf")


def _bad_positive():
    return [
        ("0", 0.0),
        ("-1", -1.0),
        ("nan", NAN),
        ("inf", INF),
        ("-inf", -INF),
        ("complex", 1.0 + 1.0j),
        ("str", "1e-3"),
        ("array (2,)", np.array([1.0, 2.0])),
    ]


def _bad_nonneg():
    return [
        ("-1", -1.0),
        ("nan", NAN),
        ("inf", INF),
        ("complex", 1.0 + 1.0j),
        ("str", "0.1"),
    ]


def _bad_positive_int():
    return [("0", 0), ("-3", -3), ("1.5", 1.5), ("str", "10"), ("nan", NAN)]


def _bad_vector(length: int):
    good = np.linspace(0.1, 0.9, length)
    nan = good.copy()
    nan[1] = NAN
    inf = good.copy()
    inf[-1] = INF
    return [
        ("wrong length", np.ones(length + 1)),
        ("2-d", np.ones((length, 2))),
        ("empty", np.ones(0)),
        ("NaN entry", nan),
        ("inf entry", inf),
        ("complex", good + 1j * good),
        ("str", "abc"),
    ]


def _bad_matrix(rows: int, cols: int):
    good = np.random.default_rng(3).standard_normal((rows, cols))
    nan = good.copy()
    nan[0, 1] = NAN
    inf = good.copy()
    inf[-1, -1] = -INF
    return [
        ("1-d", np.ones(cols)),
        ("empty", np.ones((0, cols))),
        ("NaN entry", nan),
        ("inf entry", inf),
        ("complex", good + 1j * good),
        ("str", "A"),
    ]


def _bad_object(what):
    return [("int", 3), ("str", "x"), ("object", object()), (f"not a {what}", [1, 2])]


def _bad_name():
    return [("unknown name", "nope"), ("int", 3), ("None", None)]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A public entry point: its name, a call taking keyword overrides, the valid
    keyword arguments, and per argument the list of bad values to try."""

    name: str
    call: Callable
    valid: dict
    bad: dict


def _integrate(**kw):
    flow = kw.pop("flow", _flow())
    y0 = kw.pop("y0", _y0())
    return mf.integrate(flow, y0, **kw)


def _predict(**kw):
    return mf.predict(kw.pop("problem", PROB), kw.pop("potential"), **kw)


def _optimize(**kw):
    return mf.optimize(kw.pop("optimizer"), kw.pop("loss_fn"), **kw)


def _lr_loss(p):
    return PROB.loss(p)


def _commuting_matrices(d=3, p=4):
    # A_i = V diag(D_i) V^T in one orthonormal basis V: symmetric and commuting.
    rng = np.random.default_rng(5)
    V, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return np.stack([V @ np.diag(rng.standard_normal(p)) @ V.T for _ in range(d)])


def _not_commuting():
    m = _commuting_matrices().copy()
    m[0] = np.diag(np.arange(1.0, 5.0))
    m[0][0, 1] = m[0][1, 0] = 1.0
    return m


_CQ_MATRICES = _commuting_matrices()
_MASK_PARAMS = {"w": jnp.arange(1.0, 13.0).reshape(3, 4)}


def _mask_loss(p):
    return jnp.sum(jnp.tanh(p["w"]) ** 2)


def _mask_apply(p, x):
    return x @ p["w"]


def _sensing():
    from mirrorflow.problems import MatrixSensing

    rng = np.random.default_rng(2)
    return MatrixSensing(
        jnp.asarray(rng.standard_normal((5, 3, 3))), jnp.asarray(rng.standard_normal(5))
    )


ENTRIES = [
    Entry(
        "integrate",
        _integrate,
        {"t0": 0.0, "t1": 1.0},
        {
            "t1": [("nan", NAN), ("-1", -1.0), ("str", "1")],
            "t0": [("nan", NAN), ("inf", INF)],
            "rtol": _bad_positive(),
            "atol": _bad_nonneg(),
            "dt0": _bad_positive(),
            "max_steps": _bad_positive_int(),
            "stop_loss": _bad_positive(),
            "ts": [
                ("NaN time", np.array([0.5, NAN])),
                ("only NaN", np.array([NAN])),
                ("decreasing", np.array([0.9, 0.5])),
                ("outside", np.array([0.5, 2.0])),
                ("empty", np.array([])),
                ("2-d", np.ones((2, 2)) * 0.5),
            ],
            "y0": [
                ("NaN entry", jax.tree.map(lambda a: a.at[0].set(NAN), _y0())),
                ("inf entry", jax.tree.map(lambda a: a.at[0].set(INF), _y0())),
                ("complex", jax.tree.map(lambda a: np.asarray(a) * (1 + 1j), _y0())),
                ("wrong structure", jnp.ones(D)),
            ],
            "flow": _bad_object("flow"),
            "solver": _bad_object("solver"),
        },
    ),
    Entry(
        "ScipyReference",
        lambda **kw: mf.ScipyReference(**kw),
        {},
        {
            "method": _bad_name(),
            "rtol": _bad_positive(),
            "atol": _bad_positive(),
        },
    ),
    Entry(
        "BDF",
        lambda **kw: mf.BDF(**kw),
        {},
        {
            "rtol": _bad_positive(),
            "atol": _bad_positive(),
            "max_order": [("0", 0), ("6", 6), ("1.5", 1.5)],
            "max_steps": _bad_positive_int(),
            "first_step": _bad_positive(),
            "newton_tol": _bad_positive(),
        },
    ),
    Entry(
        "log_times",
        lambda **kw: mf.log_times(**kw),
        {"t_first": 1e-3, "t_last": 10.0},
        {
            "t_first": [("0", 0.0), ("-1", -1.0), ("nan", NAN), ("str", "1")],
            "t_last": [("nan", NAN), ("inf", INF), ("below t_first", 1e-4)],
            "num": [("1", 1), ("1.5", 1.5), ("str", "10")],
        },
    ),
    Entry(
        "LinearRegression",
        lambda **kw: mf.LinearRegression(**kw),
        {"A": np.asarray(PROB.A), "b": np.asarray(PROB.b)},
        {"A": _bad_matrix(N, D), "b": _bad_vector(N)},
    ),
    Entry(
        "random_regression",
        lambda **kw: mf.random_regression(**kw),
        {"d": 6, "n": 3, "k": 2, "seed": 0},
        {
            "d": _bad_positive_int(),
            "n": _bad_positive_int(),
            "k": [("-1", -1), ("d + 1", 7), ("1.5", 1.5)],
            "seed": [("-1", -1), ("1.5", 1.5), ("str", "0"), ("None", None)],
        },
    ),
    Entry(
        "Hypentropy",
        lambda **kw: mf.Hypentropy(**kw),
        {"alpha": 0.1},
        {
            "alpha": [
                *[b for b in _bad_positive() if not b[0].startswith("array")],
                ("per-coordinate with a 0", np.array([0.1, 0.0])),
                ("per-coordinate with NaN", np.array([0.1, NAN])),
                ("1e-200", 1e-200),
                ("1e200", 1e200),
            ],
        },
    ),
    Entry(
        "NegEntropy",
        lambda **kw: mf.NegEntropy(**kw),
        {},
        {"coef": _bad_positive()},
    ),
    Entry(
        "SquaredNorm",
        lambda **kw: mf.SquaredNorm(**kw),
        {},
        {"coef": _bad_positive()},
    ),
    Entry(
        "HamPotential",
        lambda **kw: mf.HamPotential(**kw),
        {"alpha": 1.0},
        {"alpha": _bad_positive()},
    ),
    Entry(
        "DeepDiagonal",
        lambda **kw: mf.DeepDiagonal(**kw),
        {"depth": 3},
        {"depth": [("1", 1), ("0", 0), ("2.5", 2.5), ("str", "3")]},
    ),
    Entry(
        "ConstantDecay",
        lambda **kw: mf.ConstantDecay(**kw),
        {"strength": 0.1},
        {"strength": _bad_nonneg()},
    ),
    Entry(
        "SwitchOff",
        lambda **kw: mf.SwitchOff(**kw),
        {"strength": 0.1, "switch_time": 1.0},
        {"strength": _bad_nonneg(), "switch_time": _bad_nonneg()},
    ),
    Entry(
        "ExponentialDecay",
        lambda **kw: mf.ExponentialDecay(**kw),
        {"strength": 0.1, "time_scale": 1.0},
        {"strength": _bad_nonneg(), "time_scale": _bad_positive()},
    ),
    Entry(
        "LinearDecay",
        lambda **kw: mf.LinearDecay(**kw),
        {"strength": 0.1, "duration": 1.0},
        {"strength": _bad_nonneg(), "duration": _bad_positive()},
    ),
    Entry(
        "CosineDecay",
        lambda **kw: mf.CosineDecay(**kw),
        {"strength": 0.1, "duration": 1.0},
        {"strength": _bad_nonneg(), "duration": _bad_positive()},
    ),
    Entry(
        "GradientFlow",
        lambda **kw: mf.GradientFlow(**kw),
        {"problem": PROB, "reparam": mf.DiffOfSquares()},
        {
            "problem": _bad_object("problem"),
            "reparam": _bad_object("reparameterization"),
            "schedule": _bad_object("schedule"),
        },
    ),
    Entry(
        "MirrorFlow",
        lambda **kw: mf.MirrorFlow(**kw),
        {"problem": PROB, "potential": mf.Hypentropy(0.1)},
        {
            "problem": _bad_object("problem"),
            "potential": _bad_object("potential"),
            "schedule": _bad_object("schedule"),
        },
    ),
    Entry(
        "predict",
        _predict,
        {"potential": mf.Hypentropy(0.1), "x0": np.zeros(D)},
        {
            "potential": _bad_object("potential"),
            "problem": _bad_object("problem"),
            "x0": _bad_vector(D),
            "tol": _bad_positive(),
            "total_dose": _bad_nonneg(),
        },
    ),
    Entry(
        "optimize",
        _optimize,
        {
            "optimizer": optax.sgd(0.01),
            "loss_fn": _lr_loss,
            "params0": jnp.zeros(D),
            "max_steps": 5,
        },
        {
            "optimizer": _bad_object("optax transformation"),
            "loss_fn": _bad_object("function"),
            "max_steps": _bad_positive_int(),
            "stop_loss": _bad_nonneg(),
            "save_every": _bad_positive_int(),
            "params0": [
                ("NaN entry", jnp.zeros(D).at[0].set(NAN)),
                ("complex", np.zeros(D) + 1j),
            ],
        },
    ),
    Entry(
        "ham",
        lambda **kw: mf.ham(**kw),
        {},
        {
            "alpha": _bad_nonneg(),
            "beta": _bad_nonneg(),
            "learning_rate": _bad_positive(),
            "exponent_clip": _bad_positive(),
            "max_param_norm": _bad_positive(),
            "nan_policy": _bad_name(),
            "base": _bad_object("optax transformation"),
        },
    ),
    Entry(
        "mirror_descent",
        lambda **kw: mf.mirror_descent(**kw),
        {"potential": mf.Hypentropy(0.1), "learning_rate": 0.1},
        {
            "potential": _bad_object("potential"),
            "learning_rate": _bad_positive(),
            "nan_policy": _bad_name(),
        },
    ),
    Entry(
        "scheduled_weight_decay",
        lambda **kw: mf.scheduled_weight_decay(**kw),
        {"schedule": mf.ConstantDecay(0.1), "step_size": 0.1},
        {
            "schedule": _bad_object("schedule"),
            "step_size": _bad_positive(),
            "nan_policy": _bad_name(),
        },
    ),
    Entry(
        "hadamard_reparam",
        lambda **kw: mf.hadamard_reparam(**kw),
        {"inner": optax.sgd(0.1), "beta": 0.1},
        {"inner": _bad_object("optax transformation"), "beta": _bad_positive()},
    ),
    Entry(
        "references.lasso",
        lambda **kw: references.lasso(**kw),
        {"A": np.asarray(PROB.A), "b": np.asarray(PROB.b), "mu": 0.1},
        {
            "A": _bad_matrix(N, D),
            "b": _bad_vector(N),
            "mu": _bad_nonneg(),
            "tol": _bad_nonneg(),
            "kkt_tol": _bad_positive(),
            "scale": _bad_positive(),
            "max_sweeps": _bad_positive_int(),
        },
    ),
    Entry(
        "references.min_l1_interpolant",
        lambda **kw: references.min_l1_interpolant(**kw),
        {"A": np.asarray(PROB.A), "b": np.asarray(PROB.b)},
        {"A": _bad_matrix(N, D), "b": _bad_vector(N)},
    ),
    Entry(
        "references.min_l2_interpolant",
        lambda **kw: references.min_l2_interpolant(**kw),
        {"A": np.asarray(PROB.A), "b": np.asarray(PROB.b)},
        {"A": _bad_matrix(N, D), "b": _bad_vector(N)},
    ),
    Entry(
        "DeepDiagonalPotential",
        lambda **kw: mf.DeepDiagonalPotential(**kw),
        {"depth": 3, "alpha": 0.1},
        {
            "depth": [("2", 2), ("2.5", 2.5), ("str", "3")],
            "alpha": [b for b in _bad_positive() if not b[0].startswith("array")],
        },
    ),
    Entry(
        "TimeDependentHypentropy",
        lambda **kw: mf.TimeDependentHypentropy(**kw),
        {"scale0": 0.1, "coef": 0.25},
        {
            "scale0": [b for b in _bad_positive() if not b[0].startswith("array")],
            "coef": _bad_positive(),
            "rate": _bad_positive(),
        },
    ),
    Entry(
        "PiecewiseConstant",
        lambda **kw: mf.PiecewiseConstant(**kw),
        {"strengths": [0.1, 0.0], "boundaries": [1.0]},
        {
            "strengths": [
                ("negative", [0.1, -1.0]),
                ("NaN", [0.1, NAN]),
                ("inf", [INF, 0.0]),
                ("complex", [0.1 + 1j, 0.0]),
                ("one too many", [0.1, 0.0, 0.2]),
                ("empty", []),
            ],
            "boundaries": [
                ("decreasing", [2.0, 1.0]),
                ("NaN", [NAN]),
                ("negative", [-1.0]),
                ("wrong count", [1.0, 2.0]),
            ],
        },
    ),
    Entry(
        "ReducedMirrorFlow",
        lambda **kw: mf.ReducedMirrorFlow(**kw),
        {"problem": PROB, "potential": mf.Hypentropy(0.1), "z0": np.zeros(D)},
        {
            "z0": _bad_vector(D),
            "potential": _bad_object("potential"),
            "problem": _bad_object("problem"),
        },
    ),
    Entry(
        "masks.prune",
        lambda **kw: masks.prune(**kw),
        {
            "method": "magnitude",
            "params": {"w": jnp.arange(1.0, 13.0).reshape(3, 4)},
            "density": 0.5,
        },
        {
            "method": _bad_name(),
            "density": [
                ("0", 0.0),
                ("1.5", 1.5),
                ("-0.1", -0.1),
                ("nan", NAN),
                ("str", "0.5"),
            ],
            "scope": [("unknown", "everywhere"), ("int", 3)],
        },
    ),
    Entry(
        "pilot",
        lambda **kw: mf.pilot(**kw),
        {
            "learning_rate": 0.1,
            "beta": 0.1,
            "initial_strength": 1e-3,
            "factor": 2.0,
            "l1_target": 1.0,
            "num_epochs": 10,
            "steps_per_epoch": 5,
        },
        {
            "learning_rate": _bad_positive(),
            "beta": _bad_positive(),
            "initial_strength": _bad_nonneg(),
            "factor": [("1", 1.0), ("0.5", 0.5), ("nan", NAN), ("str", "2")],
            "l1_target": _bad_nonneg(),
            "num_epochs": _bad_positive_int(),
            "steps_per_epoch": _bad_positive_int(),
        },
    ),
    Entry(
        "CallableSchedule",
        lambda **kw: mf.CallableSchedule(**kw),
        {"fn": lambda t: 0.1 + 0.0 * t},
        {
            "fn": _bad_object("function"),
            "total_dose": [b for b in _bad_nonneg() if b[0] != "inf"],
        },
    ),
    Entry(
        "TimeDependentDeepDiagonal",
        lambda **kw: mf.TimeDependentDeepDiagonal(**kw),
        {"depth": 3, "u0": 0.1, "v0": 0.1},
        {
            "depth": [("2", 2), ("2.5", 2.5), ("str", "3")],
            "u0": [b for b in _bad_positive() if not b[0].startswith("array")],
            "v0": [b for b in _bad_positive() if not b[0].startswith("array")],
        },
    ),
    Entry(
        "CommutingQuadratic",
        lambda **kw: mf.CommutingQuadratic(**kw),
        {"matrices": _CQ_MATRICES, "penalty_matrix": np.eye(4)},
        {
            "matrices": [
                ("2-d", np.eye(4)),
                ("empty", np.ones((0, 4, 4))),
                ("not square", np.ones((2, 4, 3))),
                ("not symmetric", _CQ_MATRICES + np.triu(np.ones((4, 4)), 1)),
                ("not commuting", _not_commuting()),
                ("NaN entry", _CQ_MATRICES * np.where(np.eye(4) > 0, NAN, 1.0)),
                ("complex", _CQ_MATRICES * (1 + 1j)),
                ("str", "A"),
            ],
            "penalty_matrix": [
                ("wrong size", np.eye(3)),
                ("not symmetric", np.eye(4) + np.triu(np.ones((4, 4)), 1)),
                ("not commuting", _not_commuting()[0]),
                ("inf entry", np.where(np.eye(4) > 0, INF, 0.0)),
                ("complex", np.eye(4) * (1 + 1j)),
            ],
        },
    ),
    Entry(
        "CommutingQuadraticPotential",
        lambda **kw: mf.CommutingQuadraticPotential(**kw),
        {"matrices": _CQ_MATRICES, "penalty_matrix": np.eye(4), "w0": np.ones(4)},
        {
            "w0": _bad_vector(4),
            "matrices": [("2-d", np.eye(4)), ("not commuting", _not_commuting())],
            "penalty_matrix": [("wrong size", np.eye(3)), ("NaN", np.eye(4) * NAN)],
        },
    ),
    Entry(
        "RiemannianFlow",
        lambda **kw: mf.RiemannianFlow(**kw),
        {"problem": PROB, "metric": mf.Hypentropy(0.1)},
        {
            "problem": _bad_object("problem"),
            "metric": [("int", 3), ("str", "x"), ("list", [1, 2])],
            "schedule": _bad_object("schedule"),
            "drift": [("int", 3), ("str", "x")],
        },
    ),
    Entry(
        "flow_paths",
        lambda **kw: mf.flow_paths(**kw),
        {
            "problem": PROB,
            "reparam": mf.DiffOfSquares(),
            "params0": (np.full(D, 0.3), np.full(D, 0.2)),
        },
        {
            "problem": _bad_object("problem"),
            "reparam": _bad_object("reparameterization"),
            "schedule": _bad_object("schedule"),
            "params0": [
                ("wrong length", (np.full(D + 1, 0.3), np.full(D + 1, 0.2))),
                ("NaN entry", (np.full(D, NAN), np.full(D, 0.2))),
                ("complex", (np.full(D, 0.3 + 1j), np.full(D, 0.2))),
                ("one factor", np.full(D, 0.3)),
            ],
        },
    ),
    Entry(
        "references.min_nuclear_norm",
        lambda **kw: references.min_nuclear_norm(**kw),
        {"problem": _sensing()},
        {
            "problem": _bad_object("problem"),
            "tol": _bad_positive(),
            "solver": [("unknown", "NOPE"), ("int", 3)],
        },
    ),
    Entry(
        "masks.random_mask",
        lambda **kw: masks.random_mask(**kw),
        {"params": _MASK_PARAMS, "density": 0.5, "key": jax.random.key(0)},
        {
            "density": [("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("str", "0.5")],
            "key": [("int", 3), ("str", "k"), ("None", None)],
            "distribution": [("unknown", "gaussian"), ("int", 3)],
        },
    ),
    Entry(
        "masks.snip_mask",
        lambda **kw: masks.snip_mask(**kw),
        {"loss_fn": _mask_loss, "params": _MASK_PARAMS, "density": 0.5},
        {
            "loss_fn": _bad_object("function"),
            "density": [("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("str", "0.5")],
            "scope": [("unknown", "everywhere"), ("int", 3)],
        },
    ),
    Entry(
        "masks.grasp_mask",
        lambda **kw: masks.grasp_mask(**kw),
        {"loss_fn": _mask_loss, "params": _MASK_PARAMS, "density": 0.5},
        {
            "loss_fn": _bad_object("function"),
            "density": [("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("str", "0.5")],
            "scope": [("unknown", "everywhere"), ("int", 3)],
        },
    ),
    Entry(
        "masks.synflow_mask",
        lambda **kw: masks.synflow_mask(**kw),
        {
            "apply_fn": _mask_apply,
            "params": _MASK_PARAMS,
            "density": 0.5,
            "input_shape": (3,),
            "num_iterations": 2,
        },
        {
            "apply_fn": _bad_object("function"),
            "density": [("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("str", "0.5")],
            "input_shape": [("int", 3), ("negative", (-3,)), ("str", "3")],
            "num_iterations": _bad_positive_int(),
        },
    ),
    Entry(
        "masks.erk_densities",
        lambda **kw: masks.erk_densities(**kw),
        {"shapes": [(3, 4), (4, 2)], "density": 0.5},
        {
            "shapes": [("empty", []), ("int", 3), ("negative", [(3, -4)])],
            "density": [("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("str", "0.5")],
        },
    ),
    Entry(
        "masks.apply_mask",
        lambda **kw: masks.apply_mask(**kw),
        {"params": _MASK_PARAMS, "mask": {"w": np.ones((3, 4), bool)}},
        {
            "mask": [
                ("wrong structure", [np.ones((3, 4), bool)]),
                ("wrong shape", {"w": np.ones((4, 3), bool)}),
                ("float mask", {"w": np.full((3, 4), 0.5)}),
            ],
        },
    ),
    Entry(
        "masks.magnitude_mask",
        lambda **kw: masks.magnitude_mask(**kw),
        {"params": {"w": jnp.arange(1.0, 13.0).reshape(3, 4)}, "density": 0.5},
        {
            "density": [("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("str", "0.5")],
            "scope": [("unknown", "everywhere"), ("int", 3)],
        },
    ),
]


@dataclasses.dataclass(frozen=True)
class BadInput:
    entry: Entry
    arg: str
    what: str
    value: object

    @property
    def id(self) -> str:
        return f"{self.entry.name}-{self.arg}-{self.what}"

    def run(self):
        kwargs = dict(self.entry.valid)
        kwargs[self.arg] = self.value
        out = self.entry.call(**kwargs)
        return jax.block_until_ready(out)


def bad_inputs() -> list[BadInput]:
    return [
        BadInput(e, arg, what, value)
        for e in ENTRIES
        for arg, values in e.bad.items()
        for what, value in values
    ]


def _raised_in_package(err: BaseException) -> bool:
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(PACKAGE)


def outcome(case: BadInput) -> tuple[str, str]:
    """('clear' | 'unclear' | 'silent', message or returned value)."""
    try:
        out = case.run()
    except (ValueError, TypeError) as err:
        text = str(err).split("\n")[0]
        call = case.entry.name.split(".")[-1]
        clear = (
            call.lower() in text.lower()
            and case.arg in text
            and _raised_in_package(err)
        )
        return ("clear" if clear else "unclear"), text
    except Exception as err:  # noqa: BLE001 -- reported as unclear
        return "unclear", f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    return "silent", repr(out)[:120]


def _cases_for_pytest():
    return [pytest.param(c.id, id=c.id) for c in bad_inputs()]


@pytest.fixture(scope="module")
def outcomes() -> dict:
    """Every bad input's outcome, computed in a fresh interpreter: what a user
    gets (the test session's runtime type checker, which rejects wrong types
    before our own checks run, and its strict dtype promotion are off there)."""
    out = subprocess.run(
        [sys.executable, __file__, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_at_least_500_bad_inputs():
    assert len(bad_inputs()) >= 500


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_valid_call_succeeds(entry):
    jax.block_until_ready(entry.call(**entry.valid))


@pytest.mark.parametrize("case_id", _cases_for_pytest())
def test_bad_input_gets_a_clear_error(case_id, outcomes):
    status, text = outcomes[case_id]
    assert status == "clear", f"{case_id}: {status}: {text}"


# ------------------------------------------------------------------- the CLI
# (argv, what the one-line message must name). Run in this process: every bad
# invocation must exit 2 with one line on stderr, before any work.

CLI_BAD = [
    (["nope"], "nope"),
    (["verify", "--claim", "core.nope"], "core.nope"),
    (["verify", "--paper", "nopaper"], "nopaper"),
    (["verify", "--workers", "0"], "--workers"),
    (["verify", "--workers", "two"], "--workers"),
    (["verify", "--workers", "-1"], "--workers"),
    (["verify", "--json"], "--json"),
    (["verify", "--claim", "core.min_l2", "--json", "/nonexistent/x.json"], "--json"),
    (
        ["verify", "--claim", "core.min_l2", "--markdown", "/nonexistent/x.md"],
        "--markdown",
    ),
    (["verify", "--bogus"], "--bogus"),
    (["run"], "name"),
    (["run", "core.nope"], "core.nope"),
    (["run", "core.alpha_sweep", "--seed", "-1"], "--seed"),
    (["run", "core.alpha_sweep", "--seed", str(2**63)], "--seed"),
    (["run", "core.alpha_sweep", "--seed", "1.5"], "--seed"),
    (["run", "core.alpha_sweep", "--seed", "x"], "--seed"),
    (["run", "core.alpha_sweep", "--experiments-dir", "/nonexistent"], "/nonexistent"),
    (["figures", "--workers", "0"], "--workers"),
    (["figures", "--only", "core.nope"], "core.nope"),
    (["figures", "--experiments-dir", "/nonexistent"], "/nonexistent"),
    (["report", "--workers", "0"], "--workers"),
    (["bench", "--only", "nope"], "nope"),
    (["bench", "--json", "/nonexistent/b.json"], "--json"),
    (["bench", "--benchmarks-dir", "/nonexistent"], "/nonexistent"),
    (["list", "--bogus"], "--bogus"),
]


@pytest.mark.parametrize(
    "argv,names", CLI_BAD, ids=[" ".join(a)[:60] for a, _ in CLI_BAD]
)
def test_bad_cli_invocation_exits_2_with_one_clear_line(argv, names, capsys):
    from mirrorflow.app import cli

    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2, (argv, code, err)
    last = err.splitlines()[-1] if err else ""
    assert names in last, (argv, err)
    assert "Traceback" not in err


def test_a_closed_pipe_stops_the_cli_quietly():
    # `mirrorflow list | head`: the reader is gone before the output is written.
    # The bug: a BrokenPipeError traceback. Oracle: the Unix convention (exit
    # 128 + SIGPIPE, nothing on stderr).
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorflow.app.cli", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "Error" not in err, err


# ----------------------------------------------- fixes, each with its own test


@pytest.mark.parametrize(
    "value",
    [np.float32(0.1), np.float64(0.1), jnp.asarray(0.1), np.asarray(0.1)],
    ids=["np.float32", "np.float64", "jax 0-d", "numpy 0-d"],
)
def test_valid_scalar_spellings_are_accepted(value):
    # Oracle: the same object built from the Python float.
    ref = mf.Hypentropy(0.1)
    np.testing.assert_allclose(mf.Hypentropy(value).scale, ref.scale, rtol=1e-6)
    assert mf.SquaredNorm(value).coef == pytest.approx(float(value), rel=1e-6)
    assert mf.HamPotential(value).alpha == pytest.approx(float(value), rel=1e-6)
    mf.ham(alpha=value, beta=value, learning_rate=value)
    mf.ConstantDecay(value)
    bdf = mf.BDF(rtol=value * 1e-7, atol=value * 1e-9, first_step=value)
    assert bdf.rtol == pytest.approx(1e-8, rel=1e-6)
    assert mf.ScipyReference(rtol=value * 1e-7).rtol == pytest.approx(1e-8, rel=1e-6)


def test_lasso_never_certifies_nan():
    # The bug: NaN data gave an all-NaN x "certified" (nan > tol is False).
    A = np.asarray(PROB.A).copy()
    A[0, 0] = NAN
    with pytest.raises(ValueError, match="lasso: `A` has 1 NaN/inf"):
        references.lasso(A, np.asarray(PROB.b), 0.1)


def test_optimize_raises_on_a_nan_loss_and_ignore_returns_it():
    # sqrt(p) with a step that overshoots 0: the loss is NaN after step 1.
    def loss(p):
        return jnp.sum(jnp.sqrt(p))

    p0 = jnp.full(3, 0.5)
    with pytest.raises(FloatingPointError, match="after step 1"):
        mf.optimize(optax.sgd(1.0), loss, p0, 10)
    res = mf.optimize(optax.sgd(1.0), loss, p0, 10, nan_policy="ignore")
    assert int(res.num_steps) == 1 and not bool(res.converged)
    assert np.isnan(float(res.loss))
    with pytest.raises(ValueError, match="optimize: `params0` has 1 NaN"):
        mf.optimize(optax.sgd(1.0), loss, p0.at[0].set(NAN), 10)


def test_integrate_in_float32_names_float64():
    prob = mf.LinearRegression(
        np.asarray(PROB.A, np.float32), np.asarray(PROB.b, np.float32)
    )
    flow = mf.GradientFlow(prob, mf.DiffOfSquares())
    y0 = flow.initial_state(
        (jnp.full(D, 0.3, jnp.float32), jnp.full(D, 0.2, jnp.float32))
    )
    with pytest.raises(ValueError, match="float64"):
        mf.integrate(flow, y0, 0.0, 1.0)
    # A tolerance float32 resolves is fine.
    sol = mf.integrate(flow, y0, 0.0, 1.0, rtol=1e-3, atol=1e-5)
    assert sol.result == mf.Result.successful


def test_predict_in_float32_names_float64():
    prob = mf.LinearRegression(
        np.asarray(PROB.A, np.float32), np.asarray(PROB.b, np.float32)
    )
    with pytest.raises(ValueError, match="predict: .*float64"):
        mf.predict(prob, mf.Hypentropy(0.1), x0=np.zeros(D, np.float32))


def test_hypentropy_scale_outside_the_float_range_is_refused():
    for alpha in (1e-200, 1e200):
        with pytest.raises(ValueError, match="Hypentropy: `alpha`"):
            mf.Hypentropy(alpha)
    mf.Hypentropy(1e-100)  # c = 2e-200: representable


def _markdown_table() -> str:
    rows = [
        "| entry point | argument | bad input | outcome | message |",
        "|---|---|---|---|---|",
    ]
    counts = {"clear": 0, "unclear": 0, "silent": 0}
    for c in bad_inputs():
        status, text = outcome(c)
        counts[status] += 1
        rows.append(
            f"| `{c.entry.name}` | `{c.arg}` | {c.what} | {status} | "
            f"{text.replace('|', '/')[:160]} |"
        )
    rows.append("")
    rows.append(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return "\n".join(rows)


def _cli_outcome(argv) -> tuple[int, str]:
    import contextlib
    import io

    from mirrorflow.app import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    lines = err.getvalue().strip().splitlines()
    return code, lines[-1] if lines else ""


def _summary_table() -> str:
    """One row per entry point and argument (the bad inputs tried, how many got a
    clear error, one message), then one row per bad CLI invocation."""
    groups: dict = {}
    for c in bad_inputs():
        groups.setdefault((c.entry.name, c.arg), []).append((c, outcome(c)))
    rows = [
        "| entry point | argument | bad inputs tried | clear | example message |",
        "|---|---|---|---|---|",
    ]
    total = clear = 0
    for (name, arg), cases in groups.items():
        n_clear = sum(o[0] == "clear" for _, o in cases)
        total, clear = total + len(cases), clear + n_clear
        tried = ", ".join(c.what for c, _ in cases)
        example = cases[0][1][1].replace("|", "/")[:140]
        rows.append(
            f"| `{name}` | `{arg}` | {tried} | {n_clear}/{len(cases)} | {example} |"
        )
    rows += ["", "| CLI invocation | exit | message |", "|---|---|---|"]
    for argv, _ in CLI_BAD:
        code, line = _cli_outcome(argv)
        rows.append(f"| `mirrorflow {' '.join(argv)}` | {code} | {line[:140]} |")
    rows += ["", f"library: {clear}/{total} clear; CLI: {len(CLI_BAD)} invocations"]
    return "\n".join(rows)


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # numpy's warnings on NaN input, if any
    if "--json" in sys.argv:
        print(json.dumps({c.id: outcome(c) for c in bad_inputs()}))
    elif "--summary" in sys.argv:
        print(_summary_table())
    else:
        print(_markdown_table())
