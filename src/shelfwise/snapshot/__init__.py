"""A shelf as one saved artefact: manifest, per-part formats, live-state snapshot, build."""

from shelfwise.snapshot.build import ShelfConfig, build_shelf
from shelfwise.snapshot.io import LoadOptions, load_shelf, save_shelf
from shelfwise.snapshot.manifest import ShelfFormatError

__all__ = ["LoadOptions", "ShelfConfig", "ShelfFormatError", "build_shelf", "load_shelf", "save_shelf"]
