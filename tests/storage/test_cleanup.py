from __future__ import annotations

from pathlib import Path

import storage
from storage import files


def test_cleanup_removes_unreferenced_files_but_not_writes_in_progress(store, studio: Path) -> None:
    run = storage.create_run(store, dataset_id=None)
    kept = storage.save_model_artifact(store, run_id=run.id, data=b"kept", fmt="bin")
    stray = studio / "models" / f"{'0' * 64}.bin"
    stray.write_bytes(b"left by a delete that died after its commit")
    in_progress = files.temp_path(studio / "models" / f"{'1' * 64}.bin")
    in_progress.write_bytes(b"another thread of this process is still writing this")

    assert storage.cleanup_orphans(store) == 1

    assert not stray.exists() and in_progress.exists()
    assert storage.load_model_bytes(store, kept) == b"kept"


def test_temp_files_of_dead_processes_are_stale(store, studio: Path) -> None:
    final = studio / "datasets" / f"{'2' * 64}.parquet"
    final.parent.mkdir(parents=True)
    dead_pid = 2**22 + 12345  # above Linux's largest possible pid, so never alive
    abandoned = files.temp_path(final).with_name(f".{final.name}.{files.host_tag()}.{dead_pid}.abc123.part")
    abandoned.write_bytes(b"half a file")
    mine = files.temp_path(final)
    mine.write_bytes(b"being written")

    assert [t.path for t in files.stale_temp_files(store.home)] == [abandoned]
