"""Experiments: registry, cache, executors, figures, CLI, report.

Every assert compares against an independent answer with a stated tolerance: a
recomputation outside the cache, an uninterrupted run, the claims' own numbers
(`verify` and the figures must read the same ones), the Bregman projection for
plotted limits, or a primal Newton solve as a second oracle for the projection.

Most tests use tiny test-only experiments (numpy only, milliseconds) written into
temporary folders; environment variables make them observable and controllable
without changing their results:

- `MF_TEST_LOG`: a file to which every `run` appends its experiment's name (the
  oracle for "was it recomputed?");
- `MF_TEST_GATE`: a file; the experiment named `gated` waits until it exists, so
  a test can kill a run while that experiment is in progress;
- `MF_TEST_FAIL`: the name of an experiment whose `run` raises;
- `MF_TEST_INTERRUPT`: the name of an experiment whose `run` raises
  `KeyboardInterrupt` (Ctrl-C at a known moment, deterministically).
"""

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import mirrorflow.app as mfa
from mirrorflow.app import (
    REGISTRY,
    Check,
    Claim,
    ClaimResult,
    ExperimentsError,
    ProcessExecutor,
    ResultCache,
    cache_key,
    cli,
    code_version,
    discover,
    load_verify_json,
    make_figures,
    normalize_result,
    register,
    unregister,
)
from mirrorflow.app._verify_report import to_json
from mirrorflow.papers.core import P1, P2


TEMPLATE = """
import dataclasses
import os
import time

import numpy as np

from mirrorflow.app import Experiment, new_figure, save_figure


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = {seed}
    n: int = 6
    sizes: tuple[int, ...] = (1, 2)


def run(config, quick):
    log = os.environ.get("MF_TEST_LOG")
    if log:
        with open(log, "a") as f:
            f.write("{name}\\n")
    if os.environ.get("MF_TEST_FAIL") == "{name}":
        raise RuntimeError("test.{name} failed on purpose")
    if os.environ.get("MF_TEST_INTERRUPT") == "{name}":
        raise KeyboardInterrupt  # what Ctrl-C raises at this point
    gate = os.environ.get("MF_TEST_GATE")
    if "{name}" == "gated" and gate:
        deadline = time.monotonic() + 120.0
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)
    rng = np.random.default_rng(config.seed)
    x = rng.standard_normal(config.n if not quick else config.n // 2)
    return {{
        "x": x,
        "cumsum": np.cumsum(x),
        "total": float(x.sum()),
        "count": int(x.size),
        "quick": bool(quick),
        "label": "{name}",
    }}


def plot(result, path):
    fig, axes = new_figure(1, 1, width=2.0, height=1.5)
    ax = axes[0, 0]
    ax.plot(result["cumsum"], label="cumsum")
    ax.set_xlabel("index")
    ax.set_ylabel("value")
    ax.legend()
    save_figure(fig, path)


EXPERIMENT = Experiment(
    name="test.{name}",
    paper="test",
    figure="none (test)",
    title="tiny {name}",
    config=Config(),
    run=run,
    plot=plot,
    claims={claims!r},
    description="A seeded random walk.",
)
"""


