"""What ships inside the golive package: the CRDs and the SAFE policy library.

`crds` and `policies` here are links to the repository's `crds/` and `policies/` (the one copy
in the repo); a wheel carries them as plain files (see pyproject.toml's package-data), so an
installed golive checks schemas and decides with the library from any folder.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CRDS = HERE / "crds"
SAFE_LIBRARY = HERE / "policies"
