"""The video monitoring fields the root schema composes: queries and signed mutations (VM-01..VM-12)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import video as res
from resolvers.context import Context
from schema.convert import of
from schema.permissions import can
from schema.relay import Connection, Edge, connection, decode_cursor, encode_cursor, page_size
from schema.signing import SignatureInput, signed
from schema.video.inputs import (
    CorrectVideoClipTimeInput,
    DefineKeyPostInput,
    LinkVideoClipsInput,
    PostVideoAnalyticsEventInput,
    PurgeVideoClipsInput,
    RecordVideoClipInput,
    RegisterCameraInput,
    SetVideoClipRetentionInput,
    SetVideoRetentionPolicyInput,
    UpdateCameraInput,
    VideoClipFilter,
)
from schema.video.types import (
    Camera,
    KeyPost,
    KeyPostCoverage,
    VideoAnalyticsAlarm,
    VideoClip,
    VideoEvidence,
    VideoPurge,
    VideoRetentionPolicy,
    camera_of,
    clip_of,
    evidence_of,
    key_post_of,
)


@strawberry.type
class VideoQuery:
    @strawberry.field(description="Cameras on the floor plan, with the key posts they cover.",
                      extensions=can("plant:camera", "read"))
    async def cameras(self, info: Info[Context, None], room_code: str | None = None) -> list[Camera]:
        return [camera_of(v) for v in await res.read_cameras(info.context, room_code)]

    @strawberry.field(description="Key posts and key operations under video monitoring (VM-01, VM-10).",
                      extensions=can("plant:camera", "read"))
    async def key_posts(self, info: Info[Context, None], room_code: str | None = None) -> list[KeyPost]:
        return [key_post_of(v) for v in await res.read_key_posts(info.context, room_code)]

    @strawberry.field(description="VM-01: is every active key post covered by an active camera?",
                      extensions=can("plant:camera", "read"))
    async def key_post_coverage(self, info: Info[Context, None]) -> KeyPostCoverage:
        cov = await res.read_coverage(info.context)
        return KeyPostCoverage(checked_at=cov.checked_at, complete=not cov.unmapped,
                               key_posts=[key_post_of(k) for k in cov.key_posts],
                               unmapped=[key_post_of(k) for k in cov.unmapped])

    @strawberry.field(description="Search clips by batch, workstation, category, location, movement, camera "
                                  "and time range (VM-08, VM-10, VM-11); in time order.",
                      extensions=can("video:clip", "read"))
    async def video_clips(self, info: Info[Context, None], filter: VideoClipFilter | None = None,
                          first: int | None = None, after: str | None = None) -> Connection[VideoClip]:
        offset = decode_cursor("clip", after)
        start = 0 if offset is None else offset + 1
        rows, total, more = await res.search_clips(info.context, (filter or VideoClipFilter()).plain(),
                                                   page_size(first), start)
        edges = [Edge(node=clip_of(v), cursor=encode_cursor("clip", start + i)) for i, v in enumerate(rows)]
        return connection(edges, total, more, start > 0)

    @strawberry.field(description="One clip, with its retention and links.", extensions=can("video:clip", "read"))
    async def video_clip(self, info: Info[Context, None], id: int) -> VideoClip | None:
        v = await res.read_clip(info.context, id)
        return clip_of(v) if v else None

    @strawberry.field(description="The retention settings (VM-02, VM-03).", extensions=can("video:clip", "read"))
    async def video_retention_policy(self, info: Info[Context, None]) -> VideoRetentionPolicy:
        p = await res.read_retention_policy(info.context)
        return VideoRetentionPolicy(standard_months=p.standard_months, key_months=p.key_months)


@strawberry.type
class VideoMutation:
    @strawberry.mutation(description="Define a key post that must be under video monitoring; signed APPROVED (QA).",
                         extensions=can("video:camera", "write"))
    async def define_key_post(self, info: Info[Context, None], input: DefineKeyPostInput,
                              signature: SignatureInput) -> KeyPost:
        v = await res.define_key_post(info.context, signed(info, signature), input.code, input.name,
                                      input.category.value, input.room_code, input.equipment_code, input.description)
        return key_post_of(v)

    @strawberry.mutation(description="Register a camera on the floor plan with the key posts it covers; "
                                     "signed PERFORMED.", extensions=can("video:camera", "write"))
    async def register_camera(self, info: Info[Context, None], input: RegisterCameraInput,
                              signature: SignatureInput) -> Camera:
        return camera_of(await res.register_camera(info.context, signed(info, signature), input.code, input.plain()))

    @strawberry.mutation(description="Move, re-aim, re-map or retire a camera, with a reason; signed PERFORMED.",
                         extensions=can("video:camera", "write"))
    async def update_camera(self, info: Info[Context, None], input: UpdateCameraInput,
                            signature: SignatureInput) -> Camera:
        return camera_of(await res.update_camera(info.context, signed(info, signature), input.code,
                                                 input.plain(), input.reason))

    @strawberry.mutation(description="Record a clip of the VMS with its indices and playback reference; signed "
                                     "PERFORMED.", extensions=can("video:clip", "write"))
    async def record_video_clip(self, info: Info[Context, None], input: RecordVideoClipInput,
                                signature: SignatureInput) -> VideoClip:
        return clip_of(await res.record_clip(info.context, signed(info, signature), input.plain()))

    @strawberry.mutation(description="Correct a clip's times, with a reason; audited (VM-09); signed PERFORMED.",
                         extensions=can("video:clip", "correct"))
    async def correct_video_clip_time(self, info: Info[Context, None], input: CorrectVideoClipTimeInput,
                                      signature: SignatureInput) -> VideoClip:
        return clip_of(await res.correct_time(info.context, signed(info, signature), input.clip_id,
                                              input.started_at, input.ended_at, input.reason))

    @strawberry.mutation(description="Raise a clip's retention class (never lower); signed APPROVED (QA).",
                         extensions=can("video:retention", "write"))
    async def set_video_clip_retention(self, info: Info[Context, None], input: SetVideoClipRetentionInput,
                                       signature: SignatureInput) -> VideoClip:
        return clip_of(await res.set_clip_retention(info.context, signed(info, signature), input.clip_id,
                                                    input.retention_class.value, input.reason))

    @strawberry.mutation(description="Link clips to a deviation, key change or key validation (VM-07); their "
                                     "retention rises to product expiry + 1 year or permanent (VM-04); signed "
                                     "APPROVED (QA).", extensions=can("video:retention", "write"))
    async def link_video_clips(self, info: Info[Context, None], input: LinkVideoClipsInput,
                               signature: SignatureInput) -> VideoEvidence:
        ev, clips = await res.link_clips(info.context, signed(info, signature), input.plain())
        return evidence_of(ev, clips)

    @strawberry.mutation(description="Purge clips whose retention has ended, all or none; a clip still retained "
                                     "is refused with CONFLICT (UNDER_RETENTION) and the refusal audited; signed "
                                     "APPROVED (QA).", extensions=can("video:clip", "purge"))
    async def purge_video_clips(self, info: Info[Context, None], input: PurgeVideoClipsInput,
                                signature: SignatureInput) -> VideoPurge:
        purge, clips = await res.purge_clips(info.context, signed(info, signature), input.clip_ids, input.reason)
        return of(VideoPurge, purge, clips=[clip_of(v) for v in clips])

    @strawberry.mutation(description="Set the retention periods (at least 3 and 12 months); signed APPROVED (QA).",
                         extensions=can("video:retention-policy", "write"))
    async def set_video_retention_policy(self, info: Info[Context, None], input: SetVideoRetentionPolicyInput,
                                         signature: SignatureInput) -> VideoRetentionPolicy:
        p = await res.set_retention_policy(info.context, signed(info, signature), input.standard_months,
                                           input.key_months, input.reason)
        return VideoRetentionPolicy(standard_months=p.standard_months, key_months=p.key_months)

    @strawberry.mutation(description="VM-12: an event of the video-analytics source becomes an alarm linked to "
                                     "camera, room and time. Posted by the device bridge's service account; a "
                                     "machine, so no e-signature.", extensions=can("video:analytics", "write"))
    async def post_video_analytics_event(self, info: Info[Context, None],
                                         input: PostVideoAnalyticsEventInput) -> VideoAnalyticsAlarm:
        r = await res.analytics_event(info.context, input.kind.value, input.camera_code, input.at, input.detail,
                                      input.person_count, input.confidence)
        return VideoAnalyticsAlarm(alarm_id=r.alarm_id, duplicate=r.duplicate, camera_code=r.camera_code,
                                   room_code=r.room_code, condition=r.condition, priority=r.priority,
                                   raised_at=r.at, message=r.message)
