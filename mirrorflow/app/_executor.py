"""Where experiments run: in this process, in local worker processes, or on Dask.

An executor takes tasks (an experiment with its config) and yields
`(task, result, wall_time, error)` as each finishes, in completion order. Worker
processes are started with `spawn` (JAX is multithreaded; `fork` is unsafe) and
import each experiment module from its file; they switch JAX to float64 iff the
parent had it on, so every path computes the same numbers. Dask is optional: it is
imported only when `DaskExecutor` is used (`pip install "dask[distributed]"`).
"""

import abc
import dataclasses
import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from ._cache import config_dict, normalize_result
from ._experiments import Experiment, load_experiment_file


@dataclasses.dataclass(frozen=True)
class Task:
    """One experiment to compute: the experiment, its config and `quick` flag."""

    experiment: Experiment
    config: Any
    quick: bool
    key: str


@dataclasses.dataclass(frozen=True)
class Done:
    """A finished task: its normalized result or the error's traceback."""

    task: Task
    result: dict | None
    wall_time: float
    error: str | None = None


def _x64() -> bool:
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def _compute(exp: Experiment, config, quick: bool) -> tuple[dict, float]:
    start = time.perf_counter()
    result = exp.run(config, quick)
    wall = time.perf_counter() - start
    return normalize_result(result, exp.name), wall


def run_task(
    source_path: str, config: dict, quick: bool, enable_x64: bool
) -> tuple[dict | None, float, str | None]:
    """Entry point of a worker process: import the module, rebuild the config, run.

    The worker is a program of its own, so it sets JAX's float64 flag (to the
    parent's value) as the CLI does.
    """
    import jax

    jax.config.update("jax_enable_x64", enable_x64)
    start = time.perf_counter()
    try:
        exp = load_experiment_file(source_path)
        cfg = type(exp.config)(
            **{
                f.name: _tuple(config[f.name])
                for f in dataclasses.fields(exp.config)
                if f.name in config
            }
        )
        result, wall = _compute(exp, cfg, quick)
        return result, wall, None
    except Exception:  # noqa: BLE001 -- reported by the parent, run continues
        return None, time.perf_counter() - start, traceback.format_exc(limit=8)


def _tuple(value):
    # JSON turned tuples into lists; frozen configs hold tuples (hashable).
    if isinstance(value, list):
        return tuple(_tuple(v) for v in value)
    return value


class AbstractExecutor(abc.ABC):
    """Runs tasks and yields `Done` in completion order.

    `parallel` is True when `started` means "queued on a worker" rather than
    "running now".
    """

    parallel: bool = True

    @abc.abstractmethod
    def run(
        self, tasks: list[Task], started: Callable[[Task], None] | None = None
    ) -> Iterator[Done]:
        """Yield a `Done` per task; `started(task)` is called when one starts
        (or is handed to a worker)."""

    def close(self) -> None:  # noqa: B027 -- optional hook
        """Release workers (no-op by default)."""


class InProcessExecutor(AbstractExecutor):
    """Runs every task here, one after another (the default; no start-up cost)."""

    parallel = False

    def run(self, tasks, started=None):
        for task in tasks:
            if started is not None:
                started(task)
            start = time.perf_counter()
            try:
                result, wall = _compute(task.experiment, task.config, task.quick)
                yield Done(task, result, wall)
            except Exception:  # noqa: BLE001 -- reported, run continues
                yield Done(
                    task,
                    None,
                    time.perf_counter() - start,
                    traceback.format_exc(limit=8),
                )


class ProcessExecutor(AbstractExecutor):
    """Runs tasks in `workers` local processes (spawned, one task each at a time).

    Args:
        workers: number of processes (>= 1).
    """

    def __init__(self, workers: int):
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"ProcessExecutor: `workers` must be >= 1, got {workers}")
        self.workers = workers

    def run(self, tasks, started=None):
        if not tasks:
            return
        ctx = multiprocessing.get_context("spawn")
        x64 = _x64()
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)), mp_context=ctx
        ) as pool:
            futures = {}
            for task in tasks:
                fut = pool.submit(
                    run_task,
                    str(task.experiment.source_path),
                    config_dict(task.config),
                    task.quick,
                    x64,
                )
                futures[fut] = task
                if started is not None:
                    started(task)
            for fut in as_completed(futures):
                result, wall, error = fut.result()
                yield Done(futures[fut], result, wall, error)


class DaskExecutor(AbstractExecutor):
    """Runs tasks on a Dask cluster: a local one, or the scheduler at `address`.

    Workers of a remote cluster must see the experiment files at the same paths
    and have mirrorflow installed. Needs `dask[distributed]` (optional).

    Args:
        address: a scheduler address (`tcp://host:8786`); None starts a
            `LocalCluster` with `workers` single-threaded processes.
        workers: local worker processes when `address` is None.
        processes: local workers as processes (True) or threads (tests).
    """

    def __init__(
        self, address: str | None = None, workers: int = 2, processes: bool = True
    ):
        try:
            import dask.distributed  # noqa: F401
        except ImportError as err:
            raise ImportError(
                "the Dask executor needs dask.distributed: "
                'pip install "dask[distributed]"'
            ) from err
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"DaskExecutor: `workers` must be >= 1, got {workers}")
        self.address, self.workers, self.processes = address, workers, processes

    def run(self, tasks, started=None):
        if not tasks:
            return
        from dask.distributed import Client, LocalCluster, as_completed as dask_done

        x64 = _x64()
        cluster = None
        if self.address is None:
            cluster = LocalCluster(
                n_workers=min(self.workers, len(tasks)),
                threads_per_worker=1,
                processes=self.processes,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(self.address)
        try:
            futures, owner = [], {}
            for task in tasks:
                fut = client.submit(
                    run_task,
                    str(task.experiment.source_path),
                    config_dict(task.config),
                    task.quick,
                    x64,
                    pure=False,
                    key=f"{task.experiment.name}-{task.key[:12]}",
                )
                futures.append(fut)
                owner[fut.key] = task
                if started is not None:
                    started(task)
            for fut in dask_done(futures):
                result, wall, error = fut.result()
                yield Done(owner[fut.key], result, wall, error)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def make_executor(
    kind: str = "auto", workers: int = 1, address: str | None = None
) -> AbstractExecutor:
    """`"inprocess"`, `"processes"`, `"dask"`, or `"auto"` (in-process for one
    worker, processes otherwise)."""
    if kind == "auto":
        kind = "inprocess" if workers == 1 and address is None else "processes"
        if address is not None:
            kind = "dask"
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(address=address, workers=workers)
    raise ValueError(
        f"unknown executor {kind!r}; use auto, inprocess, processes or dask."
    )
