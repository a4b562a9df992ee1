"""Interrupted and tampered runs of the app never leave a stale or partial file.

Oracle: an uninterrupted run of the same tiny experiments (the figures' bytes, the
report's bytes, the verify JSON's deterministic content), and each sidecar's own
record of its files' SHA-256 hashes. `figures`, `run`, `report` and `verify
--json` are killed (SIGKILL or SIGINT) at random moments; afterwards every sidecar
present must vouch only for files whose bytes match it, every output file must be
absent, its old complete version or the new complete one (never partial), no
temporary file or lock file may be left once a rerun completes, and the rerun must
write the reference run's bytes. The default suite kills 3 times (`figures`, `run`
and `report` once each), the slow suite 38 more times (20 `figures`, 6 each of
`run`, `report` and `verify --json`; `pytest -m slow tests/test_interruption.py`).

Two outputs hold measurements, compared without them: `report.html` shows each
experiment's wall time ("computed in 0.0 s"), and the verify JSON holds the claims'
wall and compile times (and a summary quoting the total). The report's date is
pinned with `SOURCE_DATE_EPOCH`.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirrorflow.app import REGISTRY, Check, ClaimResult, cli
from mirrorflow.app._cache import stale_tmp, sweep_stale_tmp
from mirrorflow.app._figures import file_sha256
from mirrorflow.app._verify_report import to_json

from .test_experiments import make_tiny, quiet_run, ran, run_cli, tiny_set


EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
CLAIM = "core.min_l2"  # one of the quickest claims (~2.5 s, mostly compilation)
OLD = b"an older complete version\n"


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


def _run_args(exps: Path, out: Path, cache: Path) -> list[str]:
    return ["run", "test.alpha", *_figures_args(exps, out, cache)[1:]]


def _report_args(exps: Path, out: Path, cache: Path, verify: Path) -> list[str]:
    return [
        "report",
        "--claim",
        CLAIM,
        "--verify-json",
        str(verify),
        "--experiments-dir",
        str(exps),
        "--figures-dir",
        str(out),
        "--cache-dir",
        str(cache),
        "--quiet",
    ]


def _verify_args(json_path: Path) -> list[str]:
    # One process (no workers to spawn): the kill hits the command itself.
    return ["verify", "--claim", CLAIM, "--json", str(json_path), "--workers", "1"]


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


def _check_no_leftovers(*folders: Path) -> None:
    """No temporary file and no entry lock: all were removed by the rerun."""
    leftovers = [
        p for f in folders for pattern in (".tmp-*", "*.lock") for p in f.rglob(pattern)
    ]
    assert not leftovers, leftovers


def _html_without_wall_times(data: bytes) -> bytes:
    return re.sub(rb"computed in [0-9.?]+ s", b"computed in - s", data)


def _verify_without_timings(data: bytes) -> dict:
    """A verify JSON without its measurements (wall and compile times)."""
    doc = json.loads(data)
    doc["summary"] = re.sub(r" \([0-9.]+ s\)", "", doc["summary"])
    for claim in doc["claims"]:
        claim.pop("wall_time")
        claim.pop("compile_time")
    return doc


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: the figure bytes, the report's bytes, the duration."""
    root = tmp_path_factory.mktemp("reference")
    exps = tiny_set(root / "exps", names=("alpha", "beta"))
    start = time.monotonic()
    done = run_cli(*_figures_args(exps, root / "out", root / "cache"))
    assert done.returncode == 0, done.stderr
    duration = time.monotonic() - start
    files = {
        p.name: p.read_bytes()
        for p in (root / "out").iterdir()
        if p.suffix in (".png", ".pdf")
    }
    assert len(files) == 4
    # The verify results the report reuses: a synthetic file is an exact oracle
    # for what the report shows (no claim is run, the reports stay quick).
    verify = root / "verify.json"
    result = ClaimResult(REGISTRY[CLAIM], (Check("c", 1.0, 1.5, 0.5, 1.0),), 0.25)
    verify.write_text(to_json([result]))
    # The report, uninterrupted, here (the figures above are reused).
    with pytest.MonkeyPatch.context() as mp:
        for k, v in EPOCH.items():
            mp.setenv(k, v)
        args = _report_args(exps, root / "out", root / "cache", verify)
        assert cli.main(args) == 0
    report = {
        "report.md": (root / "out" / "report.md").read_bytes(),
        "report.html": _html_without_wall_times(
            (root / "out" / "report.html").read_bytes()
        ),
    }
    return {
        "exps": exps,
        "verify": verify,
        "files": files,
        "report": report,
        "duration": duration,
    }


