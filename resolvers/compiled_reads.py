"""The reads the engine compiles to one SQL statement (api/engine/compiled/): the plant graph
(`plants`, `plant(id)`: areas, rooms, equipment, sensors with their live values from the twin),
`equipment(code)`, `batch(batchNumber)` with its pools and recipe, `plasmaUnit(donationNumber)` with
its station, `materialLot(code)`, `materialLots(materialCode, status)`, `sample(code)`, and the Relay
connections `batches`, `alarms`, `auditTrail` (filters by time included) and `coldRoomChecks`,
`cameras(roomCode)` with their key posts and `runningPhases(roomCode)`.

Each GraphQL field is written here as the SQL the normal path's resolvers amount to (resolvers/plant.py,
schema/plant.py, resolvers/plasma.py, schema/plasma.py, resolvers/materials.py, resolvers/tablet.py):
schema/alarms.py, resolvers/alarms.py, schema/audit.py, resolvers/audit.py): same rows, same order,
same scope, the same cursors (schema/relay.py). Fields computed in Python are COMPUTED (the Relay `id`
of schema/node.py too): a query selecting one runs the normal way. Table aliases are named by role:
p plant, a area, r room,
e equipment, s sensor, b batch, rc recipe, u plasma unit, st station, d donor, pl pool, ml material lot,
sm sample, al alarm, ev audit event, cc cold-room check, cam camera, ckp its key-post link, kp key post,
pr phase run.
A role a fragment names that its own FROM does not introduce is the parent row's (a sensor of an
equipment item takes the item's room code, as `_equipment` gives it).
"""

from __future__ import annotations

import json
from typing import Any

from records.alarms import STANDING
from resolvers.plasma import out_of_scope
from resolvers.sql_catalog import (
    COMPUTED,
    PAGE_INFO,
    Catalog,
    Dialects,
    How,
    Json,
    One,
    Page,
    Root,
    Rows,
    Twin,
    Values,
    connection,
)
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
    "id": COMPUTED,  # the Relay global id (schema/node.py)
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
    "id": COMPUTED,  # the Relay global id (schema/node.py)
}


STATION: dict[str, How] = {"code": "{st}.code", "name": "{st}.name", "province": "{st}.province", "id": COMPUTED}

PLASMA_UNIT: dict[str, How] = {
    **{f: "{u}." + c for f, c in (
        ("donationNumber", "donation_number"), ("materialCode", "material_code"), ("bloodType", "blood_type"),
        ("collectedOn", "collected_on"), ("weightG", "weight_g"), ("status", "status"),
        ("receivedAt", "received_at"), ("storageLocation", "storage_location"),
        ("receivedWeightG", "received_weight_g"), ("receivedBy", "received_by"))},
    "poolCode": "{pl}.code", "donorCardNumber": "{d}.card_number",
    "station": One("Station"),  # joined with the unit
    "storage": COMPUTED, "id": COMPUTED,
}

MATERIAL_LOT: dict[str, How] = {
    **{f: "{ml}." + c for f, c in (
        ("code", "code"), ("kind", "kind"), ("materialCode", "material_code"), ("name", "name"),
        ("lotNumber", "lot_number"), ("supplier", "supplier"), ("supplierLot", "supplier_lot"),
        ("artworkVersion", "artwork_version"), ("quantity", "quantity"), ("remaining", "remaining"),
        ("unit", "unit"), ("manufacturedOn", "manufactured_on"), ("expiresOn", "expires_on"),
        ("receivedAt", "received_at"), ("receivedBy", "received_by"), ("status", "status"),
        ("decidedBy", "decided_by"), ("decidedAt", "decided_at"), ("decisionReason", "decision_reason"))},
    "label": COMPUTED, "id": COMPUTED,
}

SAMPLE: dict[str, How] = {
    **{f: "{sm}." + c for f, c in (
        ("code", "code"), ("kind", "kind"), ("status", "status"), ("takenAt", "taken_at"), ("takenBy", "taken_by"),
        ("storageLocation", "storage_location"), ("name", "name"), ("unit", "unit"), ("pieces", "pieces"),
        ("sampledFrom", "sampled_from"), ("tubeCode", "tube_code"), ("conditions", "conditions"),
        ("storedAt", "stored_at"), ("equipmentCode", "equipment_code"))},
    "retainUntil": COMPUTED, "retentionBasis": COMPUTED, "id": COMPUTED,  # resolvers/samples.py `retention`
    # resolvers/sample_life.py `views`: the sample's source, history, storage and what is left; numbers and
    # the bag check are read the normal way so they keep their GraphQL types.
    **{f: COMPUTED for f in ("sourceCode", "batchNumber", "donationNumber", "poolCode", "remaining", "expiryDate",
                             "history", "storage", "quantity", "temperatureLow", "temperatureHigh", "bagIntact")},
}


