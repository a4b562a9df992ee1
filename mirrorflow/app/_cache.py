"""A content-addressed cache of experiment results (`.npz` + JSON, atomic writes).

Key: sha256 of the experiment's name, its config (seed included), the `quick` flag
and the code version (the experiment module's source, every source file of the
`mirrorflow` package and the versions of the numeric libraries). An entry is two
files in `<cache dir>/<experiment>/`:

- `<key>-<sha16>.npz`: the arrays (`allow_pickle=False`), named after the first 16
  hex digits of its own sha256, so concurrent writers of one result never write
  different bytes under one name;
- `<key>.json`: metadata, the npz file name and its full sha256. It is written
  last and is the commit point: an entry exists once its JSON does.

Every file is written to a uniquely named temporary file in the same folder and
moved into place with `os.replace` (atomic on POSIX), so a killed or concurrent
writer leaves either the old entry, the new entry, or a stray temporary file
(`.tmp-PID-...`, removed by a later write once its writer is dead).
A JSON that does not parse or has the wrong shape, a missing npz, a checksum
mismatch or an npz that needs pickle is reported as corrupt, naming the file, and
the caller recomputes. Nothing read from a cache folder can execute code: the
metadata is JSON and the arrays are read with `allow_pickle=False`.

`ResultCache.lock` is a per-entry lock (`<key>.lock` beside the entry, `flock`):
the process that computes a result holds it until the result is stored, so
concurrent runs on one cache compute each result once. The kernel releases it
when its holder dies; the lock file goes when its holder releases it, or with the
next run that finds it unheld. Without `fcntl` (Windows) there is no lock and
concurrent runs may compute a result twice (each stores the same bytes).
"""

import dataclasses
import datetime
import hashlib
import io
import json
import os
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np


try:
    import fcntl
except ImportError:  # Windows: no per-entry lock
    fcntl = None


