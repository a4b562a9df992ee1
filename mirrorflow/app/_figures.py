"""The figure writer: each experiment's figure files plus a JSON sidecar.

The sidecar `NAME.json` holds everything needed to tell where a figure came from
and to read its numbers without the picture: the config and seed, the `quick`
flag, the cache key and code version, the versions of the numeric libraries, the
git commit (null outside a checkout), the wall time of the computation, the
SHA-256 of every figure file (a rerun trusts a figure only if its bytes match) and
every number plotted (the experiment's result, arrays as nested lists). It names
no absolute path. A rerun from the cache writes byte-identical files.
"""

import hashlib
import json
import math
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from ._cache import _atomic_write, config_dict, sweep_stale_tmp
from ._experiments import Experiment, default_root


FORMATS = ("png", "pdf")
SIDECAR_PACKAGES = (
    "mirrorflow",
    "jax",
    "jaxlib",
    "diffrax",
    "equinox",
    "lineax",
    "optax",
    "numpy",
    "scipy",
    "matplotlib",
)


def versions() -> dict[str, str | None]:
    """Installed versions of Python and the packages a figure depends on."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in SIDECAR_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: Path | None = None) -> dict[str, str | bool | None]:
    """`{"commit": sha or None, "dirty": bool or None}` of the checkout at `root`."""
    root = default_root() if root is None else root
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def jsonable(value):
    """Arrays to nested lists, non-finite floats to "nan"/"inf"/"-inf" strings."""
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def save_figure(fig, path: str | Path) -> None:
    """Save a matplotlib `Figure` reproducibly (no timestamps) at paper resolution.

    Use it at the end of an experiment's `plot(result, path)`. Works with a bare
    `matplotlib.figure.Figure` (no pyplot, no global backend).
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    meta = {"png": {"Software": None}, "pdf": {"CreationDate": None}}.get(fmt)
    fig.savefig(path, dpi=200, metadata=meta)


def sidecar(
    exp: Experiment,
    config,
    quick: bool,
    result: dict,
    meta: dict,
    files: list[str],
    commit: dict,
    hashes: dict[str, str] | None = None,
) -> dict:
    """The sidecar's content (see the module docstring); `hashes` maps each
    file name to the SHA-256 of its bytes."""
    return {
        "experiment": exp.name,
        "paper": exp.paper,
        "figure": exp.figure,
        "title": exp.title,
        "description": exp.description,
        "claims": list(exp.claims),
        "config": config_dict(config),
        "seed": config.seed,
        "quick": bool(quick),
        "cache_key": meta["key"],
        "code_version": meta["code_version"],
        "versions": versions(),
        "git_commit": commit["commit"],
        "git_dirty": commit["dirty"],
        "wall_time": meta["wall_time"],
        "files": files,
        "file_sha256": hashes,
        # Sorted: a computed and a cached result give the same file.
        "data": jsonable(dict(sorted(result.items()))),
    }


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecar_status(
    exp: Experiment, key: str, out_dir: Path, formats
) -> tuple[list[Path], str | None]:
    """`(files, problem)`: the files of `exp` in `out_dir` if its sidecar records
    `key` and every file exists with the bytes the sidecar records (then plotting
    again would write the same files), else `[]`; `problem` names the sidecar
    and what is wrong with it when it exists but is not a readable sidecar (not
    UTF-8, not JSON, not an object, fields of the wrong type), else None.

    A figure replaced, truncated or left by an interrupted run does not match its
    recorded hash and is plotted again. The sidecar is only parsed as JSON, never
    executed, whoever wrote it."""
    side = out_dir / f"{exp.name}.json"
    try:
        doc = json.loads(side.read_text())
    except FileNotFoundError:
        return [], None
    except OSError as err:
        return [], f"cannot read the sidecar {side}: {err.strerror}"
    except ValueError as err:  # not UTF-8 or not JSON
        return [], f"the sidecar {side} is not JSON ({err})"
    if not isinstance(doc, dict):
        what = type(doc).__name__
        return [], f"the sidecar {side} is a JSON {what}, not an object"
    hashes, listed = doc.get("file_sha256"), doc.get("files")
    if not (isinstance(hashes, dict) and isinstance(listed, list)):
        return [], (
            f"the sidecar {side} lacks the `files` list or the `file_sha256` record"
        )
    files = [out_dir / f"{exp.name}.{fmt}" for fmt in formats]
    if (
        doc.get("cache_key") == key
        and listed == [p.name for p in files]
        and all(p.is_file() for p in files)
        and all(hashes.get(p.name) == file_sha256(p) for p in files)
    ):
        return [*files, side], None
    return [], None


def up_to_date(exp: Experiment, key: str, out_dir: Path, formats) -> list[Path]:
    """The files of `exp` in `out_dir` if they are up to date (see
    `sidecar_status`), else `[]`."""
    return sidecar_status(exp, key, out_dir, formats)[0]


def write_figure(
    exp: Experiment,
    config,
    quick: bool,
    result: dict,
    meta: dict,
    out_dir: Path,
    commit: dict,
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Plot `result` into `out_dir/NAME.{png,pdf}` and write `out_dir/NAME.json`.

    Each file is written to a temporary name and moved into place, so a killed
    run never leaves a half-written figure; the old sidecar goes first, so a run
    killed between the figures and the new sidecar leaves no sidecar vouching for
    them; temporary files of killed runs are removed. Returns the paths written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_stale_tmp(out_dir)
    side = out_dir / f"{exp.name}.json"
    try:
        side.unlink()
    except FileNotFoundError:
        pass
    written = []
    for fmt in formats:
        final = out_dir / f"{exp.name}.{fmt}"
        tmp = out_dir / f".tmp-{os.getpid()}-{exp.name}.{fmt}"
        try:
            exp.plot(result, tmp)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        written.append(final)
    hashes = {p.name: file_sha256(p) for p in written}
    doc = sidecar(
        exp, config, quick, result, meta, [p.name for p in written], commit, hashes
    )
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    _atomic_write(side, text.encode())
    written.append(side)
    return written