ALARM: dict[str, How] = {
    **{f: "{al}." + c for f, c in (
        ("id", "id"), ("source", "source"), ("condition", "condition"), ("priority", "priority"), ("state", "state"),
        ("tag", "tag"), ("cameraCode", "camera_code"), ("message", "message"), ("value", "value"),
        ("limitValue", "limit_value"), ("peak", "peak"), ("beganAt", "began_at"), ("raisedAt", "raised_at"),
        ("clearedAt", "cleared_at"), ("acknowledgedAt", "acknowledged_at"), ("acknowledgedBy", "acknowledged_by"),
        ("handling", "handling"), ("batchNumber", "batch_number"), ("phaseCode", "phase_code"))},
    "roomCode": "{r}.code", "equipmentCode": "{e}.code",
    "affectedUnits": COMPUTED,  # its own permission, checked per alarm
}

AUDIT_EVENT: dict[str, How] = {
    **{f: "{ev}." + c for f, c in (
        ("id", "id"), ("occurredAt", "occurred_at"), ("actor", "actor"), ("action", "action"), ("entity", "entity"),
        ("entityId", "entity_id"), ("reason", "reason"), ("clientAddress", "client_address"), ("hash", "hash"),
        ("prevHash", "prev_hash"))},
    "changes": Json("{ev}.changes"),
}

COLD_ROOM_CHECK: dict[str, How] = {
    **{f: "{cc}." + c for f, c in (
        ("id", "id"), ("roomCode", "room_code"), ("temperature", "temperature"), ("sensorTag", "sensor_tag"),
        ("sensorValue", "sensor_value"), ("doorClosed", "door_closed"), ("activeAlarms", "active_alarms"),
        ("conforming", "conforming"), ("checkedBy", "checked_by"), ("checkedAt", "checked_at"), ("note", "note"))},
}

KEY_POST_SUMMARY: dict[str, How] = {"code": "{kp}.code", "name": "{kp}.name", "category": "{kp}.category"}

CAMERA: dict[str, How] = {  # resolvers/video/cameras.py `camera_views`
    **{f: "{cam}." + c for f, c in (
        ("code", "code"), ("name", "name"), ("x", "x"), ("y", "y"), ("deviceType", "device_type"),
        ("directionDeg", "direction_deg"), ("fieldOfViewDeg", "field_of_view_deg"), ("resolution", "resolution"),
        ("streamUri", "stream_uri"), ("riskAssessmentRef", "risk_assessment_ref"),
        ("validationRef", "validation_ref"), ("active", "active"))},
    "roomCode": "{r}.code", "equipmentCode": "{e}.code",
    "keyPosts": Rows("KeyPostSummary", "video_camera_key_post {ckp} JOIN video_key_post {kp} ON {kp}.id = "
                                       "{ckp}.key_post_id", "{ckp}.camera_id = {cam}.id", "{kp}.code"),
}

RUNNING_PHASE: dict[str, How] = {  # resolvers/running.py `running`
    "batchNumber": "{b}.batch_number", "product": "{b}.product", "phaseCode": "{pr}.phase_code",
    # The recipe's name for the phase (the last step of that code), else its code.
    "phaseName": Dialects(
        "COALESCE((SELECT pj.value ->> 'name' FROM json_array_elements({rc}.procedure) WITH ORDINALITY "
        "pj(value, n) WHERE pj.value ->> 'code' = {pr}.phase_code ORDER BY pj.n DESC LIMIT 1), {pr}.phase_code)",
        "COALESCE((SELECT json_extract(pj.value, '$.name') FROM json_each({rc}.procedure) pj WHERE "
        "json_extract(pj.value, '$.code') = {pr}.phase_code ORDER BY pj.key DESC LIMIT 1), {pr}.phase_code)"),
    "equipmentCode": "{e}.code", "roomCode": "{r}.code", "startedAt": "{pr}.started_at",
    "startedBy": "{pr}.started_by",
}

