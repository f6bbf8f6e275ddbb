"""Video monitoring records: camera inventory and key-post coverage, clip records and their search, time
corrections, retention enforced on purge, evidence links, and video-analytics alarms (VM-01..VM-12)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from demo.seed import seed_plant
from records.audit import AuditContext, AuditEvent
from records.db import Database
from records.genealogy import FinalLot, Intermediate
from records.plant import Area, Room
from records.plasma import Batch
from records.signature import ESignature
from records.video import Camera, VideoClip, VideoPurge
from resolvers import video as res
from tests.conftest import GQL

NOW = datetime.now(UTC).replace(microsecond=0)
FAR_EXPIRY = date(2040, 6, 30)
CLIP = ("id cameraCode roomCode startedAt endedAt timeSource timeCorrections playbackUri keyPostCode category "
        "batchNumber processStep warehouseLocation movement movementRef status "
        "retention { retentionClass retainUntil basis purgeable } links { recordKind recordRef }")
TYPES = {
    "defineKeyPost": "DefineKeyPostInput", "registerCamera": "RegisterCameraInput",
    "updateCamera": "UpdateCameraInput", "recordVideoClip": "RecordVideoClipInput",
    "correctVideoClipTime": "CorrectVideoClipTimeInput", "setVideoClipRetention": "SetVideoClipRetentionInput",
    "linkVideoClips": "LinkVideoClipsInput", "purgeVideoClips": "PurgeVideoClipsInput",
    "setVideoRetentionPolicy": "SetVideoRetentionPolicyInput",
}
SELECT = {
    "defineKeyPost": "code category roomCode cameraCodes",
    "registerCamera": "code roomCode x y deviceType keyPosts { code }",
    "updateCamera": "code roomCode active keyPosts { code }",
    "recordVideoClip": CLIP, "correctVideoClipTime": CLIP, "setVideoClipRetention": CLIP,
    "linkVideoClips": f"id recordKind recordRef permanent clips {{ {CLIP} }}",
    "purgeVideoClips": f"id purgedBy clips {{ {CLIP} }}",
    "setVideoRetentionPolicy": "standardMonths keyMonths minimumStandardMonths minimumKeyMonths",
}
MEANING = {"defineKeyPost": "APPROVED", "setVideoClipRetention": "APPROVED", "linkVideoClips": "APPROVED",
           "purgeVideoClips": "APPROVED", "setVideoRetentionPolicy": "APPROVED"}
ANALYTICS = """mutation($input: PostVideoAnalyticsEventInput!){ postVideoAnalyticsEvent(input:$input){
  alarmId duplicate cameraCode roomCode condition priority raisedAt message } }"""
SEARCH = f"""query($f: VideoClipFilter, $first: Int, $after: String){{
  videoClips(filter:$f, first:$first, after:$after){{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {CLIP} }} }} }} }}"""


def _at(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


async def call(env: Any, user: str, op: str, inp: dict[str, Any], *, signer: str | None = None) -> dict[str, Any]:
    """A signed mutation by `user` (signed by `signer`, the caller unless named)."""
    gql, signers, _ = env
    me = await gql.sign_in(user)
    q = (f"mutation($input: {TYPES[op]}!, $sig: SignatureInput!)"
         f"{{ {op}(input:$input, signature:$sig){{ {SELECT[op]} }} }}")
    body: dict[str, Any] = await me(q, {"input": inp, "sig": signers.sign(signer or user, op, inp,
                                                                          MEANING.get(op, "PERFORMED"))})
    return body


def ok(body: dict[str, Any], op: str) -> Any:
    assert "errors" not in body, body
    return body["data"][op]


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def count(db: Database, model: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def events(db: Database, action: str, entity: str | None = None) -> list[AuditEvent]:
    async with db.read() as s:
        q = select(AuditEvent).where(AuditEvent.action == action)
        if entity:
            q = q.where(AuditEvent.entity == entity)
        return list((await s.execute(q.order_by(AuditEvent.id))).scalars())


async def age(db: Database, clip_id: int, days: int) -> None:
    """Move a clip back in time (what the calendar would do), as an audited test change."""
    async with db.write(AuditContext("test", reason="age the clip for the test")) as s:
        c = await s.get_one(VideoClip, clip_id)
        c.started_at -= timedelta(days=days)
        c.ended_at -= timedelta(days=days)


@pytest_asyncio.fixture
async def vid(env: Any) -> Any:
    """Batches, a second room, key posts KP-1 (mapped to CAM-1) and KP-2 (unmapped)."""
    _, _, db = env
    async with db.write(AuditContext("system", reason="test data")) as s:
        s.add(Batch(batch_number="B-V-1", product="Human Albumin 20%", status="IN_PROGRESS", expiry_date=FAR_EXPIRY))
        s.add(Batch(batch_number="B-V-2", product="Human Albumin 20%", status="IN_PROGRESS"))
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        s.add(Room(area_id=area.id, code="R2", name="Room 2", grade="D", polygon=[[5, 0], [10, 0], [10, 5], [5, 5]]))
    ok(await call(env, "qa.sig", "defineKeyPost", {"code": "KP-1", "name": "Raw plasma charging",
                                                   "category": "KEY_WORKSTATION", "roomCode": "R1",
                                                   "equipmentCode": "EQ-1"}), "defineKeyPost")
    ok(await call(env, "qa.sig", "defineKeyPost", {"code": "KP-2", "name": "Pooled plasma sampling",
                                                   "category": "MANUAL_SAMPLING", "roomCode": "R1"}), "defineKeyPost")
    ok(await call(env, "qa.sig", "defineKeyPost", {"code": "KP-9", "name": "Other room post",
                                                   "category": "KEY_OPERATION", "roomCode": "R2"}), "defineKeyPost")
    ok(await call(env, "sup.rsa", "registerCamera", {
        "code": "CAM-1", "name": "Charging station", "roomCode": "R1", "x": 0, "y": 2.5, "deviceType": "PTZ",
        "directionDeg": 90, "fieldOfViewDeg": 60, "resolution": "1920x1080", "equipmentCode": "EQ-1",
        "keyPostCodes": ["KP-1"], "streamUri": "rtsp://vms.local/CAM-1", "validationRef": "VAL-CAM-1"}),
       "registerCamera")
    ok(await call(env, "sup.rsa", "registerCamera", {"code": "CAM-9", "name": "Room 2", "roomCode": "R2",
                                                     "x": 10, "y": 5, "deviceType": "FIXED",
                                                     "keyPostCodes": ["KP-9"]}), "registerCamera")
    return env


async def record(env: Any, user: str = "op.one", **fields: Any) -> dict[str, Any]:
    inp = {"cameraCode": "CAM-1", "startedAt": _at(-30), "endedAt": _at(-20),
           "playbackUri": "https://vms.local/play?cam=CAM-1&t=1", **fields}
    return await call(env, user, "recordVideoClip", {k: v for k, v in inp.items() if v is not None})


# --- VM-01, VM-05, VM-06: the camera inventory ---------------------------------------------------------

@pytest.mark.req("VM-01", "VM-06")
async def test_key_posts_map_to_cameras_and_an_unmapped_post_is_reported(vid: Any) -> None:
    gql, _, db = vid
    op = await gql.sign_in("op.one")
    cov = (await op("{ keyPostCoverage { complete unmapped { code } keyPosts { code cameraCodes } } }"))
    cov = cov["data"]["keyPostCoverage"]
    assert cov["complete"] is False and [k["code"] for k in cov["unmapped"]] == ["KP-2"]
    assert {k["code"]: k["cameraCodes"] for k in cov["keyPosts"]} == {"KP-1": ["CAM-1"], "KP-2": [], "KP-9": ["CAM-9"]}
    cams = (await op('{ cameras(roomCode: "R1") { code x y deviceType directionDeg fieldOfViewDeg resolution '
                     'equipmentCode validationRef keyPosts { code category } } }'))["data"]["cameras"]
    assert cams == [{"code": "CAM-1", "x": 0.0, "y": 2.5, "deviceType": "PTZ", "directionDeg": 90.0,
                     "fieldOfViewDeg": 60.0, "resolution": "1920x1080", "equipmentCode": "EQ-1",
                     "validationRef": "VAL-CAM-1", "keyPosts": [{"code": "KP-1", "category": "KEY_WORKSTATION"}]}]

    upd = ok(await call(vid, "qa.sig", "updateCamera", {"code": "CAM-1", "keyPostCodes": ["KP-1", "KP-2"],
                                                         "reason": "second post added after risk assessment RA-7"}),
             "updateCamera")
    assert [k["code"] for k in upd["keyPosts"]] == ["KP-1", "KP-2"]
    assert (await op("{ keyPostCoverage { complete unmapped { code } } }"))["data"]["keyPostCoverage"] == {
        "complete": True, "unmapped": []}
    mapped = [e for e in await events(db, "CREATE", "video_camera_key_post")]
    assert len(mapped) == 3 and all(e.actor in ("sup.rsa", "qa.sig") for e in mapped)

    # A retired camera no longer covers anything: both its posts are reported again.
    ok(await call(vid, "sup.rsa", "updateCamera", {"code": "CAM-1", "active": False, "reason": "camera failed"}),
       "updateCamera")
    cov = (await op("{ keyPostCoverage { complete unmapped { code } } }"))["data"]["keyPostCoverage"]
    assert cov == {"complete": False, "unmapped": [{"code": "KP-1"}, {"code": "KP-2"}]}
    retire = [e for e in await events(db, "UPDATE", "video_camera") if "active" in e.changes]
    assert retire[0].changes["active"] == [True, False] and retire[0].reason == "camera failed"


BAD_CAMERAS: list[tuple[str, dict[str, Any], str]] = [
    ("sup.rsa", {"roomCode": "NOPE"}, "NOT_FOUND"),
    ("sup.rsa", {"x": 9, "y": 9}, "VALIDATION_FAILED"),              # not in room R1
    ("sup.rsa", {"keyPostCodes": ["KP-9"]}, "VALIDATION_FAILED"),    # a post in another room
    ("sup.rsa", {"keyPostCodes": ["KP-404"]}, "NOT_FOUND"),
    ("sup.rsa", {"equipmentCode": "EQ-404"}, "NOT_FOUND"),
    ("sup.rsa", {"code": "CAM-1"}, "CONFLICT"),                      # already registered
    ("sup.rsa", {"code": "cam lower"}, "VALIDATION_FAILED"),
    ("sup.rsa", {"streamUri": "javascript:alert(1)"}, "VALIDATION_FAILED"),
    ("op.one", {}, "FORBIDDEN"),
    ("adm.sig", {}, "FORBIDDEN"),
]


async def test_bad_cameras_are_refused_and_write_nothing(vid: Any) -> None:
    _, _, db = vid
    for user, patch, expected in BAD_CAMERAS:
        inp = {"code": "CAM-2", "name": "Second", "roomCode": "R1", "x": 5, "y": 5, "deviceType": "DOME", **patch}
        assert code(await call(vid, user, "registerCamera", inp)) == expected, (user, patch)
    assert await count(db, Camera) == 2


async def test_camera_mutations_need_a_signature(vid: Any) -> None:
    gql, _, db = vid
    me = await gql.sign_in("sup.rsa")
    r = await me.post("mutation($input: RegisterCameraInput!){ registerCamera(input:$input){ code } }",
                      {"input": {"code": "CAM-2", "name": "x", "roomCode": "R1", "x": 1, "y": 1, "deviceType": "DOME"}})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
    # An operator may not sign for QA's key-post definition even when a QA officer calls.
    body = await call(vid, "qa.sig", "defineKeyPost", {"code": "KP-3", "name": "x", "category": "KEY_OPERATION",
                                                       "roomCode": "R1"}, signer="op.one")
    assert code(body) == "SIGNATURE_INVALID"
    assert await count(db, Camera) == 2


# --- VM-08, VM-10, VM-11: clip records and their search -------------------------------------------------

@pytest.mark.req("VM-08", "VM-10", "VM-11")
async def test_clips_are_found_by_batch_workstation_location_movement_camera_and_time(vid: Any) -> None:
    gql, _, db = vid
    key = ok(await record(vid, batchNumber="B-V-1", processStep="plasma charging"), "recordVideoClip")
    assert key["keyPostCode"] == "KP-1" and key["category"] == "KEY_WORKSTATION"    # the camera's only post
    assert key["retention"]["retentionClass"] == "KEY" and key["timeSource"] == "VMS"
    ware = ok(await record(vid, "log.sig", category="WAREHOUSE", warehouseLocation="CS1-A-03", movement="STOCK_OUT",
                           movementRef="SH-2026-001", startedAt=_at(-50), endedAt=_at(-45)), "recordVideoClip")
    assert ware["keyPostCode"] is None and ware["retention"]["retentionClass"] == "STANDARD"
    other = ok(await record(vid, "sup.rsa", category="GENERAL", startedAt=_at(-10), endedAt=_at(-5)),
               "recordVideoClip")
    far = ok(await call(vid, "op.one", "recordVideoClip", {
        "cameraCode": "CAM-9", "startedAt": _at(-28), "endedAt": _at(-25), "playbackUri": "vms:CAM-9/1",
        "batchNumber": "B-V-1", "category": "MANUAL_INTERVENTION", "keyPostCode": "KP-9"}), "recordVideoClip")
    assert await count(db, ESignature) >= 4

    qa = await gql.sign_in("qa.sig")

    async def ids(f: dict[str, Any]) -> list[int]:
        body = await qa(SEARCH, {"f": f})
        assert "errors" not in body, body
        return [e["node"]["id"] for e in body["data"]["videoClips"]["edges"]]

    assert await ids({"batchNumber": "B-V-1"}) == [key["id"], far["id"]]
    assert await ids({"batchNumber": "B-V-1", "keyPostCode": "KP-1", "from": _at(-35), "to": _at(-15)}) == [key["id"]]
    assert await ids({"category": "MANUAL_INTERVENTION"}) == [far["id"]]
    assert await ids({"processStep": "Plasma Charging"}) == [key["id"]]
    assert await ids({"warehouseLocation": "CS1-A"}) == [ware["id"]]
    assert await ids({"warehouseLocation": "CS1_"}) == []                     # wildcards are literal
    assert await ids({"movement": "STOCK_OUT", "movementRef": "SH-2026-001"}) == [ware["id"]]
    assert await ids({"cameraCode": "CAM-1", "from": _at(-22), "to": _at(-8)}) == [key["id"], other["id"]]
    assert await ids({"roomCode": "R2"}) == [far["id"]]
    assert await ids({"from": _at(-4)}) == []

    first = (await qa(SEARCH, {"f": {"cameraCode": "CAM-1"}, "first": 2}))["data"]["videoClips"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in first["edges"]] == [ware["id"], key["id"]]      # in time order
    rest = (await qa(SEARCH, {"f": {"cameraCode": "CAM-1"}, "first": 2, "after": first["pageInfo"]["endCursor"]}))
    assert [e["node"]["id"] for e in rest["data"]["videoClips"]["edges"]] == [other["id"]]

    # Playback: the reference of the VMS comes with the clip; readers beyond QA see it too (a
    # regulator's account does not: video is outside every external party's scope).
    reg = await GQL(gql.client).sign_in("audit.one")
    one = (await reg(f"query($id: Int!){{ videoClip(id: $id) {{ {CLIP} }} }}", {"id": key["id"]}))
    assert one["data"]["videoClip"]["playbackUri"] == "https://vms.local/play?cam=CAM-1&t=1"
    bridge = await GQL(gql.client).sign_in("bridge.one")
    assert code(await bridge(SEARCH, {"f": {}})) == "FORBIDDEN"


BAD_CLIPS: list[tuple[str, dict[str, Any], str]] = [
    ("op.one", {"cameraCode": "CAM-404"}, "NOT_FOUND"),
    ("op.one", {"batchNumber": "B-404"}, "NOT_FOUND"),
    ("op.one", {"endedAt": _at(24 * 60)}, "VALIDATION_FAILED"),              # later than the plant clock
    ("op.one", {"startedAt": _at(-10), "endedAt": _at(-20)}, "VALIDATION_FAILED"),
    ("op.one", {"startedAt": "2026-01-01T00:00:00", "endedAt": None}, "VALIDATION_FAILED"),  # no time zone
    ("op.one", {"playbackUri": "javascript:alert(1)"}, "VALIDATION_FAILED"),
    ("op.one", {"playbackUri": "not a uri"}, "VALIDATION_FAILED"),
    ("op.one", {"retentionClass": "STANDARD"}, "VALIDATION_FAILED"),          # a key clip is KEY at least
    ("op.one", {"retentionClass": "PRODUCT_EXPIRY"}, "VALIDATION_FAILED"),    # no batch
    ("op.one", {"keyPostCode": "KP-9"}, "VALIDATION_FAILED"),                 # not watched by CAM-1
    ("op.one", {"movementRef": "SH-1"}, "VALIDATION_FAILED"),                 # a reference without its movement
    ("qcr.sig", {}, "FORBIDDEN"),
    ("adm.sig", {}, "FORBIDDEN"),
]


async def test_bad_clips_are_refused_and_write_nothing(vid: Any) -> None:
    _, _, db = vid
    for user, patch, expected in BAD_CLIPS:
        assert code(await record(vid, user, **patch)) == expected, (user, patch)
    inp = {"cameraCode": "CAM-1", "startedAt": _at(-30), "playbackUri": "vms:x"}
    assert code(await call(vid, "reg.one", "recordVideoClip", inp, signer="op.one")) == "FORBIDDEN"  # read-only
    assert await count(db, VideoClip) == 0
    assert not [e for e in await events(db, "CREATE") if e.entity == "video_clip"]


async def test_recording_a_clip_needs_a_signature_and_an_open_camera(vid: Any) -> None:
    gql, _, db = vid
    me = await gql.sign_in("op.one")
    inp = {"cameraCode": "CAM-1", "startedAt": _at(-30), "playbackUri": "vms:x"}
    r = await me.post("mutation($input: RecordVideoClipInput!){ recordVideoClip(input:$input){ id } }", {"input": inp})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
    ok(await call(vid, "sup.rsa", "updateCamera", {"code": "CAM-1", "active": False, "reason": "retired"}),
       "updateCamera")
    assert code(await record(vid)) == "CONFLICT"
    assert await count(db, VideoClip) == 0


# --- VM-09: one time source; corrections audited ------------------------------------------------------

@pytest.mark.req("VM-09")
async def test_clip_end_is_stamped_by_the_server_and_a_time_correction_is_audited(vid: Any) -> None:
    _, _, db = vid
    clip = ok(await record(vid, endedAt=None, startedAt=_at(-3)), "recordVideoClip")
    assert clip["timeSource"] == "SERVER"
    assert abs(datetime.fromisoformat(clip["endedAt"]) - datetime.now(UTC)) < timedelta(seconds=30)

    fix = {"clipId": clip["id"], "startedAt": _at(-4), "endedAt": _at(-1), "reason": "VMS clock was 60 s fast"}
    assert code(await call(vid, "op.one", "correctVideoClipTime", fix)) == "FORBIDDEN"
    assert code(await call(vid, "sup.rsa", "correctVideoClipTime", {**fix, "reason": " "})) == "VALIDATION_FAILED"
    future = {**fix, "endedAt": _at(24 * 60)}
    assert code(await call(vid, "sup.rsa", "correctVideoClipTime", future)) == "VALIDATION_FAILED"
    assert code(await call(vid, "sup.rsa", "correctVideoClipTime", {**fix, "startedAt": _at(-3 * 24 * 60),
                                                                    "endedAt": _at(-3 * 24 * 60 + 5)})) == \
        "VALIDATION_FAILED"                                             # not a drift: would shorten retention
    assert code(await call(vid, "sup.rsa", "correctVideoClipTime", {**fix, "clipId": 999})) == "NOT_FOUND"
    done = ok(await call(vid, "sup.rsa", "correctVideoClipTime", fix), "correctVideoClipTime")
    assert done["timeSource"] == "CORRECTED" and done["timeCorrections"] == 1
    assert datetime.fromisoformat(done["startedAt"]) == NOW - timedelta(minutes=4)
    upd = [e for e in await events(db, "UPDATE", "video_clip") if "started_at" in e.changes]
    assert len(upd) == 1
    ev = upd[0]
    assert ev.actor == "sup.rsa" and ev.reason == "VMS clock was 60 s fast" and ev.entity_id == str(clip["id"])
    assert ev.changes["started_at"][0] != ev.changes["started_at"][1]
    assert ev.changes["time_source"] == ["SERVER", "CORRECTED"]
    async with db.read() as s:
        sigs = (await s.execute(select(ESignature.operation).where(
            ESignature.entity == "video_clip", ESignature.entity_id == str(clip["id"])))).scalars().all()
    assert sorted(sigs) == ["correctVideoClipTime", "recordVideoClip"]


# --- VM-02, VM-03: retention enforced -------------------------------------------------------------------

@pytest.mark.req("VM-02")
async def test_a_clip_younger_than_three_months_cannot_be_purged(vid: Any) -> None:
    _, _, db = vid
    clip = ok(await record(vid, "log.sig", category="WAREHOUSE", warehouseLocation="CS1-A-01"), "recordVideoClip")
    purge = {"clipIds": [clip["id"]], "reason": "routine purge of expired video"}
    body = await call(vid, "qa.sig", "purgeVideoClips", purge)
    assert code(body) == "CONFLICT"
    ext = body["errors"][0]["extensions"]
    assert ext["reason"] == "UNDER_RETENTION" and ext["clips"][0]["id"] == clip["id"]
    assert ext["clips"][0]["retentionClass"] == "STANDARD" and ext["clips"][0]["retainUntil"]
    refused = await events(db, "PURGE_REFUSED", "video_clip")
    assert len(refused) == 1 and refused[0].actor == "qa.sig" and refused[0].changes["reason"] == purge["reason"]
    assert await count(db, VideoPurge) == 0
    async with db.read() as s:
        assert (await s.get_one(VideoClip, clip["id"])).status == "AVAILABLE"
        assert not (await s.execute(select(ESignature).where(ESignature.operation == "purgeVideoClips"))).first()

    await age(db, clip["id"], 80)                    # under three months still
    assert code(await call(vid, "qa.sig", "purgeVideoClips", purge)) == "CONFLICT"
    assert code(await call(vid, "op.one", "purgeVideoClips", purge)) == "FORBIDDEN"
    await age(db, clip["id"], 15)                    # now past three months
    done = ok(await call(vid, "qa.sig", "purgeVideoClips", purge), "purgeVideoClips")
    assert done["purgedBy"] == "qa.sig"
    assert done["clips"][0]["status"] == "PURGED" and done["clips"][0]["playbackUri"] is None
    assert await count(db, VideoPurge) == 1 and await count(db, VideoClip) == 1    # kept as a record
    assert code(await call(vid, "qa.sig", "purgeVideoClips", purge)) == "CONFLICT"  # already purged
    gql, _, _ = vid
    qa = await gql.sign_in("qa.sig")
    assert (await qa(SEARCH, {"f": {}}))["data"]["videoClips"]["totalCount"] == 0
    assert (await qa(SEARCH, {"f": {"includePurged": True}}))["data"]["videoClips"]["totalCount"] == 1


@pytest.mark.req("VM-03")
async def test_key_clips_are_kept_twelve_months_and_a_mixed_purge_deletes_nothing(vid: Any) -> None:
    _, _, db = vid
    key = ok(await record(vid), "recordVideoClip")
    plain = ok(await record(vid, category="GENERAL", startedAt=_at(-60), endedAt=_at(-50)), "recordVideoClip")
    assert key["retention"]["retentionClass"] == "KEY"
    await age(db, key["id"], 200)
    await age(db, plain["id"], 200)
    both = {"clipIds": [key["id"], plain["id"]], "reason": "purge"}
    body = await call(vid, "qa.sig", "purgeVideoClips", both)
    assert code(body) == "CONFLICT"
    assert [c["id"] for c in body["errors"][0]["extensions"]["clips"]] == [key["id"]]
    async with db.read() as s:
        assert {c.status for c in (await s.execute(select(VideoClip))).scalars()} == {"AVAILABLE"}
    await age(db, key["id"], 170)                    # 370 days
    done = ok(await call(vid, "qa.sig", "purgeVideoClips", both), "purgeVideoClips")
    assert {c["status"] for c in done["clips"]} == {"PURGED"}


@pytest.mark.req("VM-02", "VM-03")
async def test_retention_settings_cannot_go_below_the_minimums(vid: Any) -> None:
    gql, _, db = vid
    for bad in ({"standardMonths": 2, "keyMonths": 12}, {"standardMonths": 3, "keyMonths": 11},
                {"standardMonths": 13, "keyMonths": 12}):
        assert code(await call(vid, "qa.sig", "setVideoRetentionPolicy", {**bad, "reason": "x"})) == "VALIDATION_FAILED"
    assert len(await events(db, "SETTING_REFUSED", "setting")) == 3
    inp = {"standardMonths": 6, "keyMonths": 24, "reason": "site SOP VID-01 rev 3"}
    assert code(await call(vid, "adm.sig", "setVideoRetentionPolicy", inp)) == "FORBIDDEN"
    assert ok(await call(vid, "qa.sig", "setVideoRetentionPolicy", inp), "setVideoRetentionPolicy") == {
        "standardMonths": 6, "keyMonths": 24, "minimumStandardMonths": 3, "minimumKeyMonths": 12}
    op = await gql.sign_in("op.one")
    assert (await op("{ videoRetentionPolicy { standardMonths keyMonths } }"))["data"]["videoRetentionPolicy"] == {
        "standardMonths": 6, "keyMonths": 24}
    clip = ok(await record(vid, category="GENERAL"), "recordVideoClip")
    await age(db, clip["id"], 100)                   # past 3 months, not past the site's 6
    assert code(await call(vid, "qa.sig", "purgeVideoClips", {"clipIds": [clip["id"]], "reason": "p"})) == "CONFLICT"


@pytest.mark.req("VM-03", "VM-04")
async def test_a_retention_class_is_only_ever_raised(vid: Any) -> None:
    _, _, db = vid
    clip = ok(await record(vid), "recordVideoClip")
    raise_ = {"clipId": clip["id"], "retentionClass": "PERMANENT", "reason": "media fill evidence"}
    assert code(await call(vid, "sup.rsa", "setVideoClipRetention", raise_)) == "FORBIDDEN"
    assert code(await call(vid, "qa.sig", "setVideoClipRetention",
                           {**raise_, "retentionClass": "PRODUCT_EXPIRY"})) == "VALIDATION_FAILED"   # no product
    done = ok(await call(vid, "qa.sig", "setVideoClipRetention", raise_), "setVideoClipRetention")
    assert done["retention"] == {"retentionClass": "PERMANENT", "retainUntil": None, "basis": "kept permanently",
                                 "purgeable": False}
    lower = {**raise_, "retentionClass": "KEY", "reason": "space"}
    body = await call(vid, "qa.sig", "setVideoClipRetention", lower)
    assert code(body) == "CONFLICT" and body["errors"][0]["extensions"]["reason"] == "RETENTION_CANNOT_BE_LOWERED"
    refused = await events(db, "RETENTION_LOWERING_REFUSED", "video_clip")
    assert len(refused) == 1 and refused[0].changes["retentionClass"] == ["PERMANENT", "KEY"]
    assert code(await call(vid, "qa.sig", "setVideoClipRetention", raise_)) == "CONFLICT"       # already
    await age(db, clip["id"], 3650)
    assert code(await call(vid, "qa.sig", "purgeVideoClips", {"clipIds": [clip["id"]], "reason": "p"})) == "CONFLICT"


# --- VM-04, VM-07: clips as evidence ----------------------------------------------------------------------

async def _deviation(vid: Any, batch: str | None) -> str:
    gql, signers, _ = vid
    me = await gql.sign_in("op.one")
    inp = {"title": "Charging port touched", "description": "glove contact at the charging port",
           **({"batchNumber": batch} if batch else {})}
    body = await me("""mutation($input: RaiseDeviationInput!, $sig: SignatureInput!){
        raiseDeviation(input:$input, signature:$sig){ number } }""",
                    {"input": inp, "sig": signers.sign("op.one", "raiseDeviation", inp)})
    return str(body["data"]["raiseDeviation"]["number"])


@pytest.mark.req("VM-04", "VM-07")
async def test_clips_linked_to_a_deviation_by_camera_and_time_are_kept_until_expiry_plus_a_year(vid: Any) -> None:
    gql, _, db = vid
    a = ok(await record(vid, startedAt=_at(-40), endedAt=_at(-35)), "recordVideoClip")
    b = ok(await record(vid, category="GENERAL", startedAt=_at(-30), endedAt=_at(-25)), "recordVideoClip")
    outside = ok(await record(vid, category="GENERAL", startedAt=_at(-90), endedAt=_at(-80)), "recordVideoClip")
    number = await _deviation(vid, "B-V-1")
    link = {"recordKind": "DEVIATION", "recordRef": number, "cameraCode": "CAM-1", "from": _at(-38),
            "to": _at(-26), "reason": "investigation of " + number}
    assert code(await call(vid, "op.one", "linkVideoClips", link)) == "FORBIDDEN"
    assert code(await call(vid, "qa.sig", "linkVideoClips", {**link, "recordRef": "DEV-0000-99999"})) == "NOT_FOUND"
    assert code(await call(vid, "qa.sig", "linkVideoClips", {**link, "from": _at(-200), "to": _at(-190)})) == \
        "NOT_FOUND"
    assert code(await call(vid, "qa.sig", "linkVideoClips", {**link, "from": None})) == "VALIDATION_FAILED"
    ev = ok(await call(vid, "qa.sig", "linkVideoClips", link), "linkVideoClips")
    assert ev["recordKind"] == "DEVIATION" and sorted(c["id"] for c in ev["clips"]) == [a["id"], b["id"]]
    until = "2041-07-01T00:00:00+00:00"
    for c in ev["clips"]:
        assert c["retention"]["retentionClass"] == "PRODUCT_EXPIRY"
        assert c["retention"]["retainUntil"] == until and "2040-06-30" in c["retention"]["basis"]
        assert c["links"] == [{"recordKind": "DEVIATION", "recordRef": number}]

    qa = await gql.sign_in("qa.sig")
    found = (await qa(SEARCH, {"f": {"linkedRecord": number}}))["data"]["videoClips"]["edges"]
    assert [e["node"]["id"] for e in found] == [a["id"], b["id"]]
    for c in (a, b, outside):
        await age(db, c["id"], 800)          # long past 12 months, not past expiry + 1 year
    body = await call(vid, "qa.sig", "purgeVideoClips", {"clipIds": [b["id"]], "reason": "p"})
    assert code(body) == "CONFLICT" and body["errors"][0]["extensions"]["clips"][0]["retainUntil"] == \
        "2041-07-01T00:00:00.000000Z"
    ok(await call(vid, "qa.sig", "purgeVideoClips", {"clipIds": [outside["id"]], "reason": "p"}), "purgeVideoClips")
    assert code(await call(vid, "qa.sig", "linkVideoClips", {**link, "clipIds": [outside["id"]], "cameraCode": None,
                                                              "from": None, "to": None})) == "CONFLICT"   # purged


@pytest.mark.req("VM-04")
async def test_an_unknown_expiry_holds_the_clip_and_a_later_final_lot_sets_the_date(vid: Any) -> None:
    _, _, db = vid
    clip = ok(await record(vid, batchNumber="B-V-2"), "recordVideoClip")
    number = await _deviation(vid, None)
    ev = ok(await call(vid, "qa.sig", "linkVideoClips", {"recordKind": "DEVIATION", "recordRef": number,
                                                         "clipIds": [clip["id"]], "reason": "major deviation"}),
            "linkVideoClips")
    ret = ev["clips"][0]["retention"]
    assert ret["retentionClass"] == "PRODUCT_EXPIRY" and ret["retainUntil"] is None and "B-V-2" in ret["basis"]
    await age(db, clip["id"], 5000)
    purge = {"clipIds": [clip["id"]], "reason": "p"}
    assert code(await call(vid, "qa.sig", "purgeVideoClips", purge)) == "CONFLICT"
    async with db.write(AuditContext("system", reason="lot filled")) as s:
        bid = (await s.execute(select(Batch.id).where(Batch.batch_number == "B-V-2"))).scalar_one()
        im = Intermediate(code="IM-V-2", batch_id=bid, kind="albumin bulk")
        s.add(im)
        await s.flush()
        s.add(FinalLot(lot_number="FL-V-2", intermediate_id=im.id, product="Human Albumin 20%",
                       expiry_date=date(2012, 3, 31)))
    gql, _, _ = vid
    qa = await gql.sign_in("qa.sig")
    one = (await qa(f"query($id: Int!){{ videoClip(id: $id) {{ {CLIP} }} }}", {"id": clip["id"]}))["data"]
    # Expiry long past: the key-data period (12 months after the clip) is what is left, and it is over too.
    assert one["videoClip"]["retention"]["purgeable"] is True
    ok(await call(vid, "qa.sig", "purgeVideoClips", purge), "purgeVideoClips")


@pytest.mark.req("VM-04", "VM-07")
async def test_validation_and_change_links_without_a_product_are_permanent(vid: Any) -> None:
    _, _, db = vid
    clip = ok(await record(vid), "recordVideoClip")
    other = ok(await record(vid, category="GENERAL", startedAt=_at(-60), endedAt=_at(-55)), "recordVideoClip")
    val = ok(await call(vid, "qa.sig", "linkVideoClips", {"recordKind": "VALIDATION", "recordRef": "VAL-MF-2026-01",
                                                          "clipIds": [clip["id"]], "reason": "media fill run 1"}),
             "linkVideoClips")
    assert val["clips"][0]["retention"]["retentionClass"] == "PERMANENT"
    chg = ok(await call(vid, "qa.sig", "linkVideoClips", {"recordKind": "CHANGE", "recordRef": "CC-2026-014",
                                                          "clipIds": [other["id"]], "batchNumber": "B-V-1",
                                                          "permanent": True, "reason": "key change"}),
             "linkVideoClips")
    assert chg["permanent"] is True and chg["clips"][0]["retention"]["retentionClass"] == "PERMANENT"
    assert len(await events(db, "SIGN", "video_evidence")) == 2


# --- VM-12: video analytics become alarms ------------------------------------------------------------------

@pytest.mark.req("VM-12")
async def test_an_analytics_event_becomes_an_alarm_linked_to_camera_room_and_time(vid: Any) -> None:
    gql, _, db = vid
    svc = gql.client.app_services
    await svc.alarms.start()
    try:
        bridge = await GQL(gql.client).sign_in("bridge.one")
        at = NOW - timedelta(seconds=5)
        inp = {"cameraCode": "CAM-1", "kind": "MASK_MISSING", "at": at.isoformat(), "confidence": 0.93,
               "detail": "operator at the charging port"}
        out = (await bridge(ANALYTICS, {"input": inp}))["data"]["postVideoAnalyticsEvent"]
        assert out["duplicate"] is False and out["cameraCode"] == "CAM-1" and out["roomCode"] == "R1"
        assert out["condition"] == "MASK_MISSING" and out["priority"] == "HIGH"
        assert "Raw plasma charging" in out["message"]
        again = (await bridge(ANALYTICS, {"input": inp}))["data"]["postVideoAnalyticsEvent"]
        assert again["duplicate"] is True and again["alarmId"] == out["alarmId"]
        crowd = {"cameraCode": "CAM-9", "kind": "OVER_OCCUPANCY", "at": at.isoformat(), "personCount": 5}
        assert (await bridge(ANALYTICS, {"input": crowd}))["data"]["postVideoAnalyticsEvent"]["roomCode"] == "R2"

        qa = await gql.sign_in("qa.sig")
        alarms = (await qa('{ alarms(filter: {source: VIDEO}) { edges { node { id condition cameraCode roomCode '
                           'raisedAt state } } } }'))["data"]["alarms"]["edges"]
        mask = next(e["node"] for e in alarms if e["node"]["id"] == out["alarmId"])
        assert mask["cameraCode"] == "CAM-1" and mask["roomCode"] == "R1" and mask["condition"] == "MASK_MISSING"
        assert datetime.fromisoformat(mask["raisedAt"]) == at and len(alarms) == 2
        created = [e for e in await events(db, "CREATE", "alarm")]
        assert {e.actor for e in created} == {"bridge.one"}

        for user, bad, expected in (
            ("bridge.one", {**inp, "cameraCode": "CAM-404"}, "NOT_FOUND"),
            ("bridge.one", {**inp, "at": (NOW + timedelta(hours=1)).isoformat()}, "VALIDATION_FAILED"),
            ("bridge.one", {**inp, "confidence": 1.5}, "VALIDATION_FAILED"),
            ("op.one", inp, "FORBIDDEN"),
            ("qa.sig", inp, "FORBIDDEN"),
        ):
            caller = await GQL(gql.client).sign_in(user)
            assert code(await caller(ANALYTICS, {"input": bad})) == expected, (user, bad)
        assert len(await events(db, "CREATE", "alarm")) == 2
    finally:
        await svc.alarms.stop()


# --- the demo inventory ------------------------------------------------------------------------------------

@pytest.mark.req("VM-01")
async def test_demo_cameras_cover_every_demo_key_post(sqlite_db: Database) -> None:
    from demo.cameras import DEMO_CAMERAS, DEMO_KEY_POSTS, seed_demo_cameras
    from demo.plant import DEMO_PLANT

    await seed_plant(sqlite_db, DEMO_PLANT)
    assert await seed_demo_cameras(sqlite_db) == len(DEMO_CAMERAS) + len(DEMO_KEY_POSTS)
    assert await seed_demo_cameras(sqlite_db) == 0
    async with sqlite_db.read() as s:
        cov = await res.coverage(s)
        cams = await res.camera_views(s)
        rooms = {r.code: r for r in (await s.execute(select(Room))).scalars()}
    assert len(cov.key_posts) == len(DEMO_KEY_POSTS) and cov.unmapped == []
    assert len(cams) == len(DEMO_CAMERAS)
    for v in cams:
        assert res.inside(rooms[v.room_code].polygon, v.camera.x, v.camera.y), v.camera.code
    equipment = {k.key_post.code: k.equipment_code for k in cov.key_posts}
    assert equipment["KP-FIL-FILL"] == "EQ-FIL-01" and equipment["KP-QCM-BSC"] == "EQ-QCM-01"


def test_month_and_year_arithmetic() -> None:
    assert res.add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)
    assert res.add_months(datetime(2026, 1, 31, tzinfo=UTC), 12) == datetime(2027, 1, 31, tzinfo=UTC)
    assert res.one_year_after(date(2027, 6, 30)) == datetime(2028, 7, 1, tzinfo=UTC)
    assert res.one_year_after(date(2028, 2, 29)) == datetime(2029, 3, 1, tzinfo=UTC)
    square = [[0, 0], [4, 0], [4, 4], [0, 4]]
    assert res.inside(square, 2, 2) and res.inside(square, 0, 2) and not res.inside(square, 6, 2)
