"""Interrupted and tampered runs of the app never leave a stale or partial file.

Oracle: an uninterrupted run of the same tiny experiments (the figures' bytes),
and each sidecar's own record of its files' SHA-256 hashes. `figures` is killed
(SIGKILL or SIGINT) at random moments; afterwards every sidecar present must
vouch only for files whose bytes match it, no temporary file may be left once a
run completes, and the rerun must write the reference run's bytes. The default
suite kills 3 times, the slow suite 20 more times (`pytest -m slow
tests/test_interruption.py`).
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirrorflow.app import cli
from mirrorflow.app._cache import stale_tmp, sweep_stale_tmp
from mirrorflow.app._figures import file_sha256

from .test_experiments import quiet_run, run_cli, tiny_set


def _figures_args(exps: Path, out: Path, cache: Path) -> list[str]:
    return [
        "figures",
        "--experiments-dir",
        str(exps),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--quiet",
    ]


def _check_consistent(out: Path) -> None:
    """Every sidecar in `out` lists files that exist with the recorded hashes."""
    for side in out.glob("*.json"):
        doc = json.loads(side.read_text())
        for name in doc["files"]:
            path = out / name
            assert path.is_file(), f"{side.name} vouches for missing {name}"
            assert file_sha256(path) == doc["file_sha256"][name], (
                f"{side.name} vouches for {name} with other bytes"
            )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its figure bytes and its duration."""
    root = tmp_path_factory.mktemp("reference")
    exps = tiny_set(root / "exps", names=("alpha", "beta"))
    start = time.monotonic()
    done = run_cli(*_figures_args(exps, root / "out", root / "cache"))
    assert done.returncode == 0, done.stderr
    files = {
        p.name: p.read_bytes()
        for p in (root / "out").iterdir()
        if p.suffix in (".png", ".pdf")
    }
    assert len(files) == 4
    return {"exps": exps, "files": files, "duration": time.monotonic() - start}


def _kill_and_resume(reference, tmp: Path, delay: float, sig) -> None:
    exps = tmp / "exps"
    shutil.copytree(reference["exps"], exps)
    out, cache = tmp / "out", tmp / "cache"
    args = _figures_args(exps, out, cache)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorflow.app.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if out.exists():
        _check_consistent(out)  # what the killed run left is never stale
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    _check_consistent(out)
    written = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix != ".json"}
    assert written == reference["files"]  # bit-identical to the uninterrupted run
    leftovers = [*out.rglob(".tmp-*"), *cache.rglob(".tmp-*")]
    assert not leftovers, leftovers


def _kills(n: int, seed: int):
    rng = random.Random(seed)
    return [
        (rng.uniform(0.2, 1.2), rng.choice([signal.SIGKILL, signal.SIGINT]))
        for _ in range(n)
    ]


def test_three_random_kills_leave_nothing_stale(reference, tmp_path):
    for i, (fraction, sig) in enumerate(_kills(3, seed=0)):
        _kill_and_resume(
            reference, tmp_path / str(i), fraction * reference["duration"], sig
        )


@pytest.mark.slow
@pytest.mark.parametrize("i", range(20))
def test_twenty_more_random_kills_leave_nothing_stale(reference, tmp_path, i):
    fraction, sig = _kills(20, seed=1)[i]
    _kill_and_resume(reference, tmp_path, fraction * reference["duration"], sig)


def test_a_figure_with_other_bytes_is_plotted_again(tmp_path):
    # The stale-PNG case: a sidecar that records the current key, beside a PNG
    # that is not the one it recorded (left by an interrupted run of another
    # config, truncated, or edited by hand). Only the hash can tell.
    tiny = {"exps": tiny_set(tmp_path / "exps", names=("alpha", "beta"))}
    tiny.update(cache=tmp_path / "cache", out=tmp_path / "out")
    quiet_run(tiny)
    png = tmp_path / "out" / "test.alpha.png"
    good = png.read_bytes()
    png.write_bytes(good[: len(good) // 2])  # truncated
    before = (tmp_path / "out" / "test.beta.png").stat().st_mtime_ns
    quiet_run(tiny)
    assert png.read_bytes() == good  # plotted again, not "up to date"
    # The intact figure is kept as it was (up to date, not rewritten).
    assert (tmp_path / "out" / "test.beta.png").stat().st_mtime_ns == before
    _check_consistent(tmp_path / "out")


def test_stale_temporary_files_of_dead_writers_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / f".tmp-{os.getpid()}-x.png"
    gone = tmp_path / f".tmp-{dead.pid}-x.png"
    anonymous = tmp_path / ".tmp-abcdef.npz"
    for p in (mine, gone, anonymous):
        p.write_bytes(b"")
    assert stale_tmp(gone, 0.0) and not stale_tmp(mine, 0.0)
    assert not stale_tmp(anonymous, 10.0) and stale_tmp(anonymous, 1e9)
    assert sweep_stale_tmp(tmp_path) == 1
    assert mine.exists() and anonymous.exists() and not gone.exists()


def test_unwritable_json_path_fails_before_the_work(tmp_path, capsys):
    bad = tmp_path / "missing" / "out.json"
    for path, why in ((bad, "does not exist"), (tmp_path, "it is a folder")):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["verify", "--claim", "core.min_l2", "--json", str(path)])
        assert exit_.value.code == 2
        captured = capsys.readouterr()
        assert "cannot write --json" in captured.err and why in captured.err
        assert "core.min_l2" not in captured.out  # no claim ran


def test_seed_out_of_range_is_a_clear_cli_error(capsys):
    assert cli.main(["run", "core.alpha_sweep", "--seed", str(2**63), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err
