"""What a claim is: checks with tolerances, cited statements, paper tables.

The data types every paper module uses to declare its claims. Running them (the
registry, the integration audit, the verify table) is the app's business
(`mirrorflow.app`).
"""

import contextlib
import dataclasses
import functools
import math
from collections.abc import Callable, Iterator

from ..solvers import _audit


@dataclasses.dataclass(frozen=True)
class Check:
    """One measured comparison inside a claim.

    Passes iff `error <= tolerance` (a NaN error fails). `predicted` and `measured`
    are what the table shows (numbers or short text); `error` is the number the
    tolerance bounds (an absolute or relative error, or a distance of a fitted slope
    from its predicted value).
    """

    label: str
    predicted: float | int | str
    measured: float | int | str
    error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return math.isfinite(self.error) and self.error <= self.tolerance

    @property
    def ratio(self) -> float:
        """error / tolerance (inf for a NaN error): how close to failing."""
        if not math.isfinite(self.error):
            return math.inf
        return (
            self.error / self.tolerance
            if self.tolerance > 0
            else (0.0 if self.error == 0 else math.inf)
        )


@dataclasses.dataclass(frozen=True)
class Claim:
    """A checkable statement of a paper with its oracle and tolerance.

    Attributes:
        id: unique id, `<paper>.<name>` (e.g. `core.min_l2`).
        paper: the paper prefix (`core`, `mask`, ...).
        statement: the claim in one sentence.
        citation: the paper result it checks (authors, year, theorem/figure), or
            `"derivation: <project file>"` where no paper states it.
        reference: the independent oracle (closed form, convex solver, 2nd ODE, ...).
        tolerance_origin: where the tolerance comes from.
        compute: returns the claim's `Check`s; each carries its own tolerance.
        docs: the project's theory page that explains it (`docs/theory/...#id`).
        group: claims of one group run in one process of `verify` (they share
            cached solves); `""` (default): the paper's common group.
        cost: rough seconds the claim takes on one core, a scheduling hint for
            `verify --workers` (the costliest groups start first); not checked.
    """

    id: str
    paper: str
    statement: str
    citation: str
    reference: str
    tolerance_origin: str
    compute: Callable[[], list[Check]]
    docs: str = ""
    group: str = ""
    cost: float = 1.0

    def __post_init__(self):
        if "." not in self.id or not self.id.startswith(self.paper + "."):
            raise ValueError(
                f"claim id {self.id!r} must look like '{self.paper}.<name>' "
                "(the paper prefix, a dot, a name)."
            )
        if not self.citation:
            raise ValueError(
                f"claim {self.id!r} needs a `citation`: the paper result it checks, "
                "or 'derivation: <project file>'."
            )


#: The theory page of each paper family (under `docs/theory/`).
DOCS_PAGES = {
    "core": "core.md",
    "mask": "mask_in_the_mirror.md",
    "mirror2": "mirror_mirror.md",
    "ham": "ham.md",
    "signin": "sign_in.md",
    "nanoadam": "nanoadam.md",
    "graphon": "graphon_limit.md",
}


def docs_anchor(claim_id: str) -> str:
    """`docs/theory/<page>#<anchor>` of a claim (GitHub's heading anchors)."""
    paper = claim_id.split(".", 1)[0]
    page = DOCS_PAGES.get(paper, f"{paper}.md")
    return f"docs/theory/{page}#{claim_id.replace('.', '').lower()}"


#: Short names of the cited papers, for narrow tables (`short_citation`).
SHORT_NAMES = {
    "Gunasekar, Lee, Soudry & Srebro, ICML 2018": "Gunasekar+18",
    "Woodworth et al., COLT 2020": "Woodworth+20",
    "Azulay et al., ICML 2021": "Azulay+21",
    "Li, Wang, Lee & Arora, NeurIPS 2022": "Li+22",
    "Gunasekar et al., NeurIPS 2017": "Gunasekar+17",
    "Jacobs & Burkholz, Mask in the Mirror, ICLR 2025": "MaskMirror",
    "Jacobs, Zhou & Burkholz, Mirror, Mirror of the Flow, ICML 2025": "MirrorMirror",
    "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026": "HAM",
    "Gadhikar, Jacobs, Zhou & Burkholz, Sign-In to the Lottery, NeurIPS 2025": (
        "SignIn"
    ),
    "Zhou, Jacobs, Gadhikar & Burkholz, Pay Attention to Small Weights, NeurIPS 2025": (
        "NanoAdam"
    ),
    "Pham, Ta, Jacobs, Burkholz & Tran-Thanh, The Graphon Limit Hypothesis, "
    "NeurIPS 2025": "Graphon",
}


def short_citation(citation: str) -> str:
    """`citation` with the papers' author lists replaced by short names."""
    for long, short in SHORT_NAMES.items():
        citation = citation.replace(long, short)
    return citation.replace("derivation: ", "derived: ")


class ClaimTable:
    """The claims of one paper, in declaration order.

    Each paper module declares `CLAIMS = ClaimTable("core")` and adds rows with
    `@CLAIMS.claim(...)`. Declaring a claim runs nothing and builds no array; the
    app's registry collects the tables when a command needs them.
    """

    def __init__(self, paper: str):
        self.paper = paper
        self.claims: list[Claim] = []

    def __iter__(self):
        return iter(self.claims)

    def __len__(self):
        return len(self.claims)

    def claim(
        self,
        id: str,
        *,
        statement: str,
        citation: str,
        reference: str,
        tolerance_origin: str,
        group: str = "",
        cost: float = 1.0,
    ) -> Callable[[Callable[[], list[Check]]], Callable[[], list[Check]]]:
        """Decorator adding a function that returns a claim's `Check`s.

        `group` and `cost`: see `Claim` (how `verify` spreads claims over
        processes).
        """

        def wrap(fn):
            if any(c.id == id for c in self.claims):
                raise ValueError(f"claim {id!r} is declared twice.")
            self.claims.append(
                Claim(
                    id=id,
                    paper=self.paper,
                    statement=statement,
                    citation=citation,
                    reference=reference,
                    tolerance_origin=tolerance_origin,
                    compute=fn,
                    docs=docs_anchor(id),
                    group=group,
                    cost=float(cost),
                )
            )
            return fn

        return wrap


def cache_per_tolerance(fn):
    """`functools.cache` for a claim's solves, keyed also on the tolerance scale.

    Claims share expensive solves (a path, a limit) through a cache; the key
    includes `scale_tolerances`'s current factor, so the robustness sweep never
    reuses a solve made at other tolerances.
    """
    cached = functools.cache(lambda scale, args, kwargs: fn(*args, **dict(kwargs)))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return cached(_audit.tolerance_scale(), args, tuple(sorted(kwargs.items())))

    return wrapper


@contextlib.contextmanager
def running(label: str) -> Iterator[None]:
    """Name the check a claim is computing, for its error line and audit.

    An exception raised inside the block is reported by `run_claim` as raised
    while computing `label` (the innermost block wins); `integrate` calls inside
    it are tagged with `label` in the claim's integration records.
    """
    try:
        with _audit.integration_label(label):
            yield
    except Exception as exc:
        if getattr(exc, "_mirrorflow_check", None) is None:
            exc._mirrorflow_check = label
        raise