def write_tiny(folder: Path, name: str, *, seed: int = 0, claims=()) -> Path:
    """Write the module of tiny experiment `name` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(TEMPLATE.format(name=name, seed=seed, claims=tuple(claims)))
    return path


def expected_result(seed: int = 0, n: int = 6, quick: bool = False) -> dict:
    """The tiny experiment's result computed here, independently of any cache."""
    x = np.random.default_rng(seed).standard_normal(n if not quick else n // 2)
    return {"x": x, "cumsum": np.cumsum(x), "total": float(x.sum())}


def run_cli(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m mirrorflow.app.cli ARGS` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "mirrorflow.app.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        **kwargs,
    )


def ran(log: Path) -> list[str]:
    """Names of the experiments whose `run` was called, in order."""
    return log.read_text().split() if log.exists() else []


NAMES = ("test.alpha", "test.beta", "test.gated")


def tiny_set(folder: Path, names=("alpha", "beta", "gated"), claims=()) -> Path:
    for name in names:
        write_tiny(folder, name, claims=claims)
    return folder


def sidecar_without_wall_time(path: Path) -> dict:
    doc = json.loads(path.read_text())
    doc.pop("wall_time")
    return doc


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Three tiny experiments, a log of their runs, and folders for outputs."""
    return make_tiny(tmp_path, monkeypatch)


def make_tiny(tmp_path, monkeypatch) -> dict:
    """The `tiny` fixture's work (other test modules define the fixture with it)."""
    exps = tiny_set(tmp_path / "exps")
    log = tmp_path / "ran.log"
    monkeypatch.setenv("MF_TEST_LOG", str(log))
    monkeypatch.delenv("MF_TEST_GATE", raising=False)
    monkeypatch.delenv("MF_TEST_FAIL", raising=False)
    monkeypatch.delenv("MF_TEST_INTERRUPT", raising=False)
    return {
        "exps": exps,
        "log": log,
        "out": tmp_path / "figs",
        "cache": tmp_path / "cache",
        "tmp": tmp_path,
    }


def quiet_run(tiny, **kwargs):
    experiments = list(discover(tiny["exps"]).values())
    kwargs.setdefault("cache", ResultCache(tiny["cache"]))
    kwargs.setdefault("out_dir", tiny["out"])
    kwargs.setdefault("quick", False)
    progress = mfa.Progress(len(experiments), quiet=True)
    return make_figures(experiments, progress=progress, **kwargs)


# --- the registry -----------------------------------------------------------------


def test_real_experiments_are_registered_with_existing_claims():
    # Oracle: the claims registry (every claim an experiment shows must exist) and
    # the spec's list of core figures in this issue.
    found = discover()
    assert {"core.alpha_sweep", "core.path_agreement", "core.trajectories"} <= set(
        found
    )
    for exp in found.values():
        assert exp.name.startswith(exp.paper + ".")
        assert exp.claims and all(c in REGISTRY for c in exp.claims), exp.name
        assert dataclasses.is_dataclass(exp.config) and exp.config.seed == 0
    assert set(found["core.alpha_sweep"].claims) == {
        "core.alpha_to_zero_l1",
        "core.alpha_to_inf_l2",
    }


def test_importing_experiments_does_not_touch_jax_config():
    # Oracle: JAX's default (x64 off); modules must not flip it on import.
    code = (
        "import jax; from mirrorflow.app import discover; discover(); "
        "print(jax.config.read('jax_enable_x64'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_missing_experiments_dir_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ExperimentsError, match="experiments folder not found"):
        discover(tmp_path / "nowhere")
    code = cli.main(["figures", "--experiments-dir", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "experiments folder not found" in err


def test_module_without_experiment_is_rejected(tmp_path):
    (tmp_path / "broken.py").write_text("X = 1\n")
    with pytest.raises(ExperimentsError, match="defines no `EXPERIMENT"):
        discover(tmp_path)


# --- the cache --------------------------------------------------------------------


def test_cache_round_trip_is_exact(tmp_path):
    # Oracle: the stored dict itself (bitwise equal arrays, same scalar types).
    result = normalize_result(
        {
            "a": np.linspace(0, 1, 7),
            "m": np.arange(6).reshape(2, 3),
            "s": np.asarray(["P1", "P2"]),
            "f": 0.1,
            "i": 3,
            "b": True,
            "t": "text",
        }
    )
    cache = ResultCache(tmp_path)
    cache.store("e", "k" * 64, result, {"wall_time": 1.0})
    hit = cache.load("e", "k" * 64)
    assert hit.status == "hit"
    assert set(hit.result) == set(result)
    for k, v in result.items():
        got = hit.result[k]
        if isinstance(v, np.ndarray):
            assert got.dtype == v.dtype and np.array_equal(got, v), k
        else:
            assert type(got) is type(v) and got == v, k


def test_normalize_rejects_what_npz_cannot_hold_without_pickle():
    with pytest.raises(TypeError, match="numpy arrays"):
        normalize_result({"a": [1, 2]})
    with pytest.raises(TypeError, match="dtype object"):
        normalize_result({"a": np.asarray([{}, 1], dtype=object)})
    # jax arrays are converted (oracle: numpy's own conversion).
    out = normalize_result({"a": jnp.arange(3.0)})
    assert isinstance(out["a"], np.ndarray) and np.array_equal(out["a"], np.arange(3.0))


def test_cache_key_depends_on_every_input(tiny):
    # Oracle: the key is a hash of (name, config, quick, code version); changing
    # any one input must change it, and equal inputs must give equal keys.
    exp = discover(tiny["exps"])["test.alpha"]
    version = code_version(exp.source_path)
    base = cache_key("test.alpha", exp.config, False, version)
    assert base == cache_key("test.alpha", exp.config, False, version)
    variants = {
        cache_key("test.beta", exp.config, False, version),
        cache_key("test.alpha", exp.with_seed(1), False, version),
        cache_key("test.alpha", dataclasses.replace(exp.config, n=7), False, version),
        cache_key("test.alpha", exp.config, True, version),
        cache_key("test.alpha", exp.config, False, "0" * 64),
    }
    assert base not in variants and len(variants) == 5
    # Editing the experiment module changes the code version.
    path = exp.source_path
    path.write_text(path.read_text() + "\n# edited\n")
    assert code_version(path) != version


@pytest.mark.parametrize("damage", ["flip", "truncate_json", "delete_npz"])
def test_corrupt_entry_is_reported_and_recomputed(tiny, damage, capsys):
    quiet_run(tiny)
    cache = ResultCache(tiny["cache"])
    entry = next((tiny["cache"] / "test.alpha").glob("*.json"))
    meta = json.loads(entry.read_text())
    npz = entry.parent / meta["npz"]
    if damage == "flip":
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        npz.write_bytes(bytes(data))
    elif damage == "truncate_json":
        entry.write_text(entry.read_text()[:40])
    else:
        npz.unlink()
    found = cache.load("test.alpha", meta["key"])
    assert found.status == "corrupt"
    bad = entry if damage == "truncate_json" else npz  # oracle: what was damaged
    assert found.path == bad
    experiments = list(discover(tiny["exps"]).values())
    make_figures(
        experiments, quick=False, out_dir=tiny["out"], cache=cache
    )  # progress on stderr
    err = capsys.readouterr().err
    # The line names the damaged file, so a user can look at it.
    line = f"test.alpha: cache entry {bad} is corrupt ("
    assert line in err and "); recomputing" in err, err
    # Oracle: the independent recomputation of the tiny result.
    hit = cache.load("test.alpha", meta["key"])
    assert hit.status == "hit"
    np.testing.assert_array_equal(hit.result["x"], expected_result()["x"])
    assert ran(tiny["log"]).count("alpha") == 2  # once, then after the damage


def test_concurrent_writers_never_leave_a_corrupt_entry(tmp_path):
    # Two processes store one key 60 times each while this one reads it; every read
    # must be a miss or a valid hit (oracle: the stored arrays), never corrupt.
    # The writers load the cache module by path (it imports only numpy), so
    # they start in a fraction of a second and really overlap.
    script = (
        "import sys, importlib.util, numpy as np\n"
        "spec = importlib.util.spec_from_file_location('c', sys.argv[2])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "c = m.ResultCache(sys.argv[1])\n"
        "r = {'x': np.arange(20000.0), 'y': 1.5}\n"
        "for i in range(60):\n"
        "    c.store('e', 'k' * 64, r, {'wall_time': float(i)})\n"
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                str(tmp_path),
                mfa._cache.__file__,
            ]
        )
        for _ in range(2)
    ]
    cache = ResultCache(tmp_path)
    statuses = set()
    while any(p.poll() is None for p in procs):
        found = cache.load("e", "k" * 64)
        statuses.add(found.status)
        if found.status == "hit":
            np.testing.assert_array_equal(found.result["x"], np.arange(20000.0))
    assert all(p.returncode == 0 for p in procs)
    assert "corrupt" not in statuses
    assert cache.load("e", "k" * 64).status == "hit"
    assert not list((tmp_path / "e").glob(".tmp-*"))  # no stray temporary files


