"""Electronic signature records (IT-42..IT-46): immutable, bound to one record version by its hash."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId, utcnow


class ESignature(Base):
    __tablename__ = "e_signature"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The signed record: table name, primary key, and the hash of its content as signed.
    entity: Mapped[str] = mapped_column(String(48), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    record_hash: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(64))
    meaning: Mapped[str] = mapped_column(String(24))
    signer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    signer: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(200))
    # signedAt exactly as the client sent and signed it, and the server's time of recording.
    signed_at: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    algorithm: Mapped[str] = mapped_column(String(16))
    certificate_fingerprint: Mapped[str] = mapped_column(String(64))
    # Single use: the unique constraint makes two racing requests with one nonce fail, not both win.
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    signing_input: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)


def record_hash(entity: str, entity_id: str, content: dict[str, Any]) -> str:
    """SHA-256 of the canonical record content a signature is bound to."""
    body: dict[str, Any] = {"entity": entity, "id": entity_id, "content": content}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()
