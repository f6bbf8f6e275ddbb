"""Master recipes: the electronic process specification of a product (PR-40), versioned.

A version's content is one document (ISA-88: procedure -> unit procedure -> operation -> phase,
each phase with its equipment class, materials, critical process parameters, in-process controls,
instructions and the signatures it needs), kept as JSON: a version is approved as a whole and never
changes after, so it is stored as the whole that was signed. Only its status moves, each step signed
by another person: DRAFT -> REVIEWED -> APPROVED, and APPROVED -> SUPERSEDED when a newer version
is approved. A change is a new version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class RiskClass(StrEnum):
    """How much a value entered by hand risks the product (PR-04): the rule it is entered under is
    the setting manualEntry.rules of its class."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class RecipeStatus(StrEnum):
    DRAFT = "DRAFT"
    REVIEWED = "REVIEWED"
    APPROVED = "APPROVED"
    SUPERSEDED = "SUPERSEDED"


class Recipe(Base):
    __tablename__ = "recipe"
    __audited__ = True
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int]
    product: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The product's specification the recipe makes (B.6 CPGG, on weighing labels): "20 %, 50 mL".
    specification: Mapped[str] = mapped_column(String(100), default="", server_default="")
    status: Mapped[str] = mapped_column(String(12), default=RecipeStatus.DRAFT.value)
    # What changed from the version it was made from, and why (the change's reason).
    change_note: Mapped[str] = mapped_column(Text)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("recipe.id"))
    # Batch size the theoretical quantities refer to (plasma litres for a fractionation recipe).
    batch_size: Mapped[float]
    batch_unit: Mapped[str] = mapped_column(String(16))
    procedure: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
