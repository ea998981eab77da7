"""How long does a widget click take to re-run a page when a large dataset is loaded?

A temporary studio home (``PIPELINE_STUDIO_HOME``) gets ``benchmarks.data.mixed_frame``
(1,000,000 rows x 20 features + target) stored as a dataset, exactly as an upload leaves it.
Streamlit's ``AppTest`` then opens ``app.py`` with that dataset active, visits a page once to
warm its caches (the frame is cached by content hash with ``st.cache_resource``, summaries with
``st.cache_data``), and times the reruns that follow clicks which need no new computation:

- Data: turn the preview to another page;
- Profile: show another column's distribution;
- Features (pipeline target set to ``target``): switch the task between auto and classification.

Each click is timed from ``set_value`` to the end of the rerun (the script run plus AppTest's
own protocol work, not a browser's drawing); the median counts. ``--explain`` samples the
script thread during the clicks and prints the page lines and functions the time went to.

Then the clicks that do need new work: choosing targets the page has not seen yet, from cold
caches (every Streamlit cache emptied, as after a server start). Profile: the overview's target
(the relations to it are new; the per-dataset summary is computed on the visit). Features: the
pipeline target on a definition without steps, emptied again before each choice (task detection,
target checks, leakage checks, class balance, and the default steps; the column types and the
leakage sample are per-dataset and computed on the visit). The visit's own time is printed too,
so nothing moved there is hidden. ``--no-first-time`` skips them.

    python -m benchmarks.bench_click                 # 1,000,000 rows; target: median <= 0.3 s
    python -m benchmarks.bench_click --quick         # 100,000 rows
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit.testing.v1 import AppTest

import storage
from benchmarks.bench_train_overhead import machine
from benchmarks.data import mixed_frame
from pipeline_core.io.frames import stored_table_sha256
from studio.workspace import current_store

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.3
FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000
WARM_TIMEOUT = 600  # the first visit loads the frame and computes the page's summaries


def save_frame(frame: Any) -> int:
    """Save ``frame`` as a dataset of the studio home named by the environment (the store the app opens); its id."""
    dataset = storage.save_dataset(current_store(), name="mixed", file_name="mixed.csv", fmt="csv", frame=frame,
                                   sha256=stored_table_sha256(frame))
    return dataset.id


def open_page(page: str, dataset_id: int, spec: dict | None = None) -> tuple[AppTest, float]:
    """``app.py`` on ``page`` with the dataset active, as the page tests open it; and the first visit's seconds."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=WARM_TIMEOUT)
    at.run()
    at.session_state["dataset_id"] = dataset_id
    if spec is not None:
        at.session_state["spec"] = spec
    start = time.perf_counter()
    at.switch_page(page).run()
    first = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page} raised: {at.exception[0].value}")
    return at, first


# Each click: (page, session spec, a function that sets a widget to the i-th value and returns the AppTest).
def _data_click(at: AppTest, i: int) -> Any:
    return at.number_input(key="data_page").set_value(2 + i % 2)


def _profile_click(at: AppTest, i: int) -> Any:
    return at.selectbox(key="profile_column").set_value(("num_01", "num_02")[i % 2])


def _features_click(at: AppTest, i: int) -> Any:
    return at.radio(key="features_task").set_value(("classification", "auto")[i % 2])


CLICKS: dict[str, tuple[str, dict | None, Callable[[AppTest, int], Any], str]] = {
    "Data": ("pages/data.py", None, _data_click, "preview: next page"),
    "Profile": ("pages/profile.py", None, _profile_click, "distribution: another column"),
    "Features": ("pages/features.py", {"target": "target"}, _features_click, "task: auto <-> classification"),
}
# Clicks that compute something new, each on a target the page has not seen yet:
# page -> (page file, what, the target selectbox's key, whether to empty the pipeline before each click).
FIRST_TIME: dict[str, tuple[str, str, str, bool]] = {
    "Profile": ("pages/profile.py", "target for the overview", "profile_target", False),
    "Features": ("pages/features.py", "pipeline target, definition without steps", "features_target", True),
}
NEW_TARGETS = ("target", "cat_1", "cat_2", "num_03", "cat_4")

class Sampler:
    """A tiny sampling profiler: every few ms, the stack of every other thread (the script runs in its own)."""

    def __init__(self, interval: float = 0.002):
        self.interval, self.samples = interval, 0
        self.lines: Counter[str] = Counter()
        self.leaves: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me, main = threading.get_ident(), threading.main_thread().ident
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident not in (me, main):
                    self._record(frame)

    def _record(self, frame: FrameType | None) -> None:
        pages, leaf = set(), None
        while frame is not None:
            code = frame.f_code
            where = f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}"
            leaf = leaf or f"{code.co_name} ({_short(code.co_filename)})"
            if code.co_filename.startswith(str(REPO / "pages")):
                pages.add(where)
            frame = frame.f_back
        if pages:  # only samples taken while a page script runs
            self.samples += 1
            self.lines.update(pages)
            self.leaves[leaf] += 1

    def report(self, top: int = 12) -> str:
        if not self.samples:
            return "    (no samples)"
        rows = [f"    {100 * n / self.samples:5.1f}%  {where}" for where, n in self.lines.most_common(top)]
        rows.append("    innermost functions:")
        rows += [f"    {100 * n / self.samples:5.1f}%  {leaf}" for leaf, n in self.leaves.most_common(6)]
        return "\n".join(rows)


