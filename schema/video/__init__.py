"""Video monitoring in the schema (VM-01..VM-12): enums, types, inputs, and the fields the root composes."""

from schema.video.fields import VideoMutation, VideoQuery

__all__ = ["VideoMutation", "VideoQuery"]
