"""How to make a valid request for each signed mutation (used by test_signed_mutations.py).

Every mutation of the schema that takes a `signature` needs a `Case` in one of these modules: who
signs with which meaning, and a `prepare` that builds a valid `$input` (creating through the API
whatever record the mutation acts on). The test then proves that the mutation refuses a missing, a
forged and a replayed signature with nothing written, and that the valid request works.
"""

from tests.attack.signed_cases import core, documents, floor, oos, plasma, production, quality, reagents, video
from tests.attack.signed_cases.base import Case, World, document

CASES: dict[str, Case] = {**core.CASES, **video.CASES, **plasma.CASES, **floor.CASES, **production.CASES,
                          **quality.CASES, **reagents.CASES, **oos.CASES,
                          **documents.CASES}
SECOND_ARG: dict[str, str] = {**core.SECOND_ARG, **quality.SECOND_ARG}

__all__ = ["CASES", "SECOND_ARG", "Case", "World", "document"]
