"""Writes about campaigns: the nightly member scores (``scores``) and saved segments
(``segments``)."""

from campaigns.services.scores import segments_compute
from campaigns.services.segments import segment_create, segment_update

__all__ = ["segment_create", "segment_update", "segments_compute"]
