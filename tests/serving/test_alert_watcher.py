"""The service's alert watcher: evaluates in its own thread, keeps the last answer through a failed evaluation."""

from __future__ import annotations

import threading
import time

from pipeline_core.serving.alerts import AlertState, AlertWatcher

DEADLINE = 60.0


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.01)


def test_a_failed_evaluation_keeps_the_last_states_and_is_counted():
    answers = [[AlertState("drift", "age", True)], RuntimeError("database gone"), [AlertState("drift", "age", False)]]
    step = threading.Semaphore(0)

    def source() -> list[AlertState]:
        step.acquire()  # the test lets each evaluation through in turn
        answer = answers.pop(0) if answers else []
        if isinstance(answer, Exception):
            raise answer
        return answer

    watcher = AlertWatcher(source, every=0.001)
    try:
        assert watcher.current().evaluated_at is None and watcher.current().states == []
        step.release()
        wait_for(lambda: watcher.current().states, "the first evaluation")
        first = watcher.current()
        assert first.states == [AlertState("drift", "age", True)] and first.failures == 0
        step.release()
        wait_for(lambda: watcher.current().failures == 1, "the failure counted")
        assert watcher.current().states == first.states and watcher.current().evaluated_at == first.evaluated_at
        step.release()
        wait_for(lambda: watcher.current().states == [AlertState("drift", "age", False)], "the next evaluation")
    finally:
        for _ in range(3):
            step.release()
        watcher.close()
