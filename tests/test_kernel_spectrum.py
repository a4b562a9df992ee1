"""`spectral.kernel_spectrum`: the Graphon paper's spectral metrics of a Gram matrix."""

import numpy as np
import pytest

from mirrorflow.spectral import kernel_eigenvalues, kernel_spectrum


def _rotated(lam, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(lam.size, lam.size)))
    return (Q * lam) @ Q.T


def test_power_law_spectrum_gives_its_exponent_and_closed_form_metrics():
    k = np.arange(1, 41, dtype=float)
    lam = 3.0 * k**-1.7
    m = kernel_spectrum(_rotated(lam))
    assert m.decay == pytest.approx(1.7, abs=1e-9)
    assert m.decay_stderr < 1e-9 and m.fit_range == (1, 40)
    assert m.trace_rank == pytest.approx(lam.sum() / lam[0], rel=1e-10)
    assert m.gap == pytest.approx(2**1.7, rel=1e-10)
    assert m.top_energy == pytest.approx(lam[:5].sum() / lam.sum(), rel=1e-10)


def test_metrics_are_scale_free_and_the_fit_reports_its_error():
    lam = np.exp(-0.3 * np.arange(30.0)) + 1e-3
    G = _rotated(lam, seed=1)
    a, b = kernel_spectrum(G), kernel_spectrum(7.5 * G)
    for x, y in zip(a, b, strict=True):
        assert x == pytest.approx(y, rel=1e-9)
    assert a.decay_stderr > 0.01  # not a power law: the fit says so


def test_round_off_eigenvalues_below_the_floor_are_not_fitted():
    lam = np.r_[np.arange(10, 0, -1.0), np.zeros(6)]
    m = kernel_spectrum(_rotated(lam, seed=2))
    assert m.fit_range == (1, 10)
    np.testing.assert_allclose(kernel_eigenvalues(np.diag(lam)), np.sort(lam)[::-1])


@pytest.mark.parametrize(
    "G, match",
    [
        (np.ones((3, 2)), "`G`"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), "non-finite"),
        (np.zeros((4, 4)), "largest eigenvalue"),
        (np.diag([1.0, 1e-14, 0.0, 0.0, 0.0, 0.0]), "floor"),
    ],
)
def test_bad_gram_matrices_are_refused(G, match):
    with pytest.raises(ValueError, match=match):
        kernel_spectrum(G)


def test_bad_top_is_refused():
    with pytest.raises(ValueError, match="`top`"):
        kernel_spectrum(np.eye(4), top=5)
