"""A shelf as one saved artefact: manifest, per-part formats, live-state snapshot, build."""

from shelfwise.snapshot.build import ShelfConfig, build_shelf
from shelfwise.snapshot.io import LoadOptions, load_shelf, replaced_tuning, save_shelf
from shelfwise.snapshot.manifest import ShelfFormatError
from shelfwise.snapshot.publish import publish_searcher

__all__ = [
    "LoadOptions",
    "ShelfConfig",
    "ShelfFormatError",
    "build_shelf",
    "load_shelf",
    "publish_searcher",
    "replaced_tuning",
    "save_shelf",
]
