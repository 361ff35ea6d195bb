"""SSH keys made by ssh-keygen for the sign-off tests, and signing as a person would."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from controller.domain.signoffs import SIGNATURE_NAMESPACE


@dataclass(frozen=True)
class Key:
    path: Path  # the private key; path.with_suffix(".pub") is the public one

    @property
    def public(self) -> str:
        return Path(f"{self.path}.pub").read_text().strip()

    def sign(self, payload: bytes, namespace: str = SIGNATURE_NAMESPACE) -> str:
        """`ssh-keygen -Y sign` of payload (stdin to stdout): the armored SSHSIG."""
        done = subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-f", str(self.path), "-n", namespace],
            input=payload,
            capture_output=True,
            check=True,
        )
        return done.stdout.decode()


def make_key(folder: Path, name: str, key_type: str = "ed25519") -> Key:
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", name, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return Key(path)


def signer_entry(
    key: Key, name: str, email: str, rights: list[str], domains: list[str] | None = None
) -> dict[str, object]:
    entry: dict[str, object] = {"name": name, "email": email, "key": key.public, "rights": rights}
    if domains is not None:
        entry["domains"] = domains
    return entry
