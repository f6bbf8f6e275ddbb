"""The demo's master recipes (albumin, IVIG, factor VIII): valid drafts, every critical process
parameter Appendix A lists for a step present in the phases of that step, and every one bound to a tag
of the demo plant that carries alarm limits, or entered by hand (AX-01, PR-41)."""

from __future__ import annotations

from typing import Any

import pytest

from demo.plant import DEMO_PLANT, all_sensors
from demo.recipes import APPENDIX_A, RECIPES, STEP
from demo.seed import seed_plant
from tests.attack.signed_cases.base import World

SENSORS = {s.tag: s for _, _, s in all_sensors(DEMO_PLANT)}
KINDS = {eq.kind for _, eq, _ in all_sensors(DEMO_PLANT) if eq is not None}


@pytest.mark.req("AX-01")
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: str(r["code"]))
def test_each_appendix_a_parameter_of_a_step_is_monitored_in_its_phases(recipe: dict[str, Any]) -> None:
    for phase in recipe["phases"]:
        assert phase["equipmentClass"] in KINDS, phase["code"]  # equipment of the demo plant runs it
        names = {p["name"] for p in phase.get("parameters", [])}
        missing = set(APPENDIX_A[STEP[phase["code"]]]) - names
        assert not missing, (recipe["code"], phase["code"], missing)
        for p in phase.get("parameters", []):
            assert p["low"] is not None or p["high"] is not None, p
            if p["tag"] is not None:
                sensor = SENSORS.get(p["tag"])
                assert sensor is not None, (phase["code"], p)  # a tag the twin has
                assert sensor.low_limit is not None or sensor.high_limit is not None, p["tag"]
    assert {STEP[p["code"]] for p in recipe["phases"]} >= {"thawing and pooling", "inactivation", "filling",
                                                            "visual inspection"}


async def test_the_demo_recipes_are_valid_drafts(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await seed_plant(db, DEMO_PLANT)  # their tags are the demo plant's
    for recipe in RECIPES:
        body = await w.call("sup.rsa", "draftRecipe", recipe)
        assert "errors" not in body
