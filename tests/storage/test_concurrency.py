"""Many writers at once: no "database is locked", no lost or duplicated rows, no gaps in version numbers."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import storage
from tests.storage.helpers import REPO_ROOT

SAVES = 100
WORKER = f"""
import sys
import storage
from studio.workspace import current_store
store = current_store()  # the studio of the test's environment, as the app opens it

worker = sys.argv[1]
for i in range({SAVES}):
    storage.save_pipeline_version(store, name="shared", definition={{"worker": worker, "i": i}})
    if i % 5 == 0:
        run = storage.create_run(store, dataset_id=None, seed=i)
        storage.update_run_progress(store, run.id, fraction=0.5, message=f"{{worker}} {{i}}")
        storage.save_model_artifact(store, run_id=run.id, data=f"{{worker}}-{{i}}".encode(), fmt="bin")
        storage.finish_run(store, run.id, status="done", leaderboard=[{{"model": worker, "metrics": {{"i": i}}}}])
print("finished", worker)
"""


def test_two_processes_saving_at_once_lose_nothing(store, studio: Path) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, name],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("left", "right")
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert "locked" not in err and out.startswith("finished")
    pipeline = storage.get_pipeline(store, "shared")
    versions = storage.list_versions(store, pipeline.id)
    assert [v.version for v in versions] == list(range(1, 2 * SAVES + 1))
    saved = {(v.definition["worker"], v.definition["i"]) for v in versions}
    assert saved == {(w, i) for w in ("left", "right") for i in range(SAVES)}
    runs = storage.list_runs(store, status="done")
    assert len(runs) == 2 * SAVES // 5
    for run in runs:
        [artifact] = storage.list_model_artifacts(store, run_id=run.id)
        assert storage.load_model_bytes(store, artifact) == f"{run.leaderboard[0]['model']}-{run.seed}".encode()


def test_twenty_threads_saving_fifty_versions_each_lose_nothing(store, studio: Path) -> None:
    threads, per_thread = 20, 50
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def save_all(worker: int) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                storage.save_pipeline_version(store, name="threaded", definition={"worker": worker, "i": i})
        except BaseException as e:  # collected and asserted below, in the test's own thread
            errors.append(e)

    pool = [threading.Thread(target=save_all, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)

    assert errors == []
    versions = storage.list_versions(store, storage.get_pipeline(store, "threaded").id)
    assert [v.version for v in versions] == list(range(1, threads * per_thread + 1))
    assert {(v.definition["worker"], v.definition["i"]) for v in versions} == {
        (w, i) for w in range(threads) for i in range(per_thread)
    }
