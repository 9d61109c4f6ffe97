"""Headroom's transforms. Configure them in ``ProxyConfig(transforms=[...])``."""

from headroom.transforms.base import Compressor, Protector, Restore, Transform
from headroom.transforms.registry import available_transforms, create_transform, register_transform
from headroom.transforms.router import ContentRouter
from headroom.transforms.search import SearchCompressor
from headroom.transforms.tags import TagProtector

register_transform(SearchCompressor)
register_transform(ContentRouter)
register_transform(TagProtector)

__all__ = [
    "Compressor",
    "ContentRouter",
    "Protector",
    "Restore",
    "SearchCompressor",
    "TagProtector",
    "Transform",
    "available_transforms",
    "create_transform",
    "register_transform",
]