# Connections: the node rows, newest first by id (schema/relay.py cursors "batch:<id>", ...).
BATCH_ROWS = Rows("Batch", "batch {b} LEFT JOIN recipe {rc} ON {rc}.id = {b}.recipe_id")
BATCH_PAGE = Page("BatchConnection", "{b}.id", "batch", total_is_page=True)  # schema/plasma.py: len(edges)
ALARM_ROWS = Rows("Alarm", "alarm {al} LEFT JOIN room {r} ON {r}.id = {al}.room_id "
                           "LEFT JOIN equipment {e} ON {e}.id = {al}.equipment_id")
ALARM_PAGE = Page("AlarmConnection", "{al}.id", "alarm")
AUDIT_ROWS = Rows("AuditEvent", "audit_event {ev}")
AUDIT_PAGE = Page("AuditEventConnection", "{ev}.id", "audit")
BATCH_CONNECTION, BATCH_EDGE = connection("BatchEdge", BATCH_ROWS, BATCH_PAGE)
ALARM_CONNECTION, ALARM_EDGE = connection("AlarmEdge", ALARM_ROWS, ALARM_PAGE)
AUDIT_CONNECTION, AUDIT_EDGE = connection("AuditEventEdge", AUDIT_ROWS, AUDIT_PAGE)
CHECK_ROWS = Rows("ColdRoomCheck", "cold_room_check {cc}")
CHECK_PAGE = Page("ColdRoomCheckConnection", "{cc}.id", "check", total_is_page=True)  # schema/tablet.py
CHECK_CONNECTION, CHECK_EDGE = connection("ColdRoomCheckEdge", CHECK_ROWS, CHECK_PAGE)


def _plant_id(args: dict[str, Any]) -> dict[str, Any] | None:
    from policies.errors import AppError, ErrorCode

    try:
        pid = int(args["id"])
    except ValueError as exc:  # the resolver's own refusal
        raise AppError(ErrorCode.VALIDATION_FAILED, "plant id must be numeric") from exc
    return {"id": pid} if -INT64 <= pid < INT64 else None  # past a BIGINT: the normal path answers


def _among(expr: str, name: str, values: frozenset[str], pg: bool, params: dict[str, Any]) -> str:
    """`expr` is one of `values`, bound as `name` (a list on PostgreSQL, JSON text for SQLite's json_each)."""
    if pg:
        params[name] = sorted(values)
        return f"{expr} = ANY(:{name})"
    params[name] = json.dumps(sorted(values))
    return f"{expr} IN (SELECT value FROM json_each(:{name}))"  # noqa: S608 - names only


def _batch_conds(batch: str, scope: TraceScope, pg: bool, params: dict[str, Any]) -> list[str]:
    """resolvers/trace.py `batch_visible` on the batch row `batch`: its product or its number in scope."""
    return [_among(f"{batch}.{col}", name, values, pg, params)
            for col, name, values in (("product", "scope_products", scope.products),
                                      ("batch_number", "scope_batches", scope.batch_numbers)) if values]


def _batch_scope(scope: TraceScope, pg: bool) -> tuple[str, dict[str, Any]]:
    """resolvers/plasma.py `in_scope` in SQL: a scoped token sees its products' and batch numbers' batches."""
    if scope.unrestricted:
        return "", {}
    params: dict[str, Any] = {}
    conds = _batch_conds("{b}", scope, pg, params)
    return ("(" + " OR ".join(conds) + ")" if conds else "0 = 1"), params


def _unit_scope(scope: TraceScope, pg: bool) -> tuple[str, dict[str, Any]]:
    """resolvers/plasma.py `unit_visible` in SQL: a unit of a station in scope, or in a pool a batch in
    scope was made from."""
    if scope.unrestricted:
        return "", {}
    params: dict[str, Any] = {}
    conds = [_among("{st}.code", "scope_stations", scope.stations, pg, params)] if scope.stations else []
    batch = _batch_conds("bsx", scope, pg, params)
    if batch:
        conds.append("EXISTS (SELECT 1 FROM batch_pool bpx JOIN batch bsx ON bsx.id = bpx.batch_id "  # noqa: S608
                     f"WHERE bpx.pool_id = {{u}}.pool_id AND ({' OR '.join(batch)}))")
    return ("(" + " OR ".join(conds) + ")" if conds else "0 = 1"), params