def _kill(args: list[str], delay: float, sig, env: dict | None = None) -> None:
    """Start `mirrorflow ARGS`, send it `sig` after `delay` seconds, reap it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorflow.app.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    time.sleep(delay)
    proc.send_signal(sig)
    proc.wait(timeout=60)


def _resume(args: list[str], env: dict | None = None) -> None:
    """Run `mirrorflow ARGS` to completion in this process (a fresh process is
    only needed for the kill; the resumed run's bytes are compared with the
    uninterrupted run's, which is the oracle either way)."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in (env or {}).items():
            mp.setenv(k, v)
        assert cli.main(args) == 0


def _kill_and_resume(reference, tmp: Path, delay: float, sig) -> None:
    """`figures`, killed, then run again."""
    exps = tmp / "exps"
    shutil.copytree(reference["exps"], exps)
    out, cache = tmp / "out", tmp / "cache"
    args = _figures_args(exps, out, cache)
    _kill(args, delay, sig)
    if out.exists():
        _check_consistent(out)  # what the killed run left is never stale
    _resume(args)
    _check_consistent(out)
    written = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix != ".json"}
    assert written == reference["files"]  # bit-identical to the uninterrupted run
    _check_no_leftovers(out, cache)


def _kill_run_and_resume(reference, tmp: Path, delay: float, sig) -> None:
    """`run test.alpha`, killed, then run again (oracle: the figures run's
    test.alpha files, plotted from the same result)."""
    exps = tmp / "exps"
    shutil.copytree(reference["exps"], exps)
    out, cache = tmp / "out", tmp / "cache"
    args = _run_args(exps, out, cache)
    _kill(args, delay, sig)
    if out.exists():
        _check_consistent(out)
    _resume(args)
    _check_consistent(out)
    written = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix != ".json"}
    want = {k: v for k, v in reference["files"].items() if k.startswith("test.alpha")}
    assert written == want
    _check_no_leftovers(out, cache)


def _kill_report_and_resume(reference, tmp: Path, delay: float, sig) -> None:
    """`report`, killed, then run again. An older report is in place before:
    after the kill each report file is that old one or the complete new one."""
    exps = tmp / "exps"
    shutil.copytree(reference["exps"], exps)
    out, cache = tmp / "out", tmp / "cache"
    out.mkdir()
    for name in reference["report"]:
        (out / name).write_bytes(OLD)
    args = _report_args(exps, out, cache, reference["verify"])
    _kill(args, delay, sig, env=EPOCH)
    _check_consistent(out)
    for name, want in reference["report"].items():
        got = (out / name).read_bytes()
        if name.endswith(".html"):
            got = _html_without_wall_times(got)
        assert got in (OLD, want), f"{name} is neither the old nor the new report"
    _resume(args, env=EPOCH)
    _check_consistent(out)
    figures = {p.name: p.read_bytes() for p in out.glob("test.*.p[nd][gf]")}
    assert figures == reference["files"]
    assert (out / "report.md").read_bytes() == reference["report"]["report.md"]
    html = _html_without_wall_times((out / "report.html").read_bytes())
    assert html == reference["report"]["report.html"]
    _check_no_leftovers(out, cache)


def _kills(n: int, seed: int, low: float = 0.2, high: float = 1.2):
    rng = random.Random(seed)
    return [
        (rng.uniform(low, high), rng.choice([signal.SIGKILL, signal.SIGINT]))
        for _ in range(n)
    ]


def test_three_random_kills_of_figures_run_and_report_leave_nothing_stale(
    reference, tmp_path
):
    steps = (_kill_and_resume, _kill_run_and_resume, _kill_report_and_resume)
    for i, (step, (fraction, sig)) in enumerate(
        zip(steps, _kills(3, seed=0), strict=True)
    ):
        step(reference, tmp_path / str(i), fraction * reference["duration"], sig)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(20))
def test_twenty_more_random_kills_leave_nothing_stale(reference, tmp_path, i):
    fraction, sig = _kills(20, seed=1)[i]
    _kill_and_resume(reference, tmp_path, fraction * reference["duration"], sig)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(6))
