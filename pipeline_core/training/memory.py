"""Freed memory goes back to the system, so training's peak is what it holds, not what it once held.

glibc serves a large block from its own mapping and unmaps it when freed, but each time such
a block is freed it raises that size limit to the block's size (up to 32 MiB). After the first
large arrays are freed, the column-sized arrays training makes by the thousand (6 MiB each at
800,000 rows) come from the heap instead, whose freed space stays resident wherever a live
block sits above it. Measured on the 1,000,000-row memory benchmark: peak 1,567 MB with the
moving limit, 1,432 MB with it fixed at 128 KiB, 1,442 MB at the 1 MiB used here.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MAP_FROM_BYTES = 1 << 20
ENVIRONMENT = "MALLOC_MMAP_THRESHOLD_"  # set by the user: glibc already follows it, so leave it


@functools.cache
def map_large_blocks() -> bool:
    """Fix glibc's mapping limit at 1 MiB for this process, once; False where there is nothing to fix.

    Blocks of 1 MiB and more are then always mapped and unmapped on their own. Smaller ones
    stay on the heap, where allocating them is cheapest.
    """
    if not sys.platform.startswith("linux") or ENVIRONMENT in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MAP_FROM_BYTES))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