def _scoped_missing(scope: TraceScope) -> Exception | None:
    """No row for a scoped token is out of its scope, as the resolvers answer (a null for others)."""
    return None if scope.unrestricted else out_of_scope()


def _value(x: Any) -> Any:
    """An enum argument's stored value; a blank or missing one is no filter (the resolvers' `if f.x:`)."""
    return getattr(x, "value", x) or None


def _times(f: dict[str, Any], since: str, until: str) -> dict[str, Any] | None:
    """A filter's bounds of time, bound as the UTC column type binds them (api/engine/compiled/); None
    for a time without its zone, which the normal path refuses its own way."""
    times = {"since": f.get(since), "until": f.get(until)}
    if any(t is not None and t.tzinfo is None for t in times.values()):
        return None
    return times


def _batches(args: dict[str, Any]) -> dict[str, Any] | None:
    f = args.get("filter") or {}
    times = _times(f, "startedFrom", "startedTo")
    if times is None:
        return None
    number = f.get("batchNumber")  # startswith(autoescape=True): "/" escapes
    prefix = number.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%" if number else None
    return {"product": _value(f.get("product")), "status": _value(f.get("status")), "number": prefix, **times}


def _alarms(args: dict[str, Any]) -> dict[str, Any] | None:
    f = args.get("filter") or {}
    times = _times(f, "from", "to")
    if times is None:
        return None
    active = args.get("active") if args.get("active") is not None else f.get("active")
    return {"standing": True if active is True else None, "closed": True if active is False else None,
            **{name: _value(f.get(key)) for name, key in (("room_code", "roomCode"), ("priority", "priority"),
                                                          ("source", "source"), ("batch_number", "batchNumber"))},
            **times}


def _audit(args: dict[str, Any]) -> dict[str, Any] | None:
    f = args.get("filter") or {}
    times = _times(f, "from", "to")
    if times is None:
        return None
    return {**{name: _value(f.get(key)) for name, key in (
        ("entity", "entity"), ("entity_id", "entityId"), ("actor", "actor"), ("action", "action"))}, **times}


def _lots(args: dict[str, Any]) -> dict[str, Any]:
    status = args.get("status")
    return {"material_code": args.get("materialCode"), "status": None if status is None else status.value}


