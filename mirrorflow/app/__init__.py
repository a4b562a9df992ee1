"""The app: registries, the verify runner, the result cache, executors, figures,
the report, the bench runner and the `mirrorflow` command.

Loaded by the console script, by experiment modules (for the figure helpers) and by
benchmarks (for `BenchRow`), never by `import mirrorflow`. It finds its content
(experiments, benchmarks, figures) under an explicit project root, by default the
current directory (`--root DIR`).
"""

from ..papers._claim import Check as Check, Claim as Claim
from ._bench import default_benchmarks_dir as default_benchmarks_dir
from ._bench_rows import BenchRow as BenchRow, Timing as Timing, time_call as time_call
from ._cache import (
    Lookup as Lookup,
    ResultCache as ResultCache,
    cache_key as cache_key,
    code_version as code_version,
    normalize_result as normalize_result,
)
from ._executor import (
    AbstractExecutor as AbstractExecutor,
    DaskExecutor as DaskExecutor,
    InProcessExecutor as InProcessExecutor,
    ProcessExecutor as ProcessExecutor,
    Task as Task,
    make_executor as make_executor,
)
from ._experiments import (
    Experiment as Experiment,
    ExperimentsError as ExperimentsError,
    default_experiments_dir as default_experiments_dir,
    default_root as default_root,
    discover as discover,
    load_experiment_file as load_experiment_file,
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
from ._report import (
    ReportError as ReportError,
    build_html as build_html,
    build_markdown as build_markdown,
    build_report as build_report,
    load_verify_json as load_verify_json,
)
from ._style import (
    COLORS as COLORS,
    new_figure as new_figure,
    paper_style as paper_style,
    positive as positive,
)
from ._verify import (
    AUDIT_LABEL as AUDIT_LABEL,
    REGISTRY as REGISTRY,
    ClaimResult as ClaimResult,
    audit_check as audit_check,
    claims as claims,
    register as register,
    run_claim as run_claim,
    select as select,
    unregister as unregister,
)
