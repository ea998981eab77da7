"""How long does a model report take, and how large is it, for a registered model trained on 50,000 rows?

A histogram-gradient-boosting pipeline with the default steps is trained on ``mixed_frame`` (50,000 rows x 20
columns) in a fresh studio (real SQLite), registered, then ``build_model_report`` runs with one sensitive column
(``cat_0``): hold-out charts and permutation importance on the 10,000 hold-out rows, SHAP values on a 1,000-row
sample, partial dependence on 300 rows, bias by group with 500 bootstrap resamples, error slices. Reported: wall
and CPU seconds of the whole report, its size, and the same model's ``predict`` on the hold-out rows for scale.

    python -m benchmarks.bench_report            # 50,000 rows
    python -m benchmarks.bench_report --quick    # 10,000 rows
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.data import mixed_frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows")
    args = parser.parse_args(argv)
    rows = 10_000 if args.quick else 50_000
    with tempfile.TemporaryDirectory() as home:
        os.environ["PIPELINE_STUDIO_HOME"] = home
        os.environ.pop("DATABASE_URL", None)
        _run(rows)


def _run(rows: int) -> None:
    import storage
    from pipeline_core.compiler.columns import default_steps, infer_schema
    from pipeline_core.definition.spec import PipelineSpec
    from pipeline_core.io.frames import stored_table_sha256
    from pipeline_core.jobs.job import run_training
    from storage.files import resolve
    from storage.reporter import RunReporter
    from studio import model_report, registry
    from studio.workspace import current_store, prepare_store

    store = current_store()
    prepare_store(store)
    frame = mixed_frame(rows)
    dataset = storage.save_dataset(store, name="mixed", file_name="mixed.csv", fmt="csv", frame=frame,
                                   sha256=stored_table_sha256(frame))
    spec = PipelineSpec(name="bench", target="target", models=[{"kind": "hist_gradient_boosting"}],
                        evaluation={"cv_folds": 3, "holdout": 0.2})
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    version = storage.save_pipeline_version(store, name="bench", definition=spec.to_dict())
    run = storage.create_run(store, dataset_id=dataset.id, pipeline_version_id=version.id)
    started = time.perf_counter()
    status = run_training(spec.to_json(), str(resolve(store.home, dataset.parquet_path)), RunReporter(store, run.id))
    print(f"trained {rows:,} x {frame.shape[1]} ({status}) in {time.perf_counter() - started:.1f} s")
    registered = registry.register_model(run.id, by="bench")

    wall, cpu = time.perf_counter(), time.process_time()
    report = model_report.build_model_report("bench", registered.version, sensitive=["cat_0"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"model report: {wall:.1f} s wall, {cpu:.1f} s CPU; {len(report.html) / 1e6:.1f} MB, "
          f"{sum(s.charts for s in report.sections)} charts, load average {os.getloadavg()[0]:.1f}")
    for section in report.sections:
        print(f"  {section.title}: {section.summary}")


if __name__ == "__main__":
    main()
