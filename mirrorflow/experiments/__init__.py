"""Experiments: the registry, result cache, executors, figure writer and report.

The experiment modules themselves live in the top-level `experiments/` folder of
the checkout (not in the installed package); `discover` imports them. The
`mirrorflow run`, `figures` and `report` commands are built from these pieces.
"""

from ._cache import (
    Lookup as Lookup,
    ResultCache as ResultCache,
    cache_key as cache_key,
    code_version as code_version,
    normalize_result as normalize_result,
)
from ._digits_mlp import (
    mlp_accuracy as mlp_accuracy,
    mlp_init as mlp_init,
    mlp_logits as mlp_logits,
    mlp_loss as mlp_loss,
)
from ._executor import (
    AbstractExecutor as AbstractExecutor,
    DaskExecutor as DaskExecutor,
    InProcessExecutor as InProcessExecutor,
    ProcessExecutor as ProcessExecutor,
    Task as Task,
    make_executor as make_executor,
)
from ._figures import (
    git_commit as git_commit,
    save_figure as save_figure,
    versions as versions,
    write_figure as write_figure,
)
from ._pipeline import (
    Outcome as Outcome,
    OutputError as OutputError,
    Progress as Progress,
    check_writable as check_writable,
    make_figures as make_figures,
)
from ._registry import (
    Experiment as Experiment,
    ExperimentsError as ExperimentsError,
    default_experiments_dir as default_experiments_dir,
    discover as discover,
    load_experiment_file as load_experiment_file,
    repository_root as repository_root,
)
from ._report import (
    ReportError as ReportError,
    build_report as build_report,
    load_verify_json as load_verify_json,
)
from ._style import (
    COLORS as COLORS,
    new_figure as new_figure,
    paper_style as paper_style,
    positive as positive,
)


__all__ = [
    "COLORS",
    "AbstractExecutor",
    "DaskExecutor",
    "Experiment",
    "ExperimentsError",
    "InProcessExecutor",
    "Lookup",
    "Outcome",
    "OutputError",
    "ProcessExecutor",
    "Progress",
    "ReportError",
    "ResultCache",
    "Task",
    "build_report",
    "cache_key",
    "check_writable",
    "code_version",
    "default_experiments_dir",
    "discover",
    "git_commit",
    "load_experiment_file",
    "load_verify_json",
    "make_executor",
    "make_figures",
    "new_figure",
    "normalize_result",
    "paper_style",
    "positive",
    "repository_root",
    "save_figure",
    "versions",
    "write_figure",
]
