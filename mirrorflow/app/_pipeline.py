"""Running experiments through the cache and writing their figures (resumable).

`make_figures` looks every experiment up in the cache, computes the missing ones
with an executor, stores each result the moment it arrives (so an interrupted run
loses only the experiments still running) and writes each figure as soon as its
result is available.

Concurrent runs on one cache compute each result once: a run takes the entry's
lock (`ResultCache.lock`) before handing an experiment to its executor and
releases it once the result is stored, so the lock covers the computation
wherever the executor runs it (here, a worker process, a Dask worker). Locks are
taken without waiting; an experiment whose lock another process holds is left
for the end, when the run waits for that lock alone (holding no other, so two
runs never wait on each other) and then reads the other process's result, or
computes it if that process failed or was killed.
"""

import dataclasses
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._cache import (
    EntryLock,
    ResultCache,
    cache_key,
    code_version,
    config_dict,
    sweep_stale_tmp,
    tmp_prefix,
)
from ._executor import AbstractExecutor, Done, InProcessExecutor, Task
from ._experiments import Experiment
from ._figures import FORMATS, git_commit, sidecar_status, write_figure


class OutputError(Exception):
    """An output or cache folder that cannot be written."""


def check_writable(folder: Path, what: str) -> None:
    """Create `folder` if needed and prove it is writable, or raise `OutputError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep_stale_tmp(folder, target="probe")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=tmp_prefix("probe"))
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        reason = err.strerror or str(err)
        raise OutputError(f"cannot write {what} {str(folder)!r}: {reason}") from None


class Progress:
    """Progress of a run: one line per event, silent if `quiet`.

    On a terminal a bar at the bottom shows how many experiments are done and
    which are running, redrawn twice a second. Elsewhere (CI logs, pipes) long
    computations print a plain "still running" line every `interval` seconds.

    Args:
        total: number of experiments.
        stream: where to write (default: stderr).
        quiet: print nothing.
        interval: seconds between "still running" lines when not on a terminal.
    """

    def __init__(
        self, total: int, stream=None, quiet: bool = False, interval: float = 30.0
    ):
        self.total, self.quiet, self.interval = total, quiet, interval
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self._index: dict[str, int] = {}
        self._running: dict[str, float] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._last_line = time.monotonic()
        self._bar_shown = False

    # --- drawing ---------------------------------------------------------------

    def _bar(self) -> str:
        done = len(self._finished)
        width = 24
        filled = width * done // max(self.total, 1)
        now = time.monotonic()
        running = ", ".join(
            f"{name} {now - t0:.0f} s" for name, t0 in self._running.items()
        )
        text = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        return text + (f" | running: {running}" if running else "")

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\033[K")
            self._bar_shown = False

    def _draw_bar(self) -> None:
        if self.tty and not self.quiet and len(self._finished) < self.total:
            self.stream.write("\r\033[K" + self._bar())
            self.stream.flush()
            self._bar_shown = True

    def _print(self, text: str) -> None:
        with self._lock:
            self._clear_bar()
            print(text, file=self.stream, flush=True)
            self._last_line = time.monotonic()
            self._draw_bar()

    def _line(self, name: str, text: str) -> None:
        if self.quiet:
            return
        i = self._index.setdefault(name, len(self._index) + 1)
        self._print(f"[{i}/{self.total}] {name}: {text}")

    def _tick(self) -> None:
        period = 0.5 if self.tty else min(self.interval, 1.0)
        while not self._stop.wait(period):
            with self._lock:
                if self.tty:
                    self._draw_bar()
                    continue
                now = time.monotonic()
                if self._running and now - self._last_line >= self.interval:
                    running = ", ".join(
                        f"{n} ({now - t0:.0f} s)" for n, t0 in self._running.items()
                    )
                    print(f"... still running: {running}", file=self.stream, flush=True)
                    self._last_line = now

    def _start_ticker(self) -> None:
        if self.quiet or self._ticker is not None:
            return
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def close(self) -> None:
        """Stop the ticker and remove the bar."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            self._clear_bar()
            if self.tty and not self.quiet:
                self.stream.flush()

    # --- events ----------------------------------------------------------------

    def _finish(self, name) -> None:
        self._running.pop(name, None)
        self._finished.add(name)

    def cached(self, name, meta):
        self._finish(name)
        self._line(
            name,
            f"cached (computed in {meta.get('wall_time', float('nan')):.1f} s; "
            f"key {meta['key'][:12]})",
        )

    def corrupt(self, name, reason, path=None):
        where = f" {path}" if path is not None else ""
        self._line(name, f"cache entry{where} is corrupt ({reason}); recomputing")

    def waiting(self, name, lock_path):
        self._line(
            name,
            f"another process is computing it; waiting for its lock ({lock_path})",
        )

    def bad_sidecar(self, name, reason):
        self._line(name, f"{reason}; plotting again")

    def started(self, name, quick, queued=False):
        what = "queued on a worker" if queued else "computing"
        self._running[name] = time.monotonic()
        self._start_ticker()
        self._line(name, f"{what}{' (quick)' if quick else ''} ...")

    def computed(self, name, wall):
        self._finish(name)
        self._line(name, f"computed in {wall:.1f} s")

    def failed(self, name, error):
        self._finish(name)
        last = error.strip().splitlines()[-1] if error.strip() else "error"
        self._line(name, f"FAILED: {last}")
        if not self.quiet:
            self._print(error.rstrip())

    def wrote(self, name, paths, out_dir):
        shown = ", ".join(p.name for p in paths)
        self._line(name, f"wrote {shown} in {out_dir}")

    def up_to_date(self, name, out_dir):
        self._line(name, f"figure in {out_dir} is up to date")

    def cache_error(self, name, error):
        self._line(name, f"could not store the result in the cache: {error}")

    def summary(self, outcomes, wall):
        self.close()
        if self.quiet:
            return
        counts = {
            s: sum(o.status == s for o in outcomes) for s in ("cached", "computed")
        }
        failed = sum(o.status == "failed" for o in outcomes)
        print(
            f"{len(outcomes)} experiments: {counts['cached']} cached, "
            f"{counts['computed']} computed, {failed} failed ({wall:.1f} s)",
            file=self.stream,
            flush=True,
        )


