"""A real model wrapped to count its work: how a test sees that something was computed once."""
from __future__ import annotations


class CountingClip:
    """The real CLIP model, counting the images it is asked to embed (everything else passes through)."""

    def __init__(self, clip):
        self.clip = clip
        self.embedded = 0

    def embed_images(self, imgs):
        self.embedded += len(imgs)
        return self.clip.embed_images(imgs)

    def __getattr__(self, name: str):
        return getattr(self.clip, name)