CATALOG = Catalog(
    types={"Plant": PLANT, "Area": AREA, "Room": ROOM, "Equipment": EQUIPMENT, "Sensor": SENSOR, "Batch": BATCH,
           "Station": STATION, "PlasmaUnit": PLASMA_UNIT, "MaterialLot": MATERIAL_LOT, "SampleInfo": SAMPLE,
           "Alarm": ALARM, "AuditEvent": AUDIT_EVENT, "PageInfo": PAGE_INFO,
           "BatchConnection": BATCH_CONNECTION, "BatchEdge": BATCH_EDGE, "AlarmConnection": ALARM_CONNECTION,
           "AlarmEdge": ALARM_EDGE, "AuditEventConnection": AUDIT_CONNECTION, "AuditEventEdge": AUDIT_EDGE,
           "ColdRoomCheck": COLD_ROOM_CHECK, "ColdRoomCheckConnection": CHECK_CONNECTION,
           "ColdRoomCheckEdge": CHECK_EDGE, "Camera": CAMERA, "KeyPostSummary": KEY_POST_SUMMARY,
           "RunningPhase": RUNNING_PHASE},
    roots={
        "plants": Root(Rows("Plant", "plant {p}", order="{p}.id")),
        "plant": Root(Rows("Plant", "plant {p}", "{p}.id = :id"), bind=_plant_id),
        "equipment": Root(Rows("Equipment", "equipment {e} JOIN room {r} ON {r}.id = {e}.room_id", "{e}.code = :code"),
                          bind=lambda args: {"code": args["code"]}),
        "batch": Root(Rows("Batch", "batch {b} LEFT JOIN recipe {rc} ON {rc}.id = {b}.recipe_id",
                           "{b}.batch_number = :batch_number"),
                      bind=lambda args: {"batch_number": args["batchNumber"]}, scope=_batch_scope,
                      missing=_scoped_missing),
        "plasmaUnit": Root(Rows("PlasmaUnit", "plasma_unit {u} JOIN plasma_station {st} ON {st}.id = {u}.station_id "
                                              "JOIN donor {d} ON {d}.id = {u}.donor_id "
                                              "LEFT JOIN pool {pl} ON {pl}.id = {u}.pool_id",
                                "{u}.donation_number = :donation_number"),
                           bind=lambda args: {"donation_number": args["donationNumber"]}, scope=_unit_scope,
                           missing=_scoped_missing),
        # No scope filter: a scoped token may not read lots or samples at all (Context.require refuses it).
        "materialLot": Root(Rows("MaterialLot", "material_lot {ml}", "{ml}.code = :code"),
                            bind=lambda args: {"code": args["code"]}),
        "materialLots": Root(Rows("MaterialLot", "material_lot {ml}", order="{ml}.received_at DESC, {ml}.id DESC"),
                             bind=_lots, limit=500, conds=(("material_code", "{ml}.material_code = :material_code"),
                                                           ("status", "{ml}.status = :status"))),
        "sample": Root(Rows("SampleInfo", "sample {sm}", "{sm}.code = :code"),
                       bind=lambda args: {"code": args["code"]}),
        "batches": Root(BATCH_ROWS, bind=_batches, scope=_batch_scope, page=BATCH_PAGE, conds=(
            ("product", "{b}.product = :product"), ("status", "{b}.status = :status"),
            ("number", "{b}.batch_number LIKE :number ESCAPE '/'"),
            ("since", "{b}.started_at >= :since"), ("until", "{b}.started_at < :until"))),
        # Alarms: a scoped token may not read them (Context.require refuses it). The audit trail has no
        # scope filter here, so a regulator's scoped read runs the normal way (resolvers/audit.py visible_events).
        "alarms": Root(ALARM_ROWS, bind=_alarms, page=ALARM_PAGE, conds=(
            ("standing", "{al}.state IN (" + ", ".join(f"'{s.value}'" for s in STANDING) + ")"),
            ("closed", "{al}.state = 'CLOSED'"),
            ("room_code", "{al}.room_id = (SELECT id FROM room WHERE code = :room_code)"),
            ("priority", "{al}.priority = :priority"), ("source", "{al}.source = :source"),
            ("batch_number", "{al}.batch_number = :batch_number"),
            ("since", "{al}.raised_at >= :since"), ("until", "{al}.raised_at < :until"))),
        "auditTrail": Root(AUDIT_ROWS, bind=_audit, page=AUDIT_PAGE, conds=(
            ("entity", "{ev}.entity = :entity"), ("entity_id", "{ev}.entity_id = :entity_id"),
            ("actor", "{ev}.actor = :actor"), ("action", "{ev}.action = :action"),
            ("since", "{ev}.occurred_at >= :since"), ("until", "{ev}.occurred_at < :until"))),
        # Cameras: a scoped token may not read them (Context.require refuses it).
        "cameras": Root(Rows("Camera", "video_camera {cam} JOIN room {r} ON {r}.id = {cam}.room_id "
                                       "LEFT JOIN equipment {e} ON {e}.id = {cam}.equipment_id", order="{cam}.code"),
                        bind=lambda args: {"room_code": args.get("roomCode") or None},
                        conds=(("room_code", "{r}.code = :room_code"),)),
        # Phases running now, by room and start; a scoped token sees its batches' only.
        "runningPhases": Root(Rows("RunningPhase", "phase_run {pr} JOIN batch {b} ON {b}.id = {pr}.batch_id "
                                                   "JOIN equipment {e} ON {e}.id = {pr}.equipment_id "
                                                   "JOIN room {r} ON {r}.id = {e}.room_id "
                                                   "LEFT JOIN recipe {rc} ON {rc}.id = {b}.recipe_id",
                                   "{pr}.status = 'RUNNING'", "{r}.code, {pr}.started_at"),
                              bind=lambda args: {"room_code": args.get("roomCode")}, scope=_batch_scope,
                              conds=(("room_code", "{r}.code = :room_code"),)),
        # Cold-room checks: a scoped token may not read them (Context.require refuses it).
        "coldRoomChecks": Root(CHECK_ROWS, bind=lambda args: {"room_code": args.get("roomCode") or None},
                               page=CHECK_PAGE, conds=(("room_code", "{cc}.room_code = :room_code"),)),
    },
)
