"""The per-entry lock of the result cache (`ResultCache.lock`, `flock`).

Oracles: the kernel's `flock` semantics (one holder at a time, released when its
holder dies), the file system (which lock file is on disk, by inode) and
MF_TEST_LOG (every `run` call of a tiny experiment, to count computations). The
two-process case is `test_experiments.py::
test_two_concurrent_figures_processes_share_one_cache`.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from mirrorflow.app import ResultCache, _cache, cache_key, code_version, discover
from mirrorflow.app._cache import EntryLock

from .test_experiments import expected_result, make_tiny, quiet_run, ran


pytestmark = pytest.mark.skipif(
    _cache.fcntl is None, reason="no fcntl (Windows): the cache has no lock"
)


PNG = ("png",)  # one format: the lock is what is tested, not the plotting


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    return make_tiny(tmp_path, monkeypatch)


def test_one_holder_at_a_time_and_release_removes_the_file(tmp_path):
    path = tmp_path / "e" / "k.lock"
    a, b = EntryLock(path), EntryLock(path)
    assert a.acquire(blocking=False) and path.exists()
    assert not b.acquire(blocking=False)  # flock: a second holder is refused
    a.release()
    assert not path.exists()  # removed by its holder
    assert b.acquire(blocking=False)
    b.release()


def test_a_waiter_ends_up_holding_the_file_on_disk(tmp_path):
    # The waiter opened the file its holder then removed; after the holder's
    # release it must hold the lock of the file at the path (oracle: inodes),
    # else a third process could lock a new file and hold it at the same time.
    path = tmp_path / "k.lock"
    holder, waiter = EntryLock(path), EntryLock(path)
    assert holder.acquire()
    got = threading.Event()
    thread = threading.Thread(target=lambda: waiter.acquire() and got.set())
    thread.start()
    time.sleep(0.2)
    assert not got.is_set()  # it waits
    holder.release()
    thread.join(timeout=10)
    assert got.is_set()
    assert os.fstat(waiter._fd).st_ino == os.stat(path).st_ino
    assert not EntryLock(path).acquire(blocking=False)
    waiter.release()


def test_a_killed_holder_does_not_leave_the_lock_stuck(tmp_path):
    # A process holds the lock and is SIGKILLed (its release never runs): the
    # kernel frees the lock; the file stays until someone finds it unheld.
    script = (
        "import sys, time, importlib.util\n"
        "spec = importlib.util.spec_from_file_location('c', sys.argv[2])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "lock = m.EntryLock(sys.argv[1]); lock.acquire()\n"
        "print('held', flush=True); time.sleep(60)\n"
    )
    path = tmp_path / "e" / "k.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path), _cache.__file__],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    assert not EntryLock(path).acquire(blocking=False)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    assert path.exists()  # left behind by the killed holder
    cache = ResultCache(tmp_path)
    cache.drop_stale_lock("e", "k")
    assert not path.exists()
    lock = EntryLock(path)
    assert lock.acquire(blocking=False)
    lock.release()


def test_a_run_finds_a_dead_holders_lock_file_and_computes_once(tiny):
    # Lock files a killed run left (unheld) neither block a run nor remain.
    exps = discover(tiny["exps"])
    cache = ResultCache(tiny["cache"])
    for name in ("test.alpha", "test.beta"):
        exp = exps[name]
        key = cache_key(name, exp.config, False, code_version(exp.source_path))
        cache.lock_path(name, key).parent.mkdir(parents=True, exist_ok=True)
        cache.lock_path(name, key).write_bytes(b"")
    outcomes = quiet_run(tiny, formats=PNG)
    assert [o.status for o in outcomes] == ["computed"] * 3
    assert sorted(ran(tiny["log"])) == ["alpha", "beta", "gated"]
    assert not list(tiny["cache"].rglob("*.lock"))


def test_an_entry_held_by_another_process_is_read_not_computed(tiny):
    # Another process holds test.alpha's lock while it "computes"; this run must
    # wait, then read the stored result (oracle: the log shows no alpha run
    # here, and the result is the independent recomputation).
    exps = discover(tiny["exps"])
    exp = exps["test.alpha"]
    version = code_version(exp.source_path)
    key = cache_key(exp.name, exp.config, False, version)
    cache = ResultCache(tiny["cache"])
    other = cache.lock(exp.name, key)
    assert other.acquire()
    result = {**expected_result(), "count": 6, "quick": False, "label": "alpha"}

    def store_then_release():
        time.sleep(0.5)
        info = {"code_version": version, "quick": False, "wall_time": 0.5}
        cache.store(exp.name, key, result, info)
        other.release()

    thread = threading.Thread(target=store_then_release)
    thread.start()
    outcomes = quiet_run(tiny, cache=cache, formats=PNG)
    thread.join()
    assert [o.status for o in outcomes] == ["cached", "computed", "computed"], [
        o.error for o in outcomes
    ]
    assert "alpha" not in ran(tiny["log"])
    assert outcomes[0].result["total"] == expected_result()["total"]
    assert (tiny["out"] / "test.alpha.png").exists()
    assert not list(tiny["cache"].rglob("*.lock"))


def test_without_fcntl_runs_work_without_a_lock(tiny, monkeypatch):
    # Windows has no fcntl: no lock file, no error, results as usual.
    monkeypatch.setattr(_cache, "fcntl", None)
    path = tiny["tmp"] / "k.lock"
    assert EntryLock(path).acquire(blocking=False)
    assert EntryLock(path).acquire(blocking=False)  # no exclusion
    assert not path.exists()
    outcomes = quiet_run(tiny, formats=PNG)
    assert [o.status for o in outcomes] == ["computed"] * 3
    assert not list(tiny["cache"].rglob("*.lock"))