# --- the pipeline, sidecars, determinism -----------------------------------------


def test_second_run_reads_the_cache_and_writes_identical_files(tiny):
    first = quiet_run(tiny)
    assert [o.status for o in first] == ["computed"] * 3
    side = tiny["out"] / "test.alpha.json"
    before = side.read_bytes()
    png = (tiny["out"] / "test.alpha.png").read_bytes()
    # Remove the figures: the cached result must reproduce them byte for byte.
    for f in tiny["out"].iterdir():
        f.unlink()
    second = quiet_run(tiny)
    assert [o.status for o in second] == ["cached"] * 3
    assert ran(tiny["log"]) == ["alpha", "beta", "gated"]  # nothing recomputed
    assert side.read_bytes() == before
    assert (tiny["out"] / "test.alpha.png").read_bytes() == png
    # Oracle for the cached values: recomputation outside the cache.
    np.testing.assert_array_equal(second[0].result["x"], expected_result()["x"])


def test_sidecar_records_provenance_and_the_plotted_numbers(tiny):
    (outcome, *_) = quiet_run(tiny, seed=5)
    doc = json.loads((tiny["out"] / "test.alpha.json").read_text())
    want = expected_result(seed=5)  # oracle: the seeded draw, recomputed here
    np.testing.assert_allclose(doc["data"]["x"], want["x"], rtol=0, atol=0)
    assert doc["data"]["total"] == want["total"]
    assert doc["seed"] == 5 and doc["config"] == {"seed": 5, "n": 6, "sizes": [1, 2]}
    assert doc["quick"] is False and doc["cache_key"] == outcome.key
    assert {"python", "jax", "diffrax", "numpy", "scipy", "matplotlib"} <= set(
        doc["versions"]
    )
    assert doc["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", doc["git_commit"])
    assert isinstance(doc["wall_time"], float) and doc["wall_time"] >= 0
    assert doc["files"] == ["test.alpha.png", "test.alpha.pdf"]
    # No machine paths in a file that may be committed.
    assert str(tiny["tmp"]) not in (tiny["out"] / "test.alpha.json").read_text()


