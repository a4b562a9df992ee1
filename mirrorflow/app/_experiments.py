"""The registry of experiments: one module per figure in `experiments/<paper>/`.

An experiment module defines a frozen dataclass config (with an explicit `seed`), a
`run(config, quick)` returning a dict of numpy arrays and scalars, a
`plot(result, path)` writing one figure file, and a module-level
`EXPERIMENT = Experiment(...)` naming them. `discover` imports every such module
of a folder (files starting with `_` are skipped) without touching JAX's config.
"""

import dataclasses
import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class ExperimentsError(Exception):
    """A user-facing problem with the experiments folder or an experiment module."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One figure of a paper: its config, computation and plot.

    Attributes:
        name: unique name `<paper>.<name>` like a claim id (`core.alpha_sweep`),
            also the figure's file stem (`figures/core.alpha_sweep.png`).
        paper: the paper prefix (`core`, `mask`, ...), as for claims.
        figure: what the figure reproduces (paper figure or theory-page section).
        title: one line shown by `mirrorflow list` and the report.
        config: the default config, a frozen dataclass instance with an int `seed`.
        run: `run(config, quick) -> dict` of numpy arrays and scalars
            (int, float, bool, str); deterministic given the config.
        plot: `plot(result, path)` writes the figure to `path` (`.png` or `.pdf`).
        claims: ids of the registered claims whose numbers this figure shows;
            the report prints their rows beside the figure.
        description: a caption: what is plotted and what to look for.
        source_path: the module file (set by `discover`; part of the cache key).
    """

    name: str
    paper: str
    figure: str
    title: str
    config: Any
    run: Callable[[Any, bool], dict]
    plot: Callable[[dict, Path], None]
    claims: tuple[str, ...] = ()
    description: str = ""
    source_path: Path | None = None

    def __post_init__(self):
        if not (_NAME.match(self.name) and self.name.startswith(self.paper + ".")):
            raise ExperimentsError(
                f"Experiment name {self.name!r} must look like '{self.paper}.<name>' "
                "(the paper prefix, a dot, lowercase letters, digits, underscores); "
                "it is also the figure's file name."
            )
        cfg = self.config
        if not (
            dataclasses.is_dataclass(cfg)
            and not isinstance(cfg, type)
            and type(cfg).__dataclass_params__.frozen
        ):
            raise ExperimentsError(
                f"Experiment {self.name!r}: `config` must be an instance of a frozen "
                f"dataclass, got {type(cfg).__name__}."
            )
        if not isinstance(getattr(cfg, "seed", None), int):
            raise ExperimentsError(
                f"Experiment {self.name!r}: the config needs an explicit int `seed` "
                "field."
            )
        if isinstance(self.claims, str):
            raise ExperimentsError(
                f"Experiment {self.name!r}: `claims` must be a tuple of claim ids, "
                f"got the string {self.claims!r}."
            )

    def with_seed(self, seed: int | None) -> Any:
        """The default config, with `seed` replaced when given."""
        if seed is None:
            return self.config
        return dataclasses.replace(self.config, seed=seed)


def default_root() -> Path:
    """The project root the app works in: the current directory.

    The app never looks for its content (experiments, benchmarks, figures) next to
    its own source file: an installed wheel has none. Pass a root explicitly
    (`--root`) to work on a checkout from elsewhere.
    """
    return Path.cwd()


def default_experiments_dir(root: str | Path | None = None) -> Path:
    """`experiments/` under `root` (default: the current directory)."""
    return Path(default_root() if root is None else root) / "experiments"


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    return f"_mirrorflow_experiment_{path.stem}_{digest}"


def load_experiment_file(path: str | Path) -> Experiment:
    """Import one experiment module by file path and return its `EXPERIMENT`.

    The module is cached in `sys.modules` under a private name derived from its
    path, so worker processes and repeated calls import it once.
    """
    path = Path(path).resolve()
    name = _module_name(path)
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ExperimentsError(f"cannot import experiment module {path.name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up here
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    exp = getattr(module, "EXPERIMENT", None)
    if not isinstance(exp, Experiment):
        raise ExperimentsError(
            f"experiment module {path.name} defines no `EXPERIMENT = Experiment(...)`."
        )
    if exp.source_path is None:
        exp = dataclasses.replace(exp, source_path=path)
        module.EXPERIMENT = exp
    return exp


def discover(directory: str | Path | None = None) -> dict[str, Experiment]:
    """Every experiment under `directory` (default: `./experiments`), one module per
    figure, in `experiments/<paper>/<name>.py` (top-level modules are read too).

    Returns:
        The experiments by name, in file-name order.

    Raises:
        ExperimentsError: the folder is missing (e.g. an installed wheel, which does
            not ship `experiments/`: pass `--experiments-dir`), a module has no
            `EXPERIMENT`, or two modules use one name.
    """
    folder = Path(directory) if directory is not None else default_experiments_dir()
    if not folder.is_dir():
        hint = (
            "the experiments/ folder ships with the source checkout, not with the "
            "installed package: run from the checkout's root, or pass --root DIR or "
            "--experiments-dir DIR"
        )
        raise ExperimentsError(f"experiments folder not found: {folder} ({hint})")
    found: dict[str, Experiment] = {}
    paths = sorted(folder.glob("*.py")) + sorted(folder.glob("*/*.py"))
    for path in paths:
        if path.name.startswith("_") or path.parent.name.startswith(("_", ".")):
            continue
        exp = load_experiment_file(path)
        if exp.name in found:
            raise ExperimentsError(
                f"experiment name {exp.name!r} is used by both "
                f"{found[exp.name].source_path.name} and {path.name}."
            )
        found[exp.name] = exp
    return found
