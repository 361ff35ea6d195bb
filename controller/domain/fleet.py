"""golive in a fleet of clusters: the cluster's name, and whether the library it enforces is the
one git declares (drift).

The library's expected digest travels with the library: `golive policy configmaps` writes every
policy ConfigMap with the annotation `golive.dev/policy-digest`, the digest of the whole library
as `golive check` computes it, and Argo CD applies the ConfigMaps from git as they are. The
operator compares that declaration with the digest of what it loaded. A hand edit of a
ConfigMap's data changes what is loaded but not what is declared; a ConfigMap added or deleted
by hand does too; a sync that stopped half-way leaves ConfigMaps declaring different digests.
Each of these is drift. ConfigMaps that declare nothing (a library installed without
annotations, the chart's own) leave drift unknown: nothing to compare with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controller.domain.report import LABEL_VALUE


def cluster_name_problem(value: str) -> str | None:
    """Why `value` cannot name the cluster (it must be a Kubernetes label value); None if it
    can. Empty means unnamed (no label on the Reports, an empty one on the metrics)."""
    if not value or LABEL_VALUE.match(value):
        return None
    return (
        "--cluster-name: expected a label value (at most 63 letters, digits, '-', '_' or '.', "
        f"beginning and ending with a letter or digit), got {value!r}"
    )


@dataclass(frozen=True)
class LibraryState:
    """What a cluster enforces against what its policy ConfigMaps declare.

    loaded: the digest of the loaded library ("" while none is usable);
    declared: the distinct digests the ConfigMaps' annotations declare (empty: none does).
    """

    loaded: str
    declared: frozenset[str]

    @property
    def expected(self) -> str:
        """The one digest declared, or "" (none, or several: no single expectation)."""
        return next(iter(self.declared)) if len(self.declared) == 1 else ""

    @property
    def drifted(self) -> bool | None:
        """True when what is enforced is not what is declared, None when nothing is declared."""
        if not self.declared:
            return None
        return len(self.declared) != 1 or self.loaded != self.expected


def library_state(loaded: str, declarations: Iterable[str | None]) -> LibraryState:
    """declarations: each policy ConfigMap's declared digest (None or "" where it has none)."""
    return LibraryState(loaded, frozenset(d for d in declarations if d))