def _short(path: str) -> str:
    parts = Path(path).parts
    for anchor in ("site-packages", "pages", "pipeline_core", "storage"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + (anchor == "site-packages"):])
    return Path(path).name


def time_clicks(name: str, dataset_id: int, clicks: int, explain: bool) -> float:
    page, spec, click, what = CLICKS[name]
    at, first = open_page(page, dataset_id, spec)
    click(at, 0).run()  # one untimed click: some widgets create their state on the first change
    times = []
    sampler = Sampler().__enter__() if explain else None
    for i in range(1, clicks + 1):
        widget = click(at, i)
        start = time.perf_counter()
        widget.run(timeout=WARM_TIMEOUT)
        times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{page} raised after a click: {at.exception[0].value}")
    if sampler:
        sampler.__exit__()
    median = statistics.median(times)
    verdict = "met" if median <= TARGET_SECONDS else "MISSED"
    print(f"{name:<9} first visit {first:6.2f} s | click ({what}): median {1000 * median:5.0f} ms, "
          f"min {1000 * min(times):4.0f}, max {1000 * max(times):5.0f} over {clicks} ({verdict})")
    if sampler:
        print(f"  where the clicks' time went ({sampler.samples} samples; a line counts if it is on the stack):")
        print(sampler.report())
    return median


def first_time_clicks(name: str, dataset_id: int, explain: bool) -> list[float]:
    """Choose targets the page has not seen yet, from cold caches; the seconds of each click.

    Every Streamlit cache is emptied first, so the page visit reloads the frame and computes
    whatever the page computes on a visit, as after a server start; the first click then pays
    for anything per-dataset the page leaves to it, the later ones only for the new target.
    """
    import streamlit as st

    page, what, key, empty_pipeline = FIRST_TIME[name]
    st.cache_data.clear()
    st.cache_resource.clear()
    at, visit = open_page(page, dataset_id, {})
    times = []
    sampler = Sampler().__enter__()
    for target in NEW_TARGETS:
        if empty_pipeline:  # back to no target and no steps, so the click adds the default steps again
            at.session_state["spec"] = {}
            at.run(timeout=WARM_TIMEOUT)
        widget = at.selectbox(key=key).set_value(target)
        start = time.perf_counter()
        widget.run(timeout=WARM_TIMEOUT)
        times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{page} raised after choosing {target}: {at.exception[0].value}")
    sampler.__exit__()
    later = statistics.median(times[1:])
    verdict = "met" if max(times[0], later) <= TARGET_SECONDS else "MISSED"
    print(f"{name:<9} new target ({what}), cold caches; visit {visit:5.2f} s | first click {1000 * times[0]:5.0f} ms,"
          f" later new targets: median {1000 * later:5.0f} ms, min {1000 * min(times[1:]):4.0f}, "
          f"max {1000 * max(times[1:]):5.0f} over {len(times) - 1} ({', '.join(NEW_TARGETS)}) ({verdict})")
    if explain:
        print(f"  where the new-target clicks' time went ({sampler.samples} samples):")
        print(sampler.report(top=8))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help=f"rows of mixed_frame (default {FULL_ROWS:,})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK_ROWS:,} rows, 5 clicks a page")
    parser.add_argument("--clicks", type=int, default=None, help="timed clicks per page (default 15; 5 with --quick)")
    parser.add_argument("--pages", default=",".join(CLICKS), help=f"comma-separated, of {', '.join(CLICKS)}")
    parser.add_argument("--explain", action="store_true", help="sample the clicks and show where the time went")
    parser.add_argument("--no-first-time", action="store_true", help="skip the clicks on targets not seen yet")
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    clicks = args.clicks or (5 if args.quick else 15)
    print(machine())
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage())  # AppTest's harmless chatter
    logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(
        lambda record: "No runtime found" not in record.getMessage())  # emptying the caches outside a session
    os.chdir(REPO)  # the app's page paths are relative to the repository
    with tempfile.TemporaryDirectory(prefix="bench_click_") as home:
        os.environ["PIPELINE_STUDIO_HOME"] = home
        os.environ.pop("DATABASE_URL", None)
        storage.reset_engines()
        frame = mixed_frame(rows)
        print(f"data: {rows:,} rows x {frame.shape[1]} columns, {frame.memory_usage(deep=True).sum() / 2**20:.0f} MB "
              f"in memory, stored in a temporary PIPELINE_STUDIO_HOME")
        dataset_id = save_frame(frame)
        del frame
        pages = args.pages.split(",")
        medians = {name: time_clicks(name, dataset_id, clicks, args.explain) for name in pages}
        if not args.no_first_time:
            for name in (p for p in pages if p in FIRST_TIME):
                first_time_clicks(name, dataset_id, args.explain)
        storage.reset_engines()
    slowest = max(medians, key=medians.get)
    print(f"slowest page: {slowest}, median click {1000 * medians[slowest]:.0f} ms "
          f"(target <= {1000 * TARGET_SECONDS:.0f} ms: {'met' if medians[slowest] <= TARGET_SECONDS else 'MISSED'})")
    if hasattr(os, "getloadavg"):
        print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > (os.cpu_count() or 1):
        print("note: the machine is busy (load above its core count): click times are inflated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
