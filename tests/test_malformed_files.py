"""Malformed files someone else produced: a clear outcome naming the file, and
nothing in them is ever executed.

- a cache entry (its JSON or its npz): reported as corrupt with the file's path,
  and recomputed (oracle: the independent recomputation, and MF_TEST_LOG);
- a figure sidecar: not up to date, a line names it, the figure is plotted again
  (oracle: the bytes of the first run);
- the verify JSON given to `report`: exit 2, one line naming the file, before any
  work (oracle: MF_TEST_LOG stays empty).

The pickle payloads would create a file when unpickled; each test first proves
its payload is live (unpickling it does create the file), then that loading the
planted entry never does.
"""

import hashlib
import io
import json
import pickle

import numpy as np
import pytest

from mirrorflow.app import ResultCache, cli, discover, make_figures

from .test_experiments import expected_result, make_tiny, quiet_run, ran, tiny_set


PNG = ("png",)  # one format: what is tested is the loading, not the plotting


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """`test_experiments`'s tiny setup with one experiment (test.alpha)."""
    out = make_tiny(tmp_path, monkeypatch)
    out["exps"] = tiny_set(tmp_path / "one", names=("alpha",))
    return out


class _Payload:
    """Unpickling this calls `open(path, "w")`: the side effect to look for."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _entry(tiny):
    """The JSON and npz of test.alpha's cache entry (after one run)."""
    entry = next((tiny["cache"] / "test.alpha").glob("*.json"))
    meta = json.loads(entry.read_text())
    return entry, entry.parent / meta["npz"], meta


def _recomputed(tiny, capsys, bad):
    """Run again: the damaged entry is named, recomputed and valid again."""
    experiments = list(discover(tiny["exps"]).values())
    cache = ResultCache(tiny["cache"])
    make_figures(
        experiments, quick=False, out_dir=tiny["out"], cache=cache, formats=PNG
    )
    err = capsys.readouterr().err
    assert f"test.alpha: cache entry {bad} is corrupt (" in err, err
    assert "Traceback" not in err
    assert ran(tiny["log"]).count("alpha") == 2  # once, then after the damage
    entry, _, meta = _entry(tiny)
    hit = ResultCache(tiny["cache"]).load("test.alpha", meta["key"])
    assert hit.status == "hit"
    np.testing.assert_array_equal(hit.result["x"], expected_result()["x"])


