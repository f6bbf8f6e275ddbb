"""Video monitoring records (VM-…): cameras, clips, retention, analytics events. Being built."""

from __future__ import annotations

import strawberry


@strawberry.type
class VideoQuery:
    pass


@strawberry.type
class VideoMutation:
    pass
