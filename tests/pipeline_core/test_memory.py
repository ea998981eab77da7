"""Freed arrays go back to the system during training (issue 8: peak memory <= 3x the frame)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Frees a 16 MiB array (glibc then serves blocks up to 16 MiB from the heap), makes 100 column-sized
# arrays of 4 MiB, frees all but the last, and prints how many MiB stay resident.
SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np

    def rss():
        return int([line for line in open("/proc/self/status") if line.startswith("VmRSS")][0].split()[1]) // 1024

    if sys.argv[1] == "mapped":
        from pipeline_core.training.memory import map_large_blocks
        assert map_large_blocks()
    big = np.ones(2 << 20)
    del big
    base = rss()
    blocks = [np.ones(1 << 19) for _ in range(100)]
    del blocks[:-1]
    print(rss() - base)
""")


def resident_after_freeing(mode: str) -> int:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # no MALLOC_* variables from outside
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux only")
def test_freed_column_sized_arrays_leave_the_process_once_large_blocks_are_mapped():
    assert resident_after_freeing("plain") > 300  # glibc's moving limit keeps ~400 MiB of freed heap
    assert resident_after_freeing("mapped") < 20


def test_training_fixes_the_limit_and_a_users_own_setting_wins(monkeypatch):
    from pipeline_core.definition.spec import ModelSpec, PipelineSpec
    from pipeline_core.training import memory
    from pipeline_core.training.train import train
    from tests.pipeline_core.frames import iris

    memory.map_large_blocks.cache_clear()
    monkeypatch.setenv(memory.ENVIRONMENT, "65536")
    assert memory.map_large_blocks() is False
    memory.map_large_blocks.cache_clear()
    monkeypatch.delenv(memory.ENVIRONMENT)
    train(PipelineSpec(target="target", models=[ModelSpec(kind="logistic_regression")]), iris())
    assert memory.map_large_blocks.cache_info().currsize == 1
    assert memory.map_large_blocks() is sys.platform.startswith("linux")
