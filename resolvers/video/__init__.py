"""Video monitoring (VM-01..VM-12), one module per concern:

- cameras: the camera inventory and key posts on the floor plan, and their coverage (VM-01, VM-05, VM-06);
- clips: clip records indexed for traceability, and their time corrections (VM-08..VM-11);
- retention: how long a clip is kept (VM-02..VM-04);
- evidence: clips linked as evidence of a deviation, change or validation (VM-04, VM-07);
- purge: retention raised, the retention periods set, and clips purged once their retention ended;
- search: finding clips by their indices;
- analytics: video-analytics events raised as alarms (VM-12);
- checks: the input rules and lookups the writes share.

Every GMP write is signed and goes through resolvers.signed.perform. The names other modules use are
importable from here.
"""

from resolvers.video.analytics import ANALYTICS, AnalyticsResult, analytics_event
from resolvers.video.cameras import (
    CameraSpec,
    CameraView,
    Coverage,
    KeyPostView,
    camera_content,
    camera_views,
    coverage,
    define_key_post,
    inside,
    key_post_content,
    key_post_views,
    read_cameras,
    read_coverage,
    read_key_posts,
    register_camera,
    update_camera,
)
from resolvers.video.checks import CATEGORIES, DEVICE_TYPES, KEY_CATEGORIES, MOVEMENTS, RECORD_KINDS, RETENTION_CLASSES
from resolvers.video.clips import (
    ClipSpec,
    ClipView,
    EvidenceRef,
    clip,
    clip_content,
    correct_time,
    read_clip,
    record_clip,
    views,
)
from resolvers.video.evidence import LinkSpec, VideoEvidence, evidence_content, link_clips
from resolvers.video.purge import purge_clips, set_clip_retention, set_retention_policy
from resolvers.video.retention import (
    MAX_MONTHS,
    MIN_KEY_MONTHS,
    MIN_STANDARD_MONTHS,
    SETTING_KEY,
    Retention,
    RetentionPolicy,
    add_months,
    one_year_after,
    read_retention_policy,
    retention_of,
    retention_policy,
)
from resolvers.video.search import ClipFilter, search, search_clips

__all__ = [
    "ANALYTICS", "CATEGORIES", "DEVICE_TYPES", "KEY_CATEGORIES", "MAX_MONTHS",
    "MIN_KEY_MONTHS", "MIN_STANDARD_MONTHS", "MOVEMENTS", "RECORD_KINDS", "RETENTION_CLASSES", "SETTING_KEY",
    "AnalyticsResult", "CameraSpec", "CameraView", "ClipFilter", "ClipSpec", "ClipView", "Coverage", "EvidenceRef",
    "KeyPostView", "LinkSpec", "Retention", "RetentionPolicy", "VideoEvidence", "add_months", "analytics_event",
    "camera_content", "camera_views", "clip", "clip_content", "correct_time", "coverage", "define_key_post",
    "evidence_content", "inside", "key_post_content", "key_post_views", "link_clips", "one_year_after", "purge_clips",
    "read_cameras", "read_clip", "read_coverage", "read_key_posts", "read_retention_policy", "record_clip",
    "register_camera", "retention_of", "retention_policy", "search", "search_clips",
    "set_clip_retention", "set_retention_policy", "update_camera", "views",
]
