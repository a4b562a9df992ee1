"""The papers: each paper's instances, conventions and claims, as cited table rows.

One module per paper: `core` (classic mirror-flow results), `mask` (Mask in the
Mirror), `mirror2` (Mirror, Mirror of the Flow), `ham` (HAM), `signin` (Sign-In),
`nanoadam` (NanoAdam), `graphon` (The Graphon Limit Hypothesis), plus `digits` (the
small digits MLP the experiments share) and `teacher_student`. Each paper module
defines `CLAIMS`, a `ClaimTable`; declaring a claim runs nothing and builds no array.
`import mirrorflow` does not load this package; the app does (`mirrorflow verify`).
"""

from ._claim import (
    Check as Check,
    Claim as Claim,
    ClaimTable as ClaimTable,
    cache_per_tolerance as cache_per_tolerance,
    docs_anchor as docs_anchor,
    running as running,
)


#: The paper modules, in the order `mirrorflow verify` runs them.
PAPERS = ("core", "mask", "mirror2", "ham", "signin", "nanoadam", "graphon")