def test_same_seed_gives_identical_sidecars(tiny):
    # Oracle: determinism; two independent caches and output folders.
    quiet_run(tiny)
    quiet_run(tiny, cache=ResultCache(tiny["tmp"] / "c2"), out_dir=tiny["tmp"] / "o2")
    for name in NAMES:
        assert sidecar_without_wall_time(
            tiny["out"] / f"{name}.json"
        ) == sidecar_without_wall_time(tiny["tmp"] / "o2" / f"{name}.json")


def test_different_seeds_give_different_numbers(tiny):
    # Oracle: the seeded draws themselves differ (numpy's generator).
    quiet_run(tiny, seed=1)
    quiet_run(tiny, seed=2, cache=None, out_dir=tiny["tmp"] / "o2")
    one = json.loads((tiny["out"] / "test.alpha.json").read_text())["data"]["x"]
    two = json.loads((tiny["tmp"] / "o2" / "test.alpha.json").read_text())["data"]
    assert not np.allclose(one, two["x"], rtol=0, atol=1e-3)
    np.testing.assert_array_equal(two["x"], expected_result(seed=2)["x"])


def test_a_failing_experiment_does_not_stop_the_others(tiny, monkeypatch, capsys):
    monkeypatch.setenv("MF_TEST_FAIL", "beta")
    code = cli.main(
        [
            "figures",
            "--experiments-dir",
            str(tiny["exps"]),
            "--out",
            str(tiny["out"]),
            "--cache-dir",
            str(tiny["cache"]),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "test.beta: FAILED: RuntimeError: test.beta failed on purpose" in err
    assert (tiny["out"] / "test.alpha.png").exists()
    assert (tiny["out"] / "test.gated.png").exists()
    assert not (tiny["out"] / "test.beta.png").exists()
    # A failure is never cached; its entry lock is gone too (the folder may
    # remain, empty: the lock file lived there while it ran).
    beta = tiny["cache"] / "test.beta"
    assert not beta.exists() or not list(beta.iterdir())


def test_process_executor_gives_the_in_process_numbers(tiny):
    # Oracle: the in-process computation (and the independent recomputation).
    # The pool run uses a cache: its entry locks, held by this process while the
    # workers compute, must neither deadlock the run nor stay behind, and each
    # experiment is computed once (oracle: MF_TEST_LOG, written by the workers).
    here = quiet_run(tiny, cache=None, out_dir=tiny["tmp"] / "a")
    pool = quiet_run(tiny, out_dir=tiny["tmp"] / "b", executor=ProcessExecutor(2))
    for h, p in zip(here, pool, strict=True):
        assert p.status == "computed"
        np.testing.assert_array_equal(h.result["x"], p.result["x"])
    np.testing.assert_array_equal(here[0].result["x"], expected_result()["x"])
    assert sorted(ran(tiny["log"])) == sorted(2 * ["alpha", "beta", "gated"])
    assert not list(tiny["cache"].rglob("*.lock"))


@pytest.mark.slow
def test_dask_local_cluster_gives_the_in_process_numbers(tiny):
    # Oracle: the in-process computation. A real LocalCluster of 2 processes.
    pytest.importorskip("dask.distributed")
    here = quiet_run(tiny, cache=None, out_dir=tiny["tmp"] / "a")
    dask = quiet_run(
        tiny,
        cache=None,
        out_dir=tiny["tmp"] / "c",
        executor=mfa.DaskExecutor(workers=2),
    )
    for h, d in zip(here, dask, strict=True):
        assert d.status == "computed"
        np.testing.assert_array_equal(h.result["x"], d.result["x"])


# --- the command line -------------------------------------------------------------


def _snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_bad_input_exits_2_with_one_line_and_leaves_the_cache_intact(tiny, capsys):
    common = ["--experiments-dir", str(tiny["exps"]), "--cache-dir", str(tiny["cache"])]
    assert cli.main(["figures", "--out", str(tiny["out"]), *common]) == 0
    capsys.readouterr()
    before = _snapshot(tiny["cache"])
    blocker = tiny["tmp"] / "a_file"
    blocker.write_text("not a folder")
    cases = {
        "unknown": (["run", "nosuch", *common], "unknown experiment 'nosuch'"),
        "seed": (["run", "test.alpha", "--seed", "-1", *common], "`--seed` must be"),
        "workers": (["figures", "--workers", "0", *common], "`--workers` must be"),
        "out": (
            ["figures", "--out", str(blocker / "sub"), *common],
            "cannot write the output folder",
        ),
        "run_out": (
            ["run", "test.alpha", "--out", str(blocker / "sub"), *common],
            "cannot write the output folder",
        ),
    }
    for label, (argv, message) in cases.items():
        assert cli.main(argv) == 2, label
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (label, err)
        if label == "unknown":
            assert "known experiments: test.alpha, test.beta, test.gated" in err
    assert _snapshot(tiny["cache"]) == before
    assert ran(tiny["log"]) == ["alpha", "beta", "gated"]


def test_run_one_experiment_with_a_seed(tiny, capsys):
    argv = ["run", "test.beta", "--seed", "3", "--out", str(tiny["out"])]
    argv += ["--experiments-dir", str(tiny["exps"]), "--cache-dir", str(tiny["cache"])]
    assert cli.main(argv) == 0
    doc = json.loads((tiny["out"] / "test.beta.json").read_text())
    assert doc["seed"] == 3
    np.testing.assert_array_equal(doc["data"]["x"], expected_result(seed=3)["x"])
    assert sorted(p.name for p in tiny["out"].iterdir()) == [
        "test.beta.json",
        "test.beta.pdf",
        "test.beta.png",
    ]


def test_list_shows_experiments_with_paper_and_figure(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "core.min_l2" in out  # the claims are still listed
    row = next(line for line in out.splitlines() if line.startswith("core.alpha_sweep"))
    assert "core" in row and "Woodworth" in row and "core.alpha_to_zero_l1" in row


@pytest.mark.slow  # the default suite kills at random moments (test_interruption)
def test_sigkill_then_resume_loses_nothing(tiny):
    # Kill `figures` while `gated` runs (alpha and beta are done), rerun: alpha and
    # beta must come from the cache, and every sidecar must equal that of an
    # uninterrupted run (oracle), apart from the wall time.
    gate = tiny["tmp"] / "gate"
    env = {"MF_TEST_GATE": str(gate), "MF_TEST_LOG": str(tiny["log"])}
    args = ["figures", "--experiments-dir", tiny["exps"], "--out", tiny["out"]]
    args += ["--cache-dir", tiny["cache"]]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorflow.app.cli", *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    lines = []
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        lines.append(line)
        if "test.gated: computing" in line or time.monotonic() > deadline:
            break
    # `gated` has started once its run() has logged itself (it then waits).
    while "gated" not in ran(tiny["log"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert any("test.beta: computed" in line for line in lines), lines
    assert ran(tiny["log"]) == ["alpha", "beta", "gated"]
    assert not (tiny["out"] / "test.gated.json").exists()

    gate.write_text("open")
    resumed = run_cli(*args, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "test.alpha: cached" in resumed.stderr
    assert "test.beta: cached" in resumed.stderr
    assert "test.gated: computed" in resumed.stderr
    assert ran(tiny["log"]) == ["alpha", "beta", "gated", "gated"]

    # The uninterrupted run, in this process, with its own cache and folder.
    quiet_run(tiny, cache=ResultCache(tiny["tmp"] / "c2"), out_dir=tiny["tmp"] / "o2")
    for name in NAMES:
        assert sidecar_without_wall_time(
            tiny["out"] / f"{name}.json"
        ) == sidecar_without_wall_time(tiny["tmp"] / "o2" / f"{name}.json")
    assert not list(tiny["out"].glob(".tmp-*"))


def test_two_concurrent_figures_processes_share_one_cache(tiny):
    # Two `figures` processes on one cache must compute each experiment once in
    # total (oracle: MF_TEST_LOG, appended by every `run` call) and both must
    # finish with figures their sidecars vouch for. The gate keeps `gated`
    # running until both processes have reached it (one computing, the other
    # waiting for the entry's lock), so the processes really overlap: without a
    # lock both would compute it.
    gate = tiny["tmp"] / "gate"
    env = {"MF_TEST_LOG": str(tiny["log"]), "MF_TEST_GATE": str(gate)}
    errs = [tiny["tmp"] / f"err{i}" for i in range(2)]
    procs = []
    for i in range(2):
        with open(errs[i], "w") as err:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "mirrorflow.app.cli",
                        "figures",
                        "--experiments-dir",
                        str(tiny["exps"]),
                        "--out",
                        str(tiny["tmp"] / f"out{i}"),
                        "--cache-dir",
                        str(tiny["cache"]),
                    ],
                    stderr=err,
                    text=True,
                    env={**os.environ, **env},
                )
            )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        texts = [e.read_text() for e in errs]
        if all("test.gated: " in t for t in texts) or any(
            p.poll() is not None for p in procs
        ):
            break
        time.sleep(0.05)
    gate.write_text("open")
    for p, err in zip(procs, errs, strict=True):
        p.wait(timeout=300)
        assert p.returncode == 0, err.read_text()
    texts = [e.read_text() for e in errs]
    assert sum("test.gated: computing" in t for t in texts) == 1, texts
    assert sum("test.gated: another process is computing it" in t for t in texts) == 1
    # Each experiment computed exactly once across the two processes.
    assert sorted(ran(tiny["log"])) == ["alpha", "beta", "gated"], texts
    # Every entry the two writers left is valid (keys are read from the entries:
    # this process may hash a different package tree if files changed meanwhile).
    cache = ResultCache(tiny["cache"])
    entries = sorted(tiny["cache"].glob("*/*.json"))
    assert sorted(p.parent.name for p in entries) == sorted(NAMES)
    for entry in entries:
        found = cache.load(entry.parent.name, entry.stem)
        assert found.status == "hit", (entry, found.reason)
        # Oracle: the independent recomputation.
        np.testing.assert_array_equal(found.result["x"], expected_result()["x"])
    assert not list(tiny["cache"].glob("*/.tmp-*"))  # no stray temporary files
    assert not list(tiny["cache"].glob("*/*.lock"))  # every lock released
    # Both runs finished consistent: each figure has the bytes its sidecar
    # records, and both folders hold the same figures (one cached result each).
    for i in range(2):
        out = tiny["tmp"] / f"out{i}"
        for name in NAMES:
            doc = json.loads((out / f"{name}.json").read_text())
            for f in doc["files"]:
                digest = hashlib.sha256((out / f).read_bytes()).hexdigest()
                assert digest == doc["file_sha256"][f], (out, f)
    for name in NAMES:
        for fmt in ("png", "pdf"):
            a = (tiny["tmp"] / "out0" / f"{name}.{fmt}").read_bytes()
            assert a == (tiny["tmp"] / "out1" / f"{name}.{fmt}").read_bytes()
    # A third run finds everything cached.
    third = quiet_run(tiny, out_dir=tiny["tmp"] / "out2")
    assert [o.status for o in third] == ["cached"] * 3


# --- progress ---------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_and_plain_lines_elsewhere():
    # Oracle: the documented output forms (bar redrawn with "\r" on a terminal,
    # "still running" lines elsewhere, nothing with quiet).
    term = _Terminal()
    progress = mfa.Progress(2, stream=term)
    progress.started("test.a", True)
    time.sleep(0.8)
    progress.close()
    text = term.getvalue()
    assert "\r\033[K[" in text and "running: test.a" in text and "0/2" in text

    log = io.StringIO()
    progress = mfa.Progress(2, stream=log, interval=0.2)
    progress.started("test.a", False)
    time.sleep(1.5)
    progress.computed("test.a", 1.5)
    progress.close()
    text = log.getvalue()
    assert "\r" not in text
    assert re.search(r"\.\.\. still running: test\.a \(\d+ s\)", text)
    assert "[1/2] test.a: computed in 1.5 s" in text

    silent = io.StringIO()
    progress = mfa.Progress(1, stream=silent, quiet=True, interval=0.1)
    progress.started("test.a", False)
    time.sleep(0.3)
    progress.summary([], 0.0)
    assert silent.getvalue() == ""


# --- the report -------------------------------------------------------------------


class _Page(HTMLParser):
    """Collects image sources, links, and the first cell of every table row."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.first_cells = [], [], []
        self._row_cell = None
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("a", "link", "script"):
            self.links.append(attrs.get("href") or attrs.get("src") or "")
        if tag == "tr":
            self._row_cell = ""
        if tag == "td" and self._row_cell == "":
            self._in_td = True

    def handle_endtag(self, tag):
        if tag == "td" and self._in_td:
            self._in_td = False
            self.first_cells.append(self._row_cell)
            self._row_cell = None

    def handle_data(self, data):
        if self._in_td:
            self._row_cell += data


def _fake_verify_json(path: Path, ids) -> dict:
    # Results for the given claims without running them: the report must show
    # whatever verify measured, so a synthetic file is an exact oracle.
    results = [
        ClaimResult(REGISTRY[i], (Check(f"{i} check", 1.0, 1.5, 0.5, 1.0),), 0.25)
        for i in ids
    ]
    path.write_text(to_json(results))
    return json.loads(path.read_text())


def test_report_is_one_self_contained_page_with_every_registered_claim(tmp_path):
    exps = tmp_path / "exps"
    for name in ("alpha", "beta"):
        write_tiny(exps, name, claims=("core.min_l2",))
    verify = tmp_path / "verify.json"
    _fake_verify_json(verify, REGISTRY)
    out, figs = tmp_path / "report", tmp_path / "figs"
    argv = ["report", "--verify-json", verify, "--experiments-dir", exps]
    argv += ["--figures-dir", figs, "--out", out, "--cache-dir", tmp_path / "c"]
    assert cli.main([str(a) for a in argv + ["--quiet"]]) == 0
    page = (out / "report.html").read_text()
    parser = _Page()
    parser.feed(page)
    # Every registered claim has a row in the claims table (oracle: the registry).
    table_ids = set(parser.first_cells)
    assert set(REGISTRY) <= table_ids
    # Images are embedded, byte-identical to the figure files (oracle: the files).
    assert len(parser.images) == 2
    for src, name in zip(parser.images, ("test.alpha", "test.beta"), strict=True):
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert (
            base64.b64decode(src[len(prefix) :]) == (figs / f"{name}.png").read_bytes()
        )
    # Nothing external: links are in-page anchors only, no scripts.
    assert all(link.startswith("#") for link in parser.links), parser.links
    assert "<script" not in page
    # Each figure sits beside the claims it supports.
    section = page[page.index("id='fig-test.alpha'") :]
    assert "core.min_l2" in section[: section.index("</div></div>")]
    md = (out / "report.md").read_text()
    for claim_id in REGISTRY:
        assert f"| {claim_id} |" in md
    link = re.search(r"!\[[^\]]*\]\(([^)]+test\.alpha\.png)\)", md).group(1)
    assert (out / link).resolve() == (figs / "test.alpha.png").resolve()


def test_report_reuses_verify_json_and_runs_only_missing_claims(tmp_path, capsys):
    calls = {"test.reused": 0, "test.missing": 0}

    def make(claim_id):
        def compute():
            calls[claim_id] += 1
            return [Check("x", 2.0, 2.0 + 1e-9, 1e-9, 1e-6)]

        return Claim(claim_id, "test", "cheap", "test only", "exact", "1e-6", compute)

    for claim_id in calls:
        register(make(claim_id))
    try:
        exps = tmp_path / "exps"
        write_tiny(exps, "alpha", claims=("test.reused", "test.missing"))
        verify = tmp_path / "verify.json"
        argv = ["verify", "--claim", "test.reused", "--json", str(verify), "--quiet"]
        assert cli.main(argv) == 0
        assert calls == {"test.reused": 1, "test.missing": 0}
        out = tmp_path / "report"
        argv = ["report", "--claim", "test.reused", "--claim", "test.missing"]
        argv += ["--verify-json", str(verify), "--experiments-dir", str(exps)]
        argv += ["--figures-dir", str(tmp_path / "figs"), "--out", str(out)]
        argv += ["--cache-dir", str(tmp_path / "c")]
        assert cli.main(argv) == 0
        # Oracle: the counters; the reused claim was not run again.
        assert calls == {"test.reused": 1, "test.missing": 1}
        assert "1 claim results read from" in capsys.readouterr().err
        reused = load_verify_json(verify)[0]
        md = (out / "report.md").read_text()
        # The row shows the numbers of the verify file (oracle: that file).
        measured = f"{reused.checks[0].measured:.4g}"
        assert f"| test.reused | test only | cheap | 2 | {measured}" in md
        bad = tmp_path / "bad.json"
        bad.write_text("{}")
        argv[argv.index(str(verify))] = str(bad)
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not a `mirrorflow verify --json` file" in err
    finally:
        for claim_id in calls:
            unregister(claim_id)


# --- the real experiments (quick, reduced where noted) ------------------------------


def _primal_projection(A, b, alpha):
    """argmin_{Ax=b} R_alpha(x) by Newton's method in the null space of A.

    A second oracle for the dual-Newton Bregman projection: it works on the primal
    problem, x = x_p + N w, with R_alpha's gradient arcsinh(x/c)/4 and Hessian
    1/(4 sqrt(x^2 + c^2)) written out here (docs/theory/core.md).
    """
    A, b = np.asarray(A), np.asarray(b)
    c = 2 * alpha**2
    x = np.linalg.pinv(A) @ b
    N = scipy.linalg.null_space(A)
    for _ in range(100):
        g = N.T @ (0.25 * np.arcsinh(x / c))
        if np.linalg.norm(g) < 1e-15:
            break
        H = N.T @ (N / (4 * np.sqrt(x**2 + c**2))[:, None])
        x = x - N @ np.linalg.solve(H, g)
    return x


# ~7 s; CI's quick figures run core.alpha_sweep and verify checks its claims.
@pytest.mark.slow
def test_alpha_sweep_reads_the_claims_numbers_and_matches_two_oracles():
    exp = discover()["core.alpha_sweep"]
    config = dataclasses.replace(
        exp.config,
        alphas_quick=(100.0, 10.0, 1.0, 0.3, 0.1, 1e-5, 1e-10),
        flow_alphas_quick=(0.1,),
    )
    result = exp.run(config, True)
    # Same numbers as verify: the claim's own checks (same functions and grid
    # points; only run-to-run round-off, none expected on CPU: atol 1e-12).
    slopes = [c.measured for c in REGISTRY["core.alpha_to_inf_l2"].compute()]
    np.testing.assert_allclose(
        slopes, [result["p1_slope_l2"], result["p2_slope_l2"]], rtol=0, atol=1e-12
    )
    alphas = list(result["alphas"])
    # Independent primal Newton: agrees with the plotted limits to 1e-9 (both
    # solvers stop at residuals ~1e-12; conditioning at alpha >= 0.1 is mild).
    for tag, prob in zip(("p1", "p2"), (P1(), P2()), strict=True):
        for a in (1.0, 0.3, 0.1):
            want = _primal_projection(prob.A, prob.b, a)
            got = result[f"{tag}_x"][alphas.index(a)]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        # The flow's end point against the prediction: LSODA rtol 1e-11 x 100.
        assert result[f"{tag}_flow_vs_pred"].max() <= 1e-9
        # Plotted distances recomputed from the plotted points (exact).
        x_l1 = result[f"{tag}_x_l1"]
        recomputed = [
            np.abs(x - x_l1).max() / max(1, np.abs(x_l1).max())
            for x in result[f"{tag}_flow_x"]
        ]
        np.testing.assert_allclose(
            result[f"{tag}_flow_err_l1"], recomputed, rtol=1e-15, atol=0
        )


@pytest.mark.slow
def test_alpha_sweep_reads_the_numbers_of_alpha_to_zero_l1():
    # Same numbers as verify: the claim's checks at alpha = 1e-5, 1e-10 on P2
    # (same functions and points; atol 1e-12 for run-to-run round-off).
    exp = discover()["core.alpha_sweep"]
    result = exp.run(exp.config, True)
    alphas = list(result["alphas"])
    checked = 0
    labels = {"P2: err at alpha=1e-5": 1e-5, "P2: err at alpha=1e-10": 1e-10}
    for check in REGISTRY["core.alpha_to_zero_l1"].compute():
        if check.label in labels:
            got = result["p2_err_l1"][alphas.index(labels[check.label])]
            np.testing.assert_allclose(got, check.measured, rtol=0, atol=1e-12)
            checked += 1
    assert checked == 2


@pytest.mark.slow
def test_trajectories_quick(tmp_path):
    traj = discover()["core.trajectories"]
    result = traj.run(traj.config, True)
    # Each path's end point against the Bregman projection, and the paths against
    # each other: Tsit5 at rtol 1e-10, x100 safety (below the claim's 1e-8).
    assert result["final_err"].max() <= 1e-8
    assert result["path_err"].max() <= 1e-8
    loss = result["loss"]
    # Gradient flow never increases the loss (up to the solver's round-off).
    assert np.all(np.diff(loss) <= 1e-8 * loss[:-1] + 1e-18)
    traj.plot(result, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000


@pytest.mark.slow
def test_path_agreement_quick(tmp_path):
    agree = discover()["core.path_agreement"]
    config = dataclasses.replace(agree.config, alphas_quick=(0.1,))
    result = agree.run(config, True)
    # Every diffrax path against scipy's LSODA reference: the claim's tolerance.
    assert result["max_err"].max() <= 1e-8
    # The reference at t = 200 against the Bregman limit (LSODA rtol 1e-12, x1e3).
    assert result["to_limit"][0, -1] <= 1e-9
    agree.plot(result, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000


@pytest.mark.slow
def test_path_agreement_full_run_within_the_claims_tolerance():
    # The full run: Kvaerno5 at the claims' settings, alpha in 1, 0.5, 0.1, 0.03.
    agree = discover()["core.path_agreement"]
    result = agree.run(agree.config, False)
    assert result["max_err"].max() <= 1e-8  # core.reparam_equals_mirror's tolerance


def test_code_version_follows_sibling_modules_named_in_the_source(tmp_path):
    from mirrorflow.app._cache import code_version

    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('SHARED = "b.py"\n')
    b.write_text("x = 1\n")
    c.write_text("y = 1\n")
    before = code_version(a)
    c.write_text("y = 2\n")  # not mentioned by a.py: same version
    assert code_version(a) == before
    b.write_text("x = 2\n")  # mentioned: a new version
    assert code_version(a) != before
