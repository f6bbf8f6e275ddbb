"""The reviewed policy files as one versioned set: loaded at start, reloaded only by a signed change.

The fingerprint is SHA-256 over every file's name and bytes; a reload must name the fingerprint
of the files it activates, so the signature approves exactly that content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from policies.authorize import Authorizer
from policies.duties import Duties
from policies.signatures import load_meanings
from records.base import utcnow

HERE = Path(__file__).resolve().parent
FILES = ("model.conf", "policy.csv", "duties.conf", "duties.csv", "signing.csv", "roles.csv")


def fingerprint(directory: Path = HERE) -> str:
    h = hashlib.sha256()
    for name in FILES:
        data = (directory / name).read_bytes()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def rule_lines(directory: Path = HERE) -> set[str]:
    """Policy rules as comparable lines (comments and blanks dropped), prefixed by their file."""
    out = set()
    for name in ("policy.csv", "duties.csv", "signing.csv", "roles.csv"):
        for line in (directory / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.add(f"{name}: {line}")
    return out


@dataclass
class PolicySet:
    directory: Path
    authorizer: Authorizer
    duties: Duties
    meanings: dict[str, dict[str, frozenset[str]]]
    fingerprint: str
    lines: set[str] = field(default_factory=set)
    loaded_at: datetime = field(default_factory=utcnow)

    @classmethod
    def load(cls, directory: Path = HERE) -> PolicySet:
        return cls(
            directory=directory,
            authorizer=Authorizer(directory / "model.conf", directory / "policy.csv"),
            duties=Duties(directory / "duties.conf", directory / "duties.csv"),
            meanings=load_meanings(directory / "signing.csv"),
            fingerprint=fingerprint(directory),
            lines=rule_lines(directory),
        )
