"""The three layers: the library, the papers, the app (and what each may import).

- `import mirrorflow` loads neither the papers nor the app nor matplotlib and
  builds no JAX array, so a caller can still choose float64 afterwards.
- Experiments import public names only (`mirrorflow`, `mirrorflow.papers.<paper>`,
  `mirrorflow.app`), never a private `_` module.
- No project file a user sees mentions the developers' spec folder.
"""

import ast
import json
import os
import pathlib
import re
import subprocess
import sys


ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run_fresh(code: str) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON line last."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_mirrorflow_loads_no_app_papers_or_matplotlib_and_builds_no_array():
    code = (
        "import json, sys\n"
        "import mirrorflow\n"
        "import jax\n"
        "mods = sorted(m for m in sys.modules if m.startswith(("
        "'mirrorflow.app', 'mirrorflow.papers', 'matplotlib')))\n"
        "print(json.dumps({'modules': mods, 'arrays': len(jax.live_arrays()),"
        " 'x64': bool(jax.config.read('jax_enable_x64'))}))\n"
    )
    report = _run_fresh(code)
    assert report == {"modules": [], "arrays": 0, "x64": False}


def test_the_papers_load_without_building_arrays():
    code = (
        "import json, jax\n"
        "import mirrorflow.papers.core, mirrorflow.papers.mask\n"
        "import mirrorflow.papers.mirror2, mirrorflow.papers.ham\n"
        "print(json.dumps({'arrays': len(jax.live_arrays()), 'claims': sum(len(m."
        "CLAIMS) for m in (mirrorflow.papers.core, mirrorflow.papers.mask, "
        "mirrorflow.papers.mirror2, mirrorflow.papers.ham))}))\n"
    )
    report = _run_fresh(code)
    assert report["arrays"] == 0 and report["claims"] >= 42


def _imports(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_experiments_import_public_names_only():
    files = sorted((ROOT / "experiments").glob("*/*.py"))
    assert files, "no experiment modules found"
    for path in files:
        for name in _imports(path):
            if name.startswith("mirrorflow"):
                private = [p for p in name.split(".") if p.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)} imports {name}"


# The developers' spec files: users do not have them, so nothing they see may
# point there (the project's own pages are docs/theory/).
_SPEC = re.compile(
    r"shared/|core_and_mask\.md|mirror2_and_ham\.md|signin_and_nanoadam\.md|"
    r"graphon\.md|papers\.md|DESIGN\.md|STYLE\.md"
)


def test_no_user_facing_file_mentions_the_spec_folder():
    # Every file of the project, tests included (this file names the patterns).
    paths = [ROOT / "README.md", *sorted((ROOT / "figures").glob("*.json"))]
    for folder in (
        "mirrorflow",
        "experiments",
        "docs",
        "tests",
        "benchmarks",
        "derivations",
    ):
        paths += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.suffix in (".py", ".md")
            and p.is_file()
            and p.resolve() != pathlib.Path(__file__).resolve()
        ]
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in paths
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if _SPEC.search(line)
    ]
    assert not hits, hits[:20]


def test_no_isinstance_on_reparameterization_or_problem_types_elsewhere():
    # What a reparameterization or problem does (its penalty, its decay family)
    # is a method of it, not an `isinstance` ladder in another module.
    import inspect

    import mirrorflow as mf

    types = {
        name: pathlib.Path(inspect.getfile(obj)).resolve()
        for name, obj in vars(mf).items()
        if inspect.isclass(obj)
        and issubclass(obj, mf.AbstractReparam | mf.AbstractProblem)
        # Interfaces (AbstractLinearProblem) may be checked anywhere: that is
        # what they are for; concrete types may not.
        and not name.startswith("Abstract")
    }
    assert {"Hadamard", "DiffOfSquares", "LinearRegression"} <= set(types)
    hits = []
    for path in sorted((ROOT / "mirrorflow").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and len(node.args) == 2
            ):
                continue
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            names |= {
                n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)
            }
            for name in names & set(types):
                if path.resolve() != types[name]:
                    hits.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not hits, hits


def _python_files(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_integrate_piecewise():
    # `integrate` handles the schedule's jumps itself (flow.breakpoints()).
    hits = [
        str(p.relative_to(ROOT))
        for p in _python_files("mirrorflow", "experiments", "benchmarks", "tests")
        if p.name != "test_structure.py" and "integrate_piecewise" in p.read_text()
    ]
    assert not hits, hits


def test_exactly_one_damped_newton():
    # Every prediction runs the one compiled damped-Newton loop. The BDF
    # corrector (solvers/_bdf.py) solves the implicit step equations of an ODE
    # step, not a minimization, and is not counted.
    defs = []
    for path in _python_files("mirrorflow"):
        if path.name == "_bdf.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and (
                "newton" in node.name.lower() or "line_search" in node.name.lower()
            ):
                defs.append(str(path.relative_to(ROOT)))
    assert set(defs) == {"mirrorflow/predictions/_newton.py"}, defs


def test_public_api_is_small_and_every_name_is_tested():
    import mirrorflow as mf

    assert len(mf.__all__) <= 55 and len(set(mf.__all__)) == len(mf.__all__)
    text = "\n".join(
        p.read_text() for p in _python_files("tests") if p.name != "test_api.py"
    )
    untested = [n for n in mf.__all__ if not re.search(rf"\b{n}\b", text)]
    assert not untested, untested