FORMAT = 1
NUMERIC_PACKAGES = (
    "jax",
    "jaxlib",
    "diffrax",
    "equinox",
    "lineax",
    "optax",
    "numpy",
    "scipy",
)
_STALE_TMP_S = 3600.0
_ORPHAN_S = 60.0


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _package_source_digest() -> str:
    """sha256 over every `.py` file of the installed `mirrorflow` package.

    Recomputed on every call (a few ms), so a long-lived process sees edits.
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def code_version(source_path: str | Path | None) -> str:
    """The code version of one experiment: its module, the package, the libraries.

    Includes the sibling experiment modules whose file name the module's source
    mentions (one experiment may reuse another's training code).
    """
    h = hashlib.sha256()
    h.update(b"mirrorflow:" + _package_source_digest().encode())
    if source_path is not None:
        path = Path(source_path)
        text = path.read_bytes()
        h.update(b"\0experiment:" + text)
        # Sibling experiment modules it loads by file name (shared training code).
        for sibling in sorted(path.parent.glob("*.py")):
            if sibling != path and sibling.name.encode() in text:
                h.update(b"\0uses:" + sibling.read_bytes())
    versions = {p: _package_version(p) for p in NUMERIC_PACKAGES}
    h.update(b"\0versions:" + json.dumps(versions, sort_keys=True).encode())
    return h.hexdigest()


def config_dict(config) -> dict:
    """A frozen dataclass config as plain JSON-able data."""
    return json.loads(json.dumps(dataclasses.asdict(config), sort_keys=True))


def cache_key(name: str, config, quick: bool, version: str) -> str:
    """sha256 of (experiment name, config, quick flag, code version)."""
    payload = {
        "experiment": name,
        "config": config_dict(config),
        "quick": bool(quick),
        "code_version": version,
        "format": FORMAT,
    }
    text = json.dumps(payload, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- results: dicts of numpy arrays and scalars ----------------------------------

_SCALARS = {"int": int, "float": float, "bool": bool, "str": str}


def normalize_result(result, name: str = "experiment") -> dict:
    """Check and convert `run`'s output: numpy arrays (jax arrays are converted) and
    Python/numpy scalars of type int, float, bool or str.

    Raises:
        TypeError: not a dict with str keys, or a value of another type (objects,
            lists, nested dicts), which `.npz` without pickle cannot hold.
    """
    if not isinstance(result, dict):
        raise TypeError(
            f"{name}: `run` must return a dict of arrays and scalars, got "
            f"{type(result).__name__}."
        )
    out = {}
    for key, value in result.items():
        if not (isinstance(key, str) and key.isidentifier()):
            raise TypeError(f"{name}: result key {key!r} must be an identifier str.")
        if isinstance(value, bool | np.bool_):
            out[key] = bool(value)
        elif isinstance(value, int | np.integer):
            out[key] = int(value)
        elif isinstance(value, float | np.floating):
            out[key] = float(value)
        elif isinstance(value, str):
            out[key] = value
        elif hasattr(value, "__array__") and not isinstance(value, list | tuple):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biufU":
                raise TypeError(
                    f"{name}: result {key!r} has dtype {arr.dtype}; only bool, int, "
                    "float and str arrays can be cached without pickle."
                )
            out[key] = arr
        else:
            raise TypeError(
                f"{name}: result {key!r} is a {type(value).__name__}; return numpy "
                "arrays or int/float/bool/str scalars (use np.asarray for lists)."
            )
    return out


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A deterministic `.npz` (fixed zip timestamps, sorted members)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arrays[key], allow_pickle=False)
    return buf.getvalue()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stale_tmp(path: Path, age: float) -> bool:
    """Whether `path` is a temporary file left by a writer that is gone.

    Temporary names are `.tmp-PID-...`: the file is stale once that process no
    longer runs (a killed run: its `finally` never ran). A name without a PID, or
    a PID alive on this machine (a concurrent writer, or another machine sharing
    the folder), is stale only after `_STALE_TMP_S`.
    """
    name = path.name
    if not name.startswith(".tmp-"):
        return False
    if age > _STALE_TMP_S:
        return True
    pid = name[len(".tmp-") :].split("-", 1)[0]
    return pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))


def _tmp_target(name: str) -> str:
    """What a temporary name `.tmp-PID-TARGET-...` was written for ("" if none)."""
    rest = name[len(".tmp-") :].split("-", 1)
    return rest[1] if len(rest) == 2 else ""


def tmp_prefix(target: str) -> str:
    """The prefix of this process's temporary files for `target` (a file name)."""
    return f".tmp-{os.getpid()}-{target}-"


def sweep_stale_tmp(folder: Path, target: str | None = None) -> int:
    """Remove the stale temporary files (`stale_tmp`) in `folder`; their count.

    With `target` (a file name), only those written for it (`tmp_prefix`): in a
    folder that is not ours (where `--json FILE` goes) nothing else is touched.
    """
    now, removed = time.time(), 0
    try:
        paths = list(folder.iterdir())
    except OSError:
        return 0
    for path in paths:
        if target is not None and not _tmp_target(path.name).startswith(target + "-"):
            continue
        try:
            age = now - path.stat().st_mtime
            if stale_tmp(path, age):
                path.unlink()
                removed += 1
        except (FileNotFoundError, PermissionError):
            continue
    return removed


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to a unique temporary file beside `path`, then `os.replace`.

    The file gets the permissions of a plainly created one (mkstemp's are 0600).
    Temporary files that killed writers left for `path` are removed first.
    """
    sweep_stale_tmp(path.parent, target=path.name)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=tmp_prefix(path.name), suffix=path.suffix
    )
    try:
        os.fchmod(fd, _MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@dataclasses.dataclass(frozen=True)
class Lookup:
    """The outcome of `ResultCache.load`.

    `status` is `"hit"` (then `result` and `meta` are set), `"miss"` or
    `"corrupt"` (then `path` is the bad file and `reason` says what is wrong).
    """

    status: str
    result: dict | None = None
    meta: dict | None = None
    reason: str = ""
    path: Path | None = None


class EntryLock:
    """An exclusive lock on one cache entry: `flock` on the file `path`.

    `acquire` returns False when `blocking` is False and another process (or
    another `EntryLock` of this process) holds it. `release` removes the file
    while still holding it; an acquirer that locked a file removed meanwhile
    checks that its file is still the one at `path` and retries otherwise, so two
    holders never coexist. Without `fcntl`, on a file system without `flock` or
    where the lock file cannot be created, it acquires nothing and returns True
    (no lock: at worst a result is computed twice).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, blocking: bool = True) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this EntryLock")
        if fcntl is None:
            return True
        flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:
                return True  # a read-only cache: no lock, as without fcntl
            try:
                fcntl.flock(fd, flags)
            except BlockingIOError:
                os.close(fd)
                return False
            except OSError:  # a file system without flock: no lock
                os.close(fd)
                return True
            except BaseException:
                os.close(fd)
                raise
            try:
                on_disk = os.stat(self.path)
                mine = os.fstat(fd)
                same = (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return True
            os.close(fd)  # its holder removed it: lock the file now at `path`

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)  # releases the flock

    def __enter__(self) -> "EntryLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class ResultCache:
    """Experiment results on disk, keyed by `cache_key`.

    Args:
        root: the cache folder (created on first write).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        return self.root / name

    def json_path(self, name: str, key: str) -> Path:
        return self._dir(name) / f"{key}.json"

    def lock_path(self, name: str, key: str) -> Path:
        return self._dir(name) / f"{key}.lock"

    def lock(self, name: str, key: str) -> EntryLock:
        """The (not yet acquired) lock of one entry; see `EntryLock`."""
        return EntryLock(self.lock_path(name, key))

    def drop_stale_lock(self, name: str, key: str) -> None:
        """Remove the lock file of an entry if nobody holds it (a killed holder's)."""
        path = self.lock_path(name, key)
        if fcntl is None or not path.exists():
            return
        lock = EntryLock(path)
        try:
            if lock.acquire(blocking=False):
                lock.release()
        except OSError:
            pass  # a read-only cache: the file stays, harmless

    def load(self, name: str, key: str) -> Lookup:
        """Read one entry and verify it (checksum, members, scalar types)."""
        jpath = self.json_path(name, key)

        def corrupt(path: Path, reason: str) -> Lookup:
            return Lookup("corrupt", reason=reason, path=path)

        try:
            text = jpath.read_text()
        except FileNotFoundError:
            return Lookup("miss")
        except (OSError, ValueError) as err:  # ValueError: not UTF-8
            return corrupt(jpath, f"cannot read it: {err}")
        try:
            meta = json.loads(text)
        except ValueError as err:
            return corrupt(jpath, f"not JSON: {err}")
        if not isinstance(meta, dict):
            return corrupt(jpath, f"a JSON {type(meta).__name__}, not an object")
        missing = [k for k in ("npz", "sha256", "arrays", "scalars") if k not in meta]
        if missing:
            return corrupt(jpath, f"missing field {', '.join(map(repr, missing))}")
        npz_name, digest = meta["npz"], meta["sha256"]
        arrays, scalars = meta["arrays"], meta["scalars"]
        if not (
            isinstance(npz_name, str)
            and Path(npz_name).name == npz_name
            and npz_name.endswith(".npz")
            and isinstance(digest, str)
            and isinstance(arrays, list)
            and all(isinstance(a, str) for a in arrays)
            and isinstance(scalars, dict)
        ):
            return corrupt(jpath, "a field of the wrong type (npz, sha256, arrays)")
        if meta.get("key") != key or meta.get("format") != FORMAT:
            return corrupt(jpath, "its metadata names another key or format")
        npath = self._dir(name) / npz_name
        try:
            data = npath.read_bytes()
        except OSError:
            return corrupt(npath, "missing")
        if hashlib.sha256(data).hexdigest() != digest:
            return corrupt(npath, "checksum mismatch")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                loaded = {k: npz[k] for k in npz.files}
        except Exception as err:  # noqa: BLE001 -- any unreadable file is corrupt
            return corrupt(npath, f"not a pickle-free npz: {err}")
        if sorted(loaded) != sorted(arrays + list(scalars)):
            return corrupt(npath, "other members than its metadata lists")
        result = {}
        for k, v in loaded.items():
            if k in scalars:
                kind = _SCALARS.get(scalars[k]) if isinstance(scalars[k], str) else None
                if kind is None or v.ndim != 0:
                    return corrupt(jpath, f"bad scalar {k!r}")
                result[k] = kind(v.item())
            else:
                result[k] = v
        return Lookup("hit", result=result, meta=meta)

    def store(self, name: str, key: str, result: dict, info: dict) -> dict:
        """Write one entry atomically; `info` (config, wall time, ...) goes into
        the metadata. Returns the metadata written."""
        folder = self._dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        self._sweep(folder, key)
        arrays, scalars = {}, {}
        for k, v in result.items():
            if isinstance(v, np.ndarray):
                arrays[k] = v
            else:
                scalars[k] = type(v).__name__
                arrays[k] = np.asarray(v)
        data = _npz_bytes(arrays)
        digest = hashlib.sha256(data).hexdigest()
        npz_name = f"{key}-{digest[:16]}.npz"
        _atomic_write(folder / npz_name, data)
        meta = {
            "format": FORMAT,
            "experiment": name,
            "key": key,
            "created": datetime.datetime.now(datetime.UTC).isoformat(
                timespec="seconds"
            ),
            **info,
            "npz": npz_name,
            "sha256": digest,
            "arrays": sorted(k for k in result if k not in scalars),
            "scalars": scalars,
        }
        text = json.dumps(meta, indent=1, sort_keys=True)
        _atomic_write(self.json_path(name, key), text.encode())
        return meta

    def _sweep(self, folder: Path, key: str) -> None:
        """Remove stale temporary files and unreferenced npz files of `key`.

        Only files older than a grace period go, so a concurrent writer's file
        that is about to be committed is never removed.
        """
        now = time.time()
        referenced = None
        try:
            referenced = json.loads(self.json_path(folder.name, key).read_text())["npz"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        for path in folder.iterdir():
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            left_over = stale_tmp(path, age)
            orphan = (
                path.name.startswith(key + "-")
                and path.suffix == ".npz"
                and path.name != referenced
                and age > _ORPHAN_S
            )
            if left_over or orphan:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
