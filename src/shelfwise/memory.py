"""Hand freed heap memory back to the operating system after a large transient phase."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys


def release_memory(collect: bool = True) -> None:
    """``gc.collect()`` (when ``collect``), then glibc's ``malloc_trim(0)``: glibc keeps freed memory
    in its heap (numpy arrays under its mmap threshold, objects above pymalloc's size limit), so the
    RSS after a big build step would otherwise stay at the step's peak. Linux only; elsewhere (or
    with another C library) the freed memory is simply reused by later allocations."""
    if collect:
        gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
