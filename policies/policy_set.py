"""The reviewed policy files as one versioned set: loaded at start, reloaded only by a signed change.

The fingerprint is SHA-256 over every file's name and bytes; a reload must name the fingerprint
of the files it activates, so the signature approves exactly that content.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from policies.authorize import Authorizer
from policies.duties import Duties
from policies.signatures import load_meanings
from records.base import utcnow

HERE = Path(__file__).resolve().parent
FILES = ("model.conf", "policy.csv", "duties.conf", "duties.csv", "signing.csv", "roles.csv")


def read_files(directory: Path = HERE) -> dict[str, str]:
    return {name: (directory / name).read_text(encoding="utf-8") for name in FILES}


def fingerprint_of(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in FILES:
        data = files[name].encode()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def fingerprint(directory: Path = HERE) -> str:
    return fingerprint_of(read_files(directory))


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

    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = HERE, files: dict[str, str] | None = None) -> PolicySet:
        """Load `files` (the approved content, from the database) or else the files in `directory`.

        `directory` stays the staging place where edited files are proposed for the next reload."""
        content = files if files is not None else read_files(directory)
        with tempfile.TemporaryDirectory(prefix="plasmatwin-policy-") as tmp:
            src = Path(tmp)
            for name, text in content.items():
                (src / name).write_text(text, encoding="utf-8")
            return cls(
                directory=directory,
                authorizer=Authorizer(src / "model.conf", src / "policy.csv"),
                duties=Duties(src / "duties.conf", src / "duties.csv"),
                meanings=load_meanings(src / "signing.csv"),
                fingerprint=fingerprint_of(content),
                lines=rule_lines(src),
                files=dict(content),
            )
