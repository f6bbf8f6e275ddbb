"""The reads the engine compiles to one SQL statement (api/engine/compiled.py): the plant graph
(`plants`, `plant(id)`: areas, rooms, equipment, sensors with their live values from the twin),
`equipment(code)` and `batch(batchNumber)` with its pools and recipe.

Each GraphQL field is written here as the SQL the normal path's resolvers amount to (resolvers/plant.py,
schema/plant.py, resolvers/plasma.py, schema/plasma.py): same rows, same order, same scope.
Table aliases are named by role: p plant, a area, r room, e equipment, s sensor, b batch, rc recipe.
A role a fragment names that its own FROM does not introduce is the parent row's (a sensor of an
equipment item takes the item's room code, as `_equipment` gives it).
"""

from __future__ import annotations

import json
from typing import Any

from resolvers.plasma import out_of_scope
from resolvers.sql_catalog import Catalog, How, Json, Root, Rows, Twin, Values
from resolvers.trace import TraceScope

INT64 = 2**63

SENSOR: dict[str, How] = {
    "tag": "{s}.tag", "name": "{s}.name", "kind": "{s}.kind", "unit": "{s}.unit",
    "lowLimit": "{s}.low_limit", "highLimit": "{s}.high_limit",
    "roomCode": "{r}.code", "equipmentCode": "{e}.code",
    "value": Twin("{s}.tag", "value"), "quality": Twin("{s}.tag", "quality"),
    "sourceTime": Twin("{s}.tag", "source_time"),
}

EQUIPMENT: dict[str, How] = {
    **{f: "{e}." + c for f, c in (
        ("code", "code"), ("name", "name"), ("kind", "kind"), ("x", "x"), ("y", "y"), ("status", "status"),
        ("cleaningStatus", "cleaning_status"), ("cleanedAt", "cleaned_at"),
        ("cleaningValidUntil", "cleaning_valid_until"), ("sterilizationStatus", "sterilization_status"),
        ("sterilizedAt", "sterilized_at"), ("sterilizationValidUntil", "sterilization_valid_until"),
        ("calibrationStatus", "calibration_status"), ("calibratedOn", "calibrated_on"),
        ("calibrationValidUntil", "calibration_valid_until"))},
    "roomCode": "{r}.code",
    "sensors": Rows("Sensor", "sensor {s}", "{s}.equipment_id = {e}.id", "{s}.id"),
}

ROOM: dict[str, How] = {
    "id": "{r}.id", "code": "{r}.code", "name": "{r}.name", "grade": "{r}.grade", "areaCode": "{a}.code",
    "polygon": Json("{r}.polygon"),
    "equipment": Rows("Equipment", "equipment {e}", "{e}.room_id = {r}.id", "{e}.id"),
    # Every sensor of the room; its equipment code only when that equipment stands in the same room.
    "sensors": Rows("Sensor", "sensor {s} LEFT JOIN equipment {e} ON {e}.id = {s}.equipment_id "
                              "AND {e}.room_id = {s}.room_id", "{s}.room_id = {r}.id", "{s}.id"),
}

AREA: dict[str, How] = {
    "id": "{a}.id", "code": "{a}.code", "name": "{a}.name",
    "roomCodes": Values("room {rr}", "{rr}.code", "{rr}.area_id = {a}.id", "{rr}.id"),
}

PLANT: dict[str, How] = {
    "id": "{p}.id", "code": "{p}.code", "name": "{p}.name", "width": "{p}.width", "height": "{p}.height",
    "areas": Rows("Area", "area {a}", "{a}.plant_id = {p}.id", "{a}.id"),
    # Room by room within each area, the areas in order, as the plant's areas hold them.
    "rooms": Rows("Room", "room {r} JOIN area {a} ON {a}.id = {r}.area_id", "{a}.plant_id = {p}.id",
                  "{a}.id, {r}.id"),
}

BATCH: dict[str, How] = {
    "batchNumber": "{b}.batch_number", "product": "{b}.product", "status": "{b}.status",
    "startedAt": "{b}.started_at", "expiryDate": "{b}.expiry_date",
    "poolCodes": Values("batch_pool {bp} JOIN pool {pl} ON {pl}.id = {bp}.pool_id", "{pl}.code",
                        "{bp}.batch_id = {b}.id", "{pl}.id"),
    "recipeCode": "{rc}.code", "recipeVersion": "{rc}.version",
}


def _plant_id(args: dict[str, Any]) -> dict[str, Any] | None:
    from policies.errors import AppError, ErrorCode

    try:
        pid = int(args["id"])
    except ValueError as exc:  # the resolver's own refusal
        raise AppError(ErrorCode.VALIDATION_FAILED, "plant id must be numeric") from exc
    return {"id": pid} if -INT64 <= pid < INT64 else None  # past a BIGINT: the normal path answers


def _batch_scope(scope: TraceScope, pg: bool) -> tuple[str, dict[str, Any]]:
    """resolvers/plasma.py `in_scope` in SQL: a scoped token sees its products' and batch numbers' batches.
    The values are bound (a list on PostgreSQL, JSON text for SQLite's json_each)."""
    if scope.unrestricted:
        return "", {}
    conds: list[str] = []
    params: dict[str, Any] = {}
    for col, name, values in (("product", "scope_products", scope.products),
                              ("batch_number", "scope_batches", scope.batch_numbers)):
        if values:
            if pg:
                conds.append(f"{{b}}.{col} = ANY(:{name})")
                params[name] = sorted(values)
            else:
                conds.append(f"{{b}}.{col} IN (SELECT value FROM json_each(:{name}))")  # noqa: S608 - names
                params[name] = json.dumps(sorted(values))
    return ("(" + " OR ".join(conds) + ")" if conds else "0 = 1"), params


CATALOG = Catalog(
    types={"Plant": PLANT, "Area": AREA, "Room": ROOM, "Equipment": EQUIPMENT, "Sensor": SENSOR, "Batch": BATCH},
    roots={
        "plants": Root(Rows("Plant", "plant {p}", order="{p}.id")),
        "plant": Root(Rows("Plant", "plant {p}", "{p}.id = :id"), bind=_plant_id),
        "equipment": Root(Rows("Equipment", "equipment {e} JOIN room {r} ON {r}.id = {e}.room_id", "{e}.code = :code"),
                          bind=lambda args: {"code": args["code"]}),
        "batch": Root(Rows("Batch", "batch {b} LEFT JOIN recipe {rc} ON {rc}.id = {b}.recipe_id",
                           "{b}.batch_number = :batch_number"),
                      bind=lambda args: {"batch_number": args["batchNumber"]}, scope=_batch_scope,
                      missing=lambda scope: None if scope.unrestricted else out_of_scope()),
    },
)