@pytest.mark.parametrize(
    "kind", ["truncated", "list", "missing_keys", "wrong_types", "binary"]
)
def test_a_malformed_cache_json_is_named_and_recomputed(tiny, kind, capsys):
    quiet_run(tiny, formats=PNG)
    entry, _, meta = _entry(tiny)
    text = entry.read_text()
    damaged = {
        "truncated": text[: len(text) // 2].encode(),
        "list": json.dumps([meta]).encode(),
        "missing_keys": json.dumps({"key": meta["key"], "format": 1}).encode(),
        "wrong_types": json.dumps({**meta, "npz": ["../x"], "scalars": 3}).encode(),
        "binary": bytes(range(256)) * 4,
    }[kind]
    entry.write_bytes(damaged)
    found = ResultCache(tiny["cache"]).load("test.alpha", meta["key"])
    assert found.status == "corrupt" and found.path == entry, found
    _recomputed(tiny, capsys, entry)


@pytest.mark.parametrize("kind", ["object_array", "pickle_file", "garbage"])
def test_a_planted_npz_never_executes_and_is_recomputed(tiny, kind, capsys):
    # The planted npz has a matching JSON (its real sha256), so the loader gets
    # past the checksum to the npz itself: the case of a cache someone else
    # shared, not of a damaged file.
    quiet_run(tiny, formats=PNG)
    entry, npz, meta = _entry(tiny)
    side_effect = tiny["tmp"] / "pwned"
    payload = _Payload(side_effect)
    if kind == "object_array":
        buf = io.BytesIO()
        np.savez(buf, x=np.asarray([payload], dtype=object))
        data = buf.getvalue()
        with np.load(io.BytesIO(data), allow_pickle=True) as live:
            live["x"][0].close()  # the payload is live: it opened the file
    elif kind == "pickle_file":
        data = pickle.dumps({"x": payload})
        pickle.loads(data)["x"].close()  # the payload is live
    else:
        data = b"PK\x03\x04" + bytes(range(256)) * 8
    if kind != "garbage":
        assert side_effect.exists()
        side_effect.unlink()
    npz.unlink()
    planted = npz.with_name(f"{meta['key']}-planted.npz")
    planted.write_bytes(data)
    meta.update(npz=planted.name, sha256=hashlib.sha256(data).hexdigest())
    entry.write_text(json.dumps(meta))
    found = ResultCache(tiny["cache"]).load("test.alpha", meta["key"])
    assert found.status == "corrupt" and found.path == planted, found
    assert not side_effect.exists()
    _recomputed(tiny, capsys, planted)
    assert not side_effect.exists()


@pytest.mark.parametrize(
    "kind, says",
    [
        ("truncated", "is not JSON"),
        ("list", "is a JSON list, not an object"),
        ("missing_keys", "lacks the `files` list"),
        ("binary", "is not JSON"),
    ],
)
def test_a_malformed_sidecar_is_named_and_the_figure_plotted_again(
    tiny, kind, says, capsys
):
    quiet_run(tiny, formats=PNG)
    side = tiny["out"] / "test.alpha.json"
    png = tiny["out"] / "test.alpha.png"
    good_side, good_png = side.read_bytes(), png.read_bytes()
    text = side.read_text()
    side.write_bytes(
        {
            "truncated": text[: len(text) // 2].encode(),
            "list": json.dumps([json.loads(text)]).encode(),
            "missing_keys": b"{}",
            "binary": bytes(range(256)) * 4,
        }[kind]
    )
    png.write_bytes(b"not the figure")  # what the broken sidecar cannot vouch for
    experiments = list(discover(tiny["exps"]).values())
    cache = ResultCache(tiny["cache"])
    outcomes = make_figures(
        experiments, quick=False, out_dir=tiny["out"], cache=cache, formats=PNG
    )
    err = capsys.readouterr().err
    assert [o.status for o in outcomes] == ["cached"]  # nothing recomputed
    assert f"test.alpha: the sidecar {side} {says}" in err, err
    assert "plotting again" in err and "Traceback" not in err
    # Oracle: the first run's files (a rerun from the cache is byte-identical,
    # apart from the sidecar's wall time, which the cache keeps).
    assert png.read_bytes() == good_png
    assert side.read_bytes() == good_side


@pytest.mark.parametrize(
    "kind, says",
    [
        ("truncated", "is not JSON (truncated or damaged?"),
        ("list", "expected an object with a `claims` list, got a JSON list"),
        ("missing_keys", "missing or bad field: 'paper'"),
        ("binary", "binary, not UTF-8 text"),
    ],
)
def test_report_names_a_malformed_verify_json_and_exits_2(tiny, kind, says, capsys):
    good = {
        "summary": "1/1 claims passed",
        "passed": True,
        "claims": [{"id": "core.min_l2", "statement": "x", "checks": []}],
    }
    text = json.dumps(good)
    bad = tiny["tmp"] / "verify.json"
    bad.write_bytes(
        {
            "truncated": text[: len(text) // 2].encode(),
            "list": json.dumps([good]).encode(),
            "missing_keys": text.encode(),  # a claim without `paper` and more
            "binary": b"\x80\x81" + bytes(range(256)),
        }[kind]
    )
    argv = ["report", "--claim", "core.min_l2", "--verify-json", str(bad)]
    argv += ["--experiments-dir", str(tiny["exps"]), "--cache-dir", str(tiny["cache"])]
    argv += ["--figures-dir", str(tiny["out"]), "--quiet"]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"mirrorflow report: {str(bad)!r} ") and says in err, err
    assert "mirrorflow verify --json" in err  # the fix
    assert ran(tiny["log"]) == []  # refused before any work
    assert not (tiny["out"] / "report.md").exists()
