"""The demo plant's key posts and cameras."""

from __future__ import annotations

from sqlalchemy import select

from records.audit import AuditContext
from records.db import Database
from records.plant import Equipment, Room
from records.video import Camera, CameraKeyPost, KeyPost

# (code, name, category, room, equipment or None)
DEMO_KEY_POSTS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("KP-RCV-INSPECT", "Plasma incoming inspection", "KEY_OPERATION", "RCV", None),
    ("KP-RCV-SAMPLE", "Raw plasma sampling", "MANUAL_SAMPLING", "RCV", None),
    ("KP-THP-CHARGE", "Raw plasma charging", "KEY_WORKSTATION", "THP", "EQ-THP-01"),
    ("KP-THP-POOL", "Plasma pooling", "KEY_WORKSTATION", "THP", "EQ-THP-02"),
    ("KP-THP-SAMPLE", "Pooled plasma sampling", "MANUAL_SAMPLING", "THP", "EQ-THP-02"),
    ("KP-VIN-INACT", "Virus inactivation", "KEY_OPERATION", "VIN", "EQ-VIN-01"),
    ("KP-FBG-FORM", "Bulk formulation", "KEY_OPERATION", "FBG", "EQ-FBG-01"),
    ("KP-FIL-FILL", "Aseptic filling", "KEY_WORKSTATION", "FIL", "EQ-FIL-01"),
    ("KP-FIL-ASSY", "Aseptic filling part assembly", "MANUAL_INTERVENTION", "FIL", "EQ-FIL-01"),
    ("KP-QCL-VIRUS", "Plasma virus-screening testing", "KEY_WORKSTATION", "QCL", None),
    ("KP-QCL-ANTIBODY", "Antibody testing", "KEY_WORKSTATION", "QCL", None),
    ("KP-QCM-BSC", "Release testing in the biosafety cabinet", "MANUAL_INTERVENTION", "QCM", "EQ-QCM-01"),
)

# (code, name, room, x, y, device type, direction, field of view, equipment or None, key posts)
DEMO_CAMERAS: tuple[tuple[str, str, str, float, float, str, float, float, str | None, tuple[str, ...]], ...] = (
    ("CAM-RCV-01", "Receipt dock and inspection bench", "RCV", 2.0, 12.0, "DOME", 90, 110, None,
     ("KP-RCV-INSPECT", "KP-RCV-SAMPLE")),
    ("CAM-CS1-01", "Cold store 1 racks", "CS1", 20.0, 2.0, "WIDE_ANGLE", 135, 120, None, ()),
    ("CAM-CS2-01", "Cold store 2 racks", "CS2", 32.0, 2.0, "WIDE_ANGLE", 135, 120, None, ()),
    ("CAM-THP-01", "Thawing and pooling tanks", "THP", 52.0, 2.0, "FIXED", 180, 90, "EQ-THP-02",
     ("KP-THP-CHARGE", "KP-THP-POOL")),
    ("CAM-THP-02", "Pool sampling point", "THP", 60.0, 10.0, "PTZ", 270, 60, "EQ-THP-02", ("KP-THP-SAMPLE",)),
    ("CAM-VIN-01", "Virus inactivation tanks", "VIN", 31.0, 28.0, "FIXED", 180, 90, "EQ-VIN-01", ("KP-VIN-INACT",)),
    ("CAM-FBG-01", "Formulation tank", "FBG", 42.0, 34.0, "FIXED", 90, 80, "EQ-FBG-01", ("KP-FBG-FORM",)),
    ("CAM-FIL-01", "Filling line and RABS", "FIL", 76.0, 28.0, "WIDE_ANGLE", 180, 120, "EQ-FIL-01",
     ("KP-FIL-FILL", "KP-FIL-ASSY")),
    ("CAM-QCL-01", "Virus and antibody testing benches", "QCL", 26.0, 60.0, "PTZ", 90, 70, None,
     ("KP-QCL-VIRUS", "KP-QCL-ANTIBODY")),
    ("CAM-QCM-01", "Biosafety cabinet (work surface and display)", "QCM", 48.0, 60.0, "PTZ", 90, 45,
     "EQ-QCM-01", ("KP-QCM-BSC",)),
)


async def seed_demo_cameras(db: Database) -> int:
    """Create the demo key posts and cameras once (after the demo plant); returns how many were added.
    Rooms or equipment missing from the plant are skipped."""
    added = 0
    async with db.write(AuditContext("system", reason="initial configuration")) as s:
        rooms = dict((await s.execute(select(Room.code, Room.id))).all())
        eq = dict((await s.execute(select(Equipment.code, Equipment.id))).all())
        posts = dict((await s.execute(select(KeyPost.code, KeyPost.id))).all())
        for code, name, category, room, equipment in DEMO_KEY_POSTS:
            if code in posts or room not in rooms:
                continue
            k = KeyPost(code=code, name=name, category=category, room_id=rooms[room],
                        equipment_id=eq.get(equipment or ""), active=True)
            s.add(k)
            await s.flush()
            posts[code] = k.id
            added += 1
        have = set((await s.execute(select(Camera.code))).scalars())
        for code, name, room, x, y, kind, direction, fov, equipment, kps in DEMO_CAMERAS:
            if code in have or room not in rooms:
                continue
            cam = Camera(code=code, name=name, room_id=rooms[room], equipment_id=eq.get(equipment or ""), x=x, y=y,
                         device_type=kind, direction_deg=float(direction), field_of_view_deg=float(fov),
                         resolution="1920x1080" if kind != "PTZ" else "3840x2160",
                         stream_uri=f"rtsp://vms.demo.local/{code}", risk_assessment_ref="RA-VID-001",
                         validation_ref="VAL-VID-001", active=True)
            s.add(cam)
            await s.flush()
            for kp in kps:
                if kp in posts:
                    s.add(CameraKeyPost(camera_id=cam.id, key_post_id=posts[kp]))
            added += 1
    return added
