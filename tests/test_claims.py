"""The claims registry and `mirrorflow verify`."""

import json
import math

import pytest

import mirrorflow.app as mfa
from mirrorflow.app.cli import main


# The `core.` claims (docs/theory/core.md, "Claims checked").
SPEC_CORE_IDS = {
    "core.min_l2",
    "core.reparam_equals_mirror",
    "core.conserved_quantity",
    "core.hypentropy_limit",
    "core.unbalanced_init",
    "core.entropy_limit",
    "core.alpha_to_zero_l1",
    "core.alpha_to_inf_l2",
    "core.depth_D",
    "core.time_scaling",
    "core.gd_matches_flow",
    "core.mirror_descent_limit",
    "core.shape_init_limit",
    "core.matrix_sensing_nuclear",
    "core.factorization_conservation",
}


def test_every_core_claim_of_the_spec_is_registered():
    registered = {c.id for c in mfa.REGISTRY.values() if c.paper == "core"}
    assert registered == SPEC_CORE_IDS
    for c in mfa.REGISTRY.values():
        assert c.statement and c.reference and c.tolerance_origin


def test_check_semantics():
    # A NaN error never passes; error == tolerance passes.
    assert not mfa.Check("x", 0.0, float("nan"), float("nan"), 1.0).passed
    assert mfa.Check("x", 0.0, 1.0, 1.0, 1.0).passed
    assert not mfa.Check("x", 0.0, 2.0, 2.0, 1.0).passed
    assert mfa.Check("x", 0.0, 0.0, math.inf, 1.0).ratio == math.inf


@pytest.fixture
def temporary_claims():
    """Claims registered only in this test: one passing, one failing, one raising."""

    def passing():
        return [mfa.Check("exact", 1.0, 1.0, 0.0, 1e-12)]

    def failing():
        # Measured value deliberately outside its tolerance.
        return [mfa.Check("off", 1.0, 1.5, 0.5, 1e-3)]

    def raising():
        raise RuntimeError("boom")

    ids = []
    for name, fn in (("passing", passing), ("failing", failing), ("raising", raising)):
        cid = f"testonly.{name}"
        mfa.register(
            mfa.Claim(
                cid, "testonly", f"a {name} claim", "test only", "none", "test", fn
            ),
            replace=True,
        )
        ids.append(cid)
    yield
    for cid in ids:
        mfa.unregister(cid)


def test_verify_exit_codes(temporary_claims, capsys, tmp_path):
    assert main(["verify", "--claim", "testonly.passing", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "testonly.passing" in out and "PASS" in out and "1/1 claims passed" in out
    assert main(["verify", "--claim", "testonly.failing", "--quiet"]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["verify", "--claim", "testonly.raising", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "boom" in out
    assert main(["verify", "--paper", "testonly", "--quiet"]) == 1


def test_verify_unknown_claim_exits_2_and_names_known_ids(capsys):
    assert main(["verify", "--claim", "core.DOES_NOT_EXIST"]) == 2
    err = capsys.readouterr().err
    assert "core.DOES_NOT_EXIST" in err and "core.min_l2" in err
    assert main(["verify", "--paper", "nosuchpaper"]) == 2
    assert "known papers: " in capsys.readouterr().err


def test_verify_exports_json_and_markdown(temporary_claims, tmp_path, capsys):
    js, md = tmp_path / "v.json", tmp_path / "v.md"
    code = main(
        [
            "verify",
            "--paper",
            "testonly",
            "--json",
            str(js),
            "--markdown",
            str(md),
            "--quiet",
        ]
    )
    assert code == 1
    data = json.loads(js.read_text())
    by_id = {c["id"]: c for c in data["claims"]}
    assert by_id["testonly.passing"]["passed"] is True
    assert by_id["testonly.failing"]["checks"][0]["error"] == 0.5
    assert "| testonly.failing |" in md.read_text()
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "verify",
                "--claim",
                "testonly.passing",
                "--json",
                str(tmp_path / "no" / "x.json"),
                "--quiet",
            ]
        )
    assert exit_info.value.code == 2
    assert "cannot write" in capsys.readouterr().err


def test_a_real_claim_passes(capsys):
    # core.alpha_to_inf_l2 is cheap (dual Newton only): run it through the CLI.
    assert main(["verify", "--claim", "core.alpha_to_inf_l2", "--quiet"]) == 0


def test_list_shows_the_claims(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for cid in SPEC_CORE_IDS:
        assert cid in out


def test_register_rejects_bad_ids():
    with pytest.raises(ValueError, match="must look like"):
        mfa.Claim("nodot", "core", "s", "c", "r", "t", lambda: [])
    with pytest.raises(ValueError, match="needs a `citation`"):
        mfa.Claim("core.x", "core", "s", "", "r", "t", lambda: [])
    with pytest.raises(ValueError, match="already registered"):
        mfa.register(mfa.REGISTRY["core.min_l2"])


def test_verify_on_two_workers_equals_one_process(capsys):
    # Oracle: the same claims run in this process. Two papers, two spawned
    # workers; the results come back in the order asked for.
    from mirrorflow.app._verify import run_claims, select

    chosen = select(ids=["mirror2.asymptotics", "ham.ngd_one_step"])
    here = run_claims(chosen, workers=1, progress=False)
    there = run_claims(chosen, workers=2, progress=False)
    assert [r.claim.id for r in there] == ["mirror2.asymptotics", "ham.ngd_one_step"]
    for a, b in zip(here, there, strict=True):
        assert a.passed and b.passed
        assert [c.error for c in a.checks] == pytest.approx([c.error for c in b.checks])
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--workers", "0"])
    assert exit_info.value.code == 2 and "--workers" in capsys.readouterr().err


def test_compile_time_is_measured_and_groups_split_a_paper():
    import jax
    import jax.numpy as jnp

    from mirrorflow.papers._claim import Claim

    def compiles():
        # A fresh jitted function: JAX traces, lowers and compiles it once.
        f = jax.jit(lambda x: jnp.sin(x) * 3.0 + jnp.cos(x) ** 2)
        return [mfa.Check("value", 3.0, float(f(jnp.ones(4))[0] * 0 + 3.0), 0.0, 1)]

    claim = Claim(
        id="core.compile_probe",
        paper="core",
        statement="s",
        citation="derivation: test",
        reference="r",
        tolerance_origin="t",
        compute=compiles,
        group="probe",
        cost=2.5,
    )
    r = mfa.run_claim(claim)
    # Oracle: JAX's own compile events; a new program takes > 0 s to compile
    # and the compile time is part of the claim's wall time.
    assert 0.0 < r.compile_time <= r.wall_time
    assert r.to_dict()["compile_time"] == r.compile_time
    assert claim.group == "probe" and claim.cost == 2.5