def test_six_random_kills_of_run_leave_nothing_stale(reference, tmp_path, i):
    fraction, sig = _kills(6, seed=2)[i]
    _kill_run_and_resume(reference, tmp_path, fraction * reference["duration"], sig)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(6))
def test_six_random_kills_of_report_leave_nothing_stale(reference, tmp_path, i):
    fraction, sig = _kills(6, seed=3)[i]
    _kill_report_and_resume(reference, tmp_path, fraction * reference["duration"], sig)


@pytest.fixture(scope="module")
def verify_reference(tmp_path_factory):
    """An uninterrupted `verify --json` of one claim: its content and duration."""
    root = tmp_path_factory.mktemp("verify")
    start = time.monotonic()
    done = run_cli(*_verify_args(root / "v.json"), "--quiet")
    assert done.returncode == 0, done.stderr
    data = (root / "v.json").read_bytes()
    return {"doc": _verify_without_timings(data), "duration": time.monotonic() - start}


@pytest.mark.slow
@pytest.mark.parametrize("i", range(6))
def test_six_random_kills_of_verify_json_leave_nothing_stale(
    verify_reference, tmp_path, i
):
    # An older complete JSON is in place; after the kill the file is that one or
    # the complete new one; the rerun writes the reference's claims and values
    # (its wall and compile times differ: measurements, left out).
    fraction, sig = _kills(6, seed=4)[i]
    path = tmp_path / "v.json"
    old = to_json(
        [ClaimResult(REGISTRY[CLAIM], (Check("old", 1.0, 1.0, 0.0, 1.0),), 9.0)]
    ).encode()
    path.write_bytes(old)
    args = [*_verify_args(path), "--quiet"]
    _kill(args, fraction * verify_reference["duration"], sig)
    got = path.read_bytes()
    assert got == old or _verify_without_timings(got) == verify_reference["doc"]
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert _verify_without_timings(path.read_bytes()) == verify_reference["doc"]
    _check_no_leftovers(tmp_path)


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


def test_ctrl_c_while_computing_exits_130_and_releases_everything(
    tmp_path, monkeypatch, capsys
):
    # Ctrl-C while test.beta computes (it raises KeyboardInterrupt, as Python
    # does on SIGINT): one line, exit 130, alpha's finished work kept, beta's
    # entry lock released, nothing temporary left; the rerun computes only what
    # was lost (oracle: MF_TEST_LOG).
    tiny = make_tiny(tmp_path, monkeypatch)
    args = _figures_args(tiny["exps"], tiny["out"], tiny["cache"])[:-1]
    monkeypatch.setenv("MF_TEST_INTERRUPT", "beta")
    assert cli.main(args) == 130
    err = capsys.readouterr().err
    assert err.endswith("mirrorflow figures: interrupted\n") and "Traceback" not in err
    _check_consistent(tiny["out"])
    assert (tiny["out"] / "test.alpha.json").exists()
    assert not (tiny["out"] / "test.beta.json").exists()
    _check_no_leftovers(tiny["out"], tiny["cache"])
    monkeypatch.delenv("MF_TEST_INTERRUPT")
    assert cli.main(args) == 0
    assert ran(tiny["log"]) == ["alpha", "beta", "beta", "gated"]
    _check_consistent(tiny["out"])
    _check_no_leftovers(tiny["out"], tiny["cache"])


def test_a_write_sweeps_only_its_own_targets_dead_temporary_files(tmp_path):
    # Where `--json FILE` or the report go is the user's folder: a write there
    # removes the temporary files killed writers left for that very file (and
    # the write probe's), never anything else.
    from mirrorflow.app._cache import _atomic_write
    from mirrorflow.app._pipeline import check_writable

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = [
        tmp_path / f".tmp-{dead.pid}-v.json-abc123.json",
        tmp_path / f".tmp-{dead.pid}-probe-xyz",
    ]
    others = [
        tmp_path / f".tmp-{dead.pid}-other.json-abc123.json",
        tmp_path / f".tmp-{dead.pid}-v.json.bak-1",
        tmp_path / ".tmp-someone-elses",
        tmp_path / "v.json.orig",
    ]
    for p in mine + others:
        p.write_bytes(b"partial")
    check_writable(tmp_path, "the report folder")
    _atomic_write(tmp_path / "v.json", b"{}")
    assert (tmp_path / "v.json").read_bytes() == b"{}"
    assert not any(p.exists() for p in mine)
    assert all(p.read_bytes() == b"partial" for p in others)


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