@dataclasses.dataclass
class Outcome:
    """What happened to one experiment in `make_figures`.

    `status` is `"cached"`, `"computed"` or `"failed"`.
    """

    experiment: Experiment
    config: Any
    key: str
    status: str = "pending"
    result: dict | None = None
    meta: dict | None = None
    files: list[Path] = dataclasses.field(default_factory=list)
    error: str | None = None


def make_figures(
    experiments: list[Experiment],
    *,
    quick: bool,
    out_dir: str | Path,
    cache: ResultCache | None,
    executor: AbstractExecutor | None = None,
    seed: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> list[Outcome]:
    """Compute (or read from the cache) every experiment and write its figure.

    Args:
        experiments: what to run, in order.
        quick: the seconds-long settings (CI) instead of the paper's.
        out_dir: where `NAME.png`, `NAME.pdf` and `NAME.json` go.
        cache: the result cache, or None to always compute.
        executor: where to compute (default: in this process).
        seed: overrides every config's `seed`.
        force: recompute even when cached (the new result replaces the entry).
        progress: progress lines (default: stderr).

    Returns:
        One `Outcome` per experiment, in the order given.

    Raises:
        OutputError: `out_dir` or the cache folder cannot be written (checked
            before anything runs).
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    check_writable(out_dir, "the output folder")
    if cache is not None:
        check_writable(cache.root, "the cache folder")
    executor = InProcessExecutor() if executor is None else executor
    progress = Progress(len(experiments)) if progress is None else progress
    commit = git_commit()

    outcomes: dict[str, Outcome] = {}
    pending: list[Task] = []  # computed by this run, their locks held
    waiting: list[Task] = []  # another process holds their locks
    locks: dict[str, EntryLock] = {}

    def lookup(outcome: Outcome) -> bool:
        """Read `outcome` from the cache; True on a hit."""
        name = outcome.experiment.name
        found = cache.load(name, outcome.key)
        if found.status == "hit":
            outcome.status, outcome.result, outcome.meta = (
                "cached",
                found.result,
                found.meta,
            )
            progress.cached(name, found.meta)
            return True
        if found.status == "corrupt":
            progress.corrupt(name, found.reason, found.path)
        return False

    def release(name: str) -> None:
        lock = locks.pop(name, None)
        if lock is not None:
            lock.release()

    def write(outcome: Outcome) -> None:
        exp = outcome.experiment
        if outcome.status == "cached" and not force:
            files, problem = sidecar_status(exp, outcome.key, out_dir, formats)
            if files:
                outcome.files = files
                progress.up_to_date(exp.name, out_dir)
                return
            if problem:
                progress.bad_sidecar(exp.name, problem)
        try:
            outcome.files = write_figure(
                exp,
                outcome.config,
                quick,
                outcome.result,
                outcome.meta,
                out_dir,
                commit,
                formats,
            )
            progress.wrote(exp.name, outcome.files, out_dir)
        except Exception as err:  # noqa: BLE001 -- a plot bug fails one figure
            import traceback

            outcome.status = "failed"
            outcome.error = traceback.format_exc(limit=8)
            progress.failed(exp.name, outcome.error or str(err))

    def started(task: Task) -> None:
        progress.started(task.experiment.name, task.quick, executor.parallel)

    def handle(done: Done) -> None:
        outcome = outcomes[done.task.experiment.name]
        name = outcome.experiment.name
        if done.error is not None:
            release(name)
            outcome.status, outcome.error = "failed", done.error
            progress.failed(name, done.error)
            return
        outcome.status, outcome.result = "computed", done.result
        info = {
            "config": config_dict(outcome.config),
            "quick": bool(quick),
            "code_version": outcome.meta["code_version"],
            "wall_time": done.wall_time,
        }
        outcome.meta = {"key": outcome.key, **info}
        progress.computed(name, done.wall_time)
        if cache is not None:
            try:
                outcome.meta = cache.store(name, outcome.key, done.result, info)
            except OSError as err:
                progress.cache_error(name, err)
            finally:
                release(name)
        write(outcome)

    try:
        for exp in experiments:
            config = exp.with_seed(seed)
            version = code_version(exp.source_path)
            key = cache_key(exp.name, config, quick, version)
            outcome = Outcome(exp, config, key)
            outcomes[exp.name] = outcome
            if cache is not None and not force and lookup(outcome):
                cache.drop_stale_lock(exp.name, key)
                continue
            outcome.meta = {"key": key, "code_version": version}
            task = Task(exp, config, quick, key)
            if cache is not None:
                lock = cache.lock(exp.name, key)
                if not lock.acquire(blocking=False):
                    progress.waiting(exp.name, lock.path)
                    waiting.append(task)
                    continue
                locks[exp.name] = lock
                # Another process may have stored it between the lookup and
                # the lock: read again (a miss costs one failed open).
                if not force and cache.load(exp.name, key).status == "hit":
                    release(exp.name)
                    lookup(outcome)
                    continue
            pending.append(task)

        for outcome in outcomes.values():
            if outcome.status == "cached":
                write(outcome)

        for done in executor.run(pending, started):
            handle(done)

        # Results other processes were computing: wait for each lock alone.
        for task in waiting:
            name = task.experiment.name
            outcome = outcomes[name]
            lock = cache.lock(name, task.key)
            lock.acquire()
            locks[name] = lock
            if not force and lookup(outcome):
                release(name)
                write(outcome)
                continue
            for done in executor.run([task], started):
                handle(done)
    finally:
        for name in list(locks):
            release(name)
        progress.close()
    result = [outcomes[e.name] for e in experiments]
    progress.summary(result, time.perf_counter() - start)
    return result
