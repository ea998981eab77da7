"""Command-line interface: profile, train, re-run, predict and export without the app.

It calls the same core functions as the UI. Every failure a user can cause (a missing or
unreadable file, an unknown model or column, a bad definition, an untrusted model file)
ends as one line ``error: <reason>`` on stderr and exit status 2, never a traceback;
progress goes to stderr so stdout stays clean for results.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any, NoReturn, get_args

from pipeline_core import __version__
from pipeline_core.definition.choices import Task, TuningMethod
from pipeline_core.errors import DataError, ModelError, SpecError, StudioError
from pipeline_core.io.limits import DEFAULT_MEMORY_BUDGET_MB

if TYPE_CHECKING:  # the heavy imports wait for the command that needs them, so --help and usage errors are instant
    import pandas as pd

    from pipeline_core.definition.spec import PipelineSpec
    from pipeline_core.training.progress import ProgressEvent

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_OUT = "studio_out"
SYNOPSIS = """usage of each command (COMMAND --help for details):
  profile DATA --out report.html [--minimal] [--sample N]
  train   DATA --target COL [--task auto] [--models a,b,...] [--cv K] [--seed N] [--holdout F]
               [--tuning none|grid|random|halving|optuna --trials N | --time-budget SECONDS] [--out DIR]
  run     PIPELINE.json [--data DATA] [--out DIR] [--new-search]
  predict MODEL DATA --out preds.csv
  fairness MODEL DATA --target COL --sensitive COL[,COL] --out fairness.json [--positive LABEL]
  explain MODEL DATA --out contributions.csv [--background DATA]
  export  MODEL --format skops|joblib|onnx|python|bundle|mlflow --out PATH [--data DATA]
  serve   MODEL [--host 127.0.0.1] [--port 8000] [--token-env VAR] [--max-rows N] [--max-body-mb MB]
          [--background DATA]

errors print one line 'error: <reason>' on stderr; exit status 2 for bad input or usage,
1 when training itself fails."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``error:`` line like every other failure."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


CONSOLE_COMMAND = "pipeline-studio"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status (0 ok, 1 training failed, 2 bad input, 130 interrupted)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the parsed command, turning every failure a user can cause into one ``error:`` line and a status.

    ``studio.cli`` parses with this module's parser (plus its registry commands) and runs through here too.
    """
    try:
        return args.handler(args)
    except (SpecError, DataError, ModelError) as e:
        return _fail(str(e), EXIT_USAGE)
    except StudioError as e:
        return _fail(str(e), EXIT_FAILED)
    except OSError as e:
        where = f"'{e.filename}': " if e.filename else ""
        return _fail(f"{where}{e.strerror or e}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)


def _fail(message: str, status: int) -> int:
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return status


def _prog() -> str:
    """How the user called us, for usage lines: the installed ``pipeline-studio`` command or the module."""
    return CONSOLE_COMMAND if Path(sys.argv[0]).name == CONSOLE_COMMAND else "python -m pipeline_core"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; ``prog`` names the program in usage lines (default: how we were called)."""
    parser = _Parser(prog=prog or _prog(), description="Pipeline Studio from the command line.",
                     epilog=SYNOPSIS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pipeline-studio {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_profile(commands)
    _add_train(commands)
    _add_run(commands)
    _add_predict(commands)
    _add_fairness(commands)
    _add_explain(commands)
    _add_export(commands)
    _add_serve(commands)
    return parser


def _add_profile(commands: Any) -> None:
    cmd = commands.add_parser("profile", help="write an HTML data-profile report",
                              description="Profile a data file into a self-contained HTML report.")
    cmd.add_argument("data", metavar="DATA", help="CSV/TSV, Excel, Parquet or JSON file")
    cmd.add_argument("--out", required=True, help="HTML file to write, e.g. report.html")
    cmd.add_argument("--minimal", action="store_true", help="faster report without correlations and interactions")
    cmd.add_argument("--sample", type=_positive_int, default=100_000, metavar="N",
                     help="profile a seeded random sample of N rows when the file is larger (default 100000)")
    cmd.set_defaults(handler=cmd_profile)
    _add_budget(cmd)


def _add_train(commands: Any) -> None:
    cmd = commands.add_parser("train", help="compare models by cross-validation and save the best",
                              description="Train on DATA with the default steps for its columns; writes "
                                          "leaderboard.json, pipeline.json and model.skops to --out.")
    cmd.add_argument("data", metavar="DATA", help="CSV/TSV, Excel, Parquet or JSON file")
    cmd.add_argument("--target", metavar="COL", help="column to predict (omit for clustering)")
    # Choices are the definition's Literal types; options left out keep the definition's own defaults
    # (see ``train_spec``), so the CLI never restates a default that could drift from EvaluationPlan/TuningPlan.
    cmd.add_argument("--task", choices=get_args(Task), help="default: auto-detect from the target")
    cmd.add_argument("--models", metavar="A,B,...", help="registry keys, e.g. logistic_regression,random_forest "
                                                          "(default: the preselected models for the task)")
    cmd.add_argument("--cv", type=int, metavar="K", help="cross-validation folds (default: the definition's)")
    cmd.add_argument("--seed", type=int, metavar="N", help="random seed (default: the definition's)")
    cmd.add_argument("--holdout", type=float, metavar="F",
                     help="share of rows kept aside for a final score (default: the definition's; 0 for none)")
    cmd.add_argument("--tuning", choices=get_args(TuningMethod), help="default: none")
    cmd.add_argument("--trials", type=_positive_int, metavar="N",
                     help="tuning trials per model (default: the definition's)")
    cmd.add_argument("--no-refit-all", dest="refit_all", action="store_false",
                     help="save the model trained on the training rows, not the one refitted on training and "
                          "hold-out rows after the hold-out score (the default)")
    cmd.add_argument("--ensemble", action="store_true",
                     help="also rank a greedy ensemble and a stacked ensemble of the models, built from their "
                          "out-of-fold predictions")
    cmd.add_argument("--time-budget", type=_positive_float, metavar="SECONDS",
                     help="autopilot: search model families and their settings for the best model this many seconds "
                          "can buy (the final refits included); --models narrows the families. pipeline.json "
                          "records the configurations chosen, so 'run' re-trains exactly those. Ctrl+C stops the "
                          "search and keeps the best model so far")
    cmd.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default {DEFAULT_OUT})")
    _add_scheduler(cmd)
    cmd.set_defaults(handler=cmd_train)
    _add_budget(cmd)


def _add_run(commands: Any) -> None:
    cmd = commands.add_parser("run", help="re-run a saved pipeline definition",
                              description="Re-run PIPELINE.json; same data and seed give the same metrics.")
    cmd.add_argument("pipeline", metavar="PIPELINE.json")
    cmd.add_argument("--data", metavar="DATA", help="data file (default: the file the definition names, "
                                                    "read only from the definition's folder)")
    cmd.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default {DEFAULT_OUT})")
    cmd.add_argument("--new-search", action="store_true",
                     help="an autopilot definition: search again within its time budget instead of re-training the "
                          "configurations it recorded")
    _add_scheduler(cmd)
    cmd.set_defaults(handler=cmd_run)
    _add_budget(cmd)


def _add_predict(commands: Any) -> None:
    cmd = commands.add_parser("predict", help="add predictions to a data file",
                              description="Score DATA with a .skops model or a model bundle; writes the rows "
                                          "plus prediction (and probability_<class>) columns as CSV.")
    cmd.add_argument("model", metavar="MODEL", help="a .skops model file or a model bundle (.zip)")
    cmd.add_argument("data", metavar="DATA")
    cmd.add_argument("--out", required=True, metavar="PREDS.csv")
    cmd.add_argument("--rules-report", metavar="RULES.csv",
                     help="also write the pipeline's quality rules checked on DATA (one row per rule)")
    cmd.set_defaults(handler=cmd_predict)
    _add_budget(cmd)


def _add_fairness(commands: Any) -> None:
    cmd = commands.add_parser("fairness", help="compare a model's metrics across groups of rows (bias by group)",
                              description="Score the labelled rows of DATA with MODEL and write, per group of the "
                                          "sensitive column(s), its size and the task's metrics, the differences "
                                          "and ratios between groups with bootstrap intervals, the flags, and the "
                                          "groups too small to judge, as JSON. A sensitive column need not be one "
                                          "the model reads. Pass rows the model did not train on.")
    cmd.add_argument("model", metavar="MODEL", help="a .skops model file or a model bundle (.zip)")
    cmd.add_argument("data", metavar="DATA", help="labelled rows: the model's input columns, the target and the "
                                                  "sensitive column(s)")
    cmd.add_argument("--target", required=True, metavar="COL", help="the column holding the true labels")
    cmd.add_argument("--sensitive", required=True, metavar="COL[,COL]",
                     help="column(s) to group rows by; several give one group per combination")
    cmd.add_argument("--out", required=True, metavar="FAIRNESS.json")
    cmd.add_argument("--positive", metavar="LABEL",
                     help="classification: the class counted as selected (default: the model's last class)")
    cmd.add_argument("--bootstrap", type=_positive_int, metavar="N",
                     help="resamples for the confidence intervals (default 500)")
    cmd.add_argument("--min-group-rows", type=_positive_int, metavar="N",
                     help="rows a group needs to be judged (default 30)")
    cmd.set_defaults(handler=cmd_fairness)
    _add_budget(cmd)


def _add_explain(commands: Any) -> None:
    cmd = commands.add_parser(
        "explain", help="write each row's SHAP contributions per column",
        description="Explain each row of DATA: one row per input row, one column per input column with its "
                    "contribution, then base_value and prediction (base_value plus the row's contributions). For "
                    "classifiers the output explained (log-odds, raw score or probability of a class) is named in "
                    "the columns output_space and explained_class.")
    cmd.add_argument("model", metavar="MODEL", help="a .skops model file or a model bundle (.zip)")
    cmd.add_argument("data", metavar="DATA")
    cmd.add_argument("--out", required=True, metavar="CONTRIBUTIONS.csv")
    cmd.add_argument("--background", metavar="DATA",
                     help="rows the contributions are measured against, ideally training rows (default: a sample "
                          "of DATA; exact tree explanations need none)")
    cmd.set_defaults(handler=cmd_explain)
    _add_budget(cmd)


def _add_export(commands: Any) -> None:
    cmd = commands.add_parser("export", help="convert a model to skops, joblib, ONNX, a Python script or a bundle",
                              description="joblib files are pickles: load them only if you made them. ONNX "
                                          "graphs take the prepared columns as inputs.")
    cmd.add_argument("model", metavar="MODEL", help="a .skops model file")
    cmd.add_argument("--format", "--to", dest="format", required=True,
                     choices=["skops", "joblib", "onnx", "python", "bundle", "mlflow"],
                     help="bundle: one zip with the model, its input schema, quality rules, drift reference, "
                          "pinned requirements and a README, for use outside Pipeline Studio; mlflow: an MLflow "
                          "model folder (a zip if PATH ends in .zip), needs the mlflow extra")
    cmd.add_argument("--out", required=True, metavar="PATH")
    cmd.add_argument("--data", metavar="DATA", help="ONNX: rows to check the graph's predictions against; "
                                                    "bundle and mlflow (required): the data the model was "
                                                    "trained on")
    cmd.set_defaults(handler=cmd_export)
    _add_budget(cmd)


def _add_serve(commands: Any) -> None:
    cmd = commands.add_parser("serve", help="serve a model over HTTP: /predict, /explain, /schema, /health, /metrics",
                              description="Score rows sent as JSON or CSV to POST /predict, explain them with POST "
                                          "/explain; Prometheus metrics on /metrics. Listening on an address other "
                                          "than loopback needs a token. Stop with Ctrl-C.")
    cmd.add_argument("model", metavar="MODEL", help="a .skops model file")
    cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    cmd.add_argument("--port", type=_port, default=8000, metavar="N", help="port (default 8000; 0 picks a free one)")
    cmd.add_argument("--token-env", metavar="VAR",
                     help="name of an environment variable holding the bearer token clients must send "
                          "(the token itself is never an argument: arguments are visible to other users)")
    cmd.add_argument("--allow-host", action="append", type=_host_name, default=[], metavar="NAME",
                     help="also answer requests whose Host header is NAME (repeatable), e.g. the name a reverse "
                          "proxy forwards; by default only the listening address, localhost and, on 0.0.0.0, this "
                          "machine's names are answered (others get 400: DNS rebinding)")
    cmd.add_argument("--max-rows", type=_positive_int, default=10_000, metavar="N",
                     help="most rows one request may hold (default 10000)")
    cmd.add_argument("--max-body-mb", type=_positive_float, default=16.0, metavar="MB",
                     help="largest request body in megabytes (default 16)")
    cmd.add_argument("--background", metavar="DATA",
                     help="training-like rows /explain compares against; needed to explain models other than trees")
    cmd.set_defaults(handler=cmd_serve)
    _add_budget(cmd)


# ---- Dask (--scheduler on train and run) ----------------------------------------------------------------


def _add_budget(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--memory-budget-mb", type=_positive_float, default=DEFAULT_MEMORY_BUDGET_MB, metavar="MB",
                     help="refuse a data file whose parsed table would take more memory than this "
                          f"(default {DEFAULT_MEMORY_BUDGET_MB})")


def _add_scheduler(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the CV folds on this Dask scheduler, e.g. tcp://host:8786 (default: in this process)")


def _folds_on(address: str | None) -> AbstractContextManager[None]:
    """Dask is imported only when --scheduler asks for it, so the CLI starts as fast as before."""
    if not address:
        return nullcontext()
    from pipeline_core.jobs.dask_cluster import folds_on as on_cluster

    return on_cluster(address)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value}")
    return value


_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")


def _host_name(text: str) -> str:
    """A DNS name or an IP address as a Host header carries it (no port, no wildcard)."""
    name = text.strip().lower().rstrip(".")
    try:
        ipaddress.ip_address(name.strip("[]"))
        return name
    except ValueError:
        pass
    if len(name) > 253 or not _HOST_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"expected a host name such as scoring.example.com or an IP address "
                                         f"(no port, no wildcard), got {text!r}")
    return name


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


# ---- commands ------------------------------------------------------------------------------------------


def cmd_profile(args: argparse.Namespace) -> int:
    from pipeline_core.analysis.report import full_report_html

    data = _read(args.data, args)
    html = full_report_html(data.frame, title=Path(args.data).name, minimal=args.minimal, sample_rows=args.sample)
    out = _writable(args.out)
    out.write_text(html, encoding="utf-8")
    print(f"wrote {out}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    data = _read(args.data, args)
    spec = train_spec(args, data)
    if spec.target is not None and spec.target not in data.frame.columns:
        columns = ", ".join(map(str, data.frame.columns))
        raise DataError(f"target '{spec.target}' is not a column of '{Path(args.data).name}'; columns are: {columns}")
    with _folds_on(args.scheduler):
        return _train_and_write(with_default_steps(spec, data.frame), data.frame, Path(args.out))


def train_spec(args: argparse.Namespace, data: Any) -> PipelineSpec:
    """The definition the ``train`` options describe, validated like any other definition."""
    from pipeline_core.definition.spec import load_spec

    kinds = [k.strip() for k in (args.models or "").split(",") if k.strip()]
    autopilot = None
    if args.time_budget is not None:
        if args.tuning not in (None, "none"):
            raise SpecError("--time-budget searches the models' settings itself; leave out --tuning")
        autopilot, kinds = {"time_budget_seconds": args.time_budget, "families": kinds}, []
    return load_spec({
        "name": Path(args.data).stem,
        "data": {"file_name": Path(args.data).name, "sha256": data.sha256, "format": data.format},
        "target": args.target, "models": [{"kind": k} for k in kinds], **_given({"task": args.task}),
        "evaluation": _given({"cv_folds": args.cv, "seed": args.seed, "holdout": args.holdout,
                              "ensemble": args.ensemble or None, "refit_all": None if args.refit_all else False}),
        "tuning": _given({"method": args.tuning, "n_trials": args.trials}),
        **_given({"autopilot": autopilot}),
    })


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave; the others stay out so the definition's field defaults apply."""
    return {key: value for key, value in options.items() if value is not None}


def with_default_steps(spec: PipelineSpec, frame: pd.DataFrame) -> PipelineSpec:
    """The definition with the automatic steps for its columns, when it has none of its own."""
    from pipeline_core.compiler.columns import default_steps, infer_schema

    if spec.steps:
        return spec
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec),
                                                          boosting=spec.open_choices.one_hot_boosting)})


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline_core.definition.spec import DataSource, load_spec

    definition = Path(args.pipeline)
    spec = load_spec(definition.read_bytes())
    path = Path(args.data) if args.data else _named_data(spec, definition)
    data = _read(path, args)
    if spec.data.sha256 and spec.data.sha256 != data.sha256:
        _note(f"'{path.name}' differs from the data this definition was saved with; results will differ too")
        source = DataSource(file_name=path.name, sha256=data.sha256, format=data.format)
        spec = spec.model_copy(update={"data": source})
    if spec.autopilot is not None and spec.autopilot.chosen:
        if args.new_search:
            spec = spec.model_copy(update={"autopilot": spec.autopilot.model_copy(update={"chosen": []})})
        else:
            _note(f"re-training the {len(spec.autopilot.chosen)} configuration(s) the autopilot chose; pass "
                  "--new-search to search again")
    with _folds_on(args.scheduler):
        return _train_and_write(with_default_steps(spec, data.frame), data.frame, Path(args.out))


def _named_data(spec: PipelineSpec, definition: Path) -> Path:
    """The data file a definition names, read only from the definition's own folder.

    A definition may come from someone else (shared, downloaded, imported), and ``data.file_name`` is
    whatever it says: ``../../../../etc/passwd`` or ``/etc/shadow`` must not make ``run`` read (and then
    echo column names and rows of) a file outside the folder the user handed over. Absolute names and
    ``..`` are refused, and the path is resolved with symlinks followed, so a link in the folder cannot
    point out of it either. Anything else needs an explicit ``--data``.
    """
    name = spec.data.file_name
    if not name:
        raise DataError(f"'{definition.name}' names no data file; pass one with --data")
    folder = definition.absolute().parent.resolve()
    relative = Path(name)
    escapes = relative.is_absolute() or PureWindowsPath(name).anchor or ".." in relative.parts
    path = (folder / relative).resolve()
    if escapes or not path.is_relative_to(folder):
        raise DataError(f"'{definition.name}' names data file {name!r}, which is not inside the definition's "
                        f"folder {str(folder)!r}; only files there are read from a definition: pass the data "
                        "with --data")
    return path


def cmd_predict(args: argparse.Namespace) -> int:
    from pipeline_core.artifacts.export import load_model_or_bundle

    return predict_with(load_model_or_bundle(args.model), args)


def predict_with(loaded: Any, args: argparse.Namespace,
                 on_scored: Callable[[pd.DataFrame, Any, float], None] | None = None) -> int:
    """The rest of ``predict`` once the model is loaded (``studio.cli`` loads it from the model registry).

    ``on_scored(rows, result, seconds)`` is called once the predictions are written (``studio.cli`` logs them).
    """
    from pipeline_core.artifacts.predict import predict_frame
    from pipeline_core.io.writers import write_csv_safe

    data = _read(args.data, args)
    start = time.perf_counter()
    result = predict_frame(loaded.pipeline, data.frame, loaded.metadata)
    seconds = time.perf_counter() - start
    for notice in result.notices:
        _note(notice)
    out = _writable(args.out)
    out.write_bytes(write_csv_safe(result.frame))
    print(f"wrote {len(result.frame):,} predictions to {out}")
    if args.rules_report:
        report = _writable(args.rules_report)
        report.write_bytes(write_csv_safe(result.rules))
        print(f"wrote the check of {len(result.rules)} quality rule(s) to {report}")
    if on_scored is not None:
        on_scored(data.frame, result, seconds)
    return EXIT_OK


def cmd_fairness(args: argparse.Namespace) -> int:
    from pipeline_core.analysis.fairness import choose_positive, fairness_report
    from pipeline_core.analysis.groups import GroupRule, data_balance, group_rows, resolve_columns
    from pipeline_core.artifacts.export import load_model_or_bundle
    from pipeline_core.artifacts.predict import PREDICTION, predict_frame

    loaded = load_model_or_bundle(args.model)
    task = loaded.metadata.get("task")
    if task not in ("classification", "regression"):
        raise ModelError(f"bias by group needs a classification or regression model; '{Path(args.model).name}' "
                         f"is {'a ' + task + ' model' if task else 'a model without Pipeline Studio metadata'}")
    frame = _read(args.data, args).frame
    if args.target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(f"target '{args.target}' is not a column of '{Path(args.data).name}'; columns are: {columns}")
    rename = (loaded.metadata.get("definition") or {}).get("columns", {}).get("rename", {})
    columns = resolve_columns(frame, args.sensitive.split(","), rename, target=args.target)
    labelled = frame[frame[args.target].notna()]
    if labelled.empty:
        raise DataError(f"target '{args.target}' is empty in every row of '{Path(args.data).name}'")
    if len(labelled) < len(frame):
        _note(f"{len(frame) - len(labelled):,} row(s) without a label in '{args.target}' are left out")
    if task == "classification":
        choose_positive(args.positive, loaded.metadata.get("classes"), labelled[args.target])  # refused before scoring
    read = {f["name"] for f in loaded.metadata.get("features") or []}
    unread = [c for c in columns if read and c not in read]  # a sensitive column the model never sees: no notice
    scored = predict_frame(loaded.pipeline, labelled.drop(columns=[args.target, *unread]), loaded.metadata)
    for notice in scored.notices:
        _note(notice)
    rule = GroupRule(**_given({"n_boot": args.bootstrap, "min_group_rows": args.min_group_rows}))
    groups = group_rows(labelled, columns)
    y = labelled[args.target]
    report = fairness_report(y, scored.frame[PREDICTION], groups, task, positive=args.positive,
                             classes=loaded.metadata.get("classes"), rule=rule,
                             balance=data_balance(y, groups, task, rule))
    out = _writable(args.out)
    document = {"model": Path(args.model).name, "data": Path(args.data).name, "target": args.target,
                **report.to_dict()}
    out.write_text(json.dumps(document, indent=2, allow_nan=False), encoding="utf-8")
    print(f"wrote {out}: {len(report.groups)} group(s), {len(report.flagged)} metric(s) flagged, "
          f"{len(report.small_groups)} group(s) too small to judge")
    for gap in report.flagged:
        print(f"  {gap.sentence}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from pipeline_core.artifacts.export import load_model_or_bundle

    return explain_with(load_model_or_bundle(args.model), args)


def explain_with(loaded: Any, args: argparse.Namespace) -> int:
    """The rest of ``explain`` once the model is loaded; the rows are checked as ``predict`` checks them."""
    from pipeline_core.analysis.explain import Explainer
    from pipeline_core.artifacts.predict import check_columns, required_features
    from pipeline_core.io.writers import write_csv_safe

    frame = _read(args.data, args).frame
    if len(frame) == 0:
        raise DataError(f"'{Path(args.data).name}' has no rows to explain")
    for notice in check_columns(frame, required_features(loaded.pipeline, loaded.metadata)):
        _note(notice)
    background = _read(args.background, args).frame if args.background else frame
    explainer = Explainer(loaded.pipeline, background)
    _note(explainer.describe())
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):  # boosting's per-tree OpenMP loops only contend on small batches
        contributions = explainer.explain(frame).frame()
    out = _writable(args.out)
    out.write_bytes(write_csv_safe(contributions))
    print(f"wrote the contributions of {len(explainer.columns)} column(s) for {len(contributions):,} row(s) to {out}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline_core.artifacts import export

    if args.format == "bundle" and not args.data:
        raise DataError("a bundle needs the training data for its example rows and drift reference: pass --data FILE")
    if args.format == "mlflow":
        return _export_mlflow(args)
    loaded = export.load_model(args.model)
    out = _writable(args.out)
    if args.format == "bundle":
        out.write_bytes(export.dump_bundle(loaded.pipeline, loaded.metadata, _read(args.data, args).frame))
    elif args.format in ("skops", "joblib"):
        export.save_model(loaded.pipeline, out, args.format, loaded.metadata)
    elif args.format == "onnx":
        sample = _read(args.data, args).frame if args.data else None
        out.write_bytes(export.to_onnx(loaded.pipeline, sample))
        if sample is None:
            _note("the ONNX graph was not checked against data; pass --data to compare its predictions")
        print(f"wrote {out}")
        print("graph inputs (one per column, each of shape [rows, 1]; also in the file's metadata, "
              "key pipeline_studio.inputs):")
        print(export.describe_onnx_inputs(export.onnx_inputs(loaded.pipeline, sample)))
        return EXIT_OK
    else:
        from pipeline_core.artifacts.codegen import script_from_metadata

        out.write_text(script_from_metadata(loaded.metadata), encoding="utf-8")
    print(f"wrote {out}")
    return EXIT_OK


def _export_mlflow(args: argparse.Namespace) -> int:
    from pipeline_core.artifacts import export, mlflow_export

    if not mlflow_export.mlflow_available():
        raise ModelError(mlflow_export.MISSING_MLFLOW)
    if not args.data:
        raise DataError("an MLflow model needs the training data for its signature and input example: "
                        "pass --data FILE")
    loaded = export.load_model(args.model)
    training = _read(args.data, args).frame
    out = _writable(args.out)
    if out.suffix.lower() == ".zip":
        out.write_bytes(mlflow_export.dump_mlflow_zip(loaded.pipeline, loaded.metadata, training))
    else:
        mlflow_export.save_mlflow_model(loaded.pipeline, loaded.metadata, training, out)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline_core.serving.server import load_served_model

    return serve_with(lambda: load_served_model(args.model), args)


def serve_with(load: Callable[[], tuple[Any, Any]], args: argparse.Namespace,
               hooks: Callable[[], Any] | None = None, authorizer: Any = None) -> int:
    """The rest of ``serve`` given how to load the model and its identity (``studio.cli`` loads a registry stage).

    The token and the address are checked before ``load`` runs, so a refusal does not wait for a model.
    ``hooks``, called after ``load``, gives a :class:`~pipeline_core.serving.server.ServiceHooks` (the prediction
    log and the ground-truth sink ``studio.cli`` plugs its storage into). ``authorizer`` checks each request's bearer
    token instead of ``--token-env``'s one (``pipeline_core.serving.auth``; ``studio.cli`` checks API tokens).
    """
    from pipeline_core.serving.requests import ServiceLimits
    from pipeline_core.serving.server import ServeError, check_address, serve_model

    token = None
    if args.token_env:
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            return _fail(f"--token-env names {args.token_env}, but that environment variable is not set or empty",
                         EXIT_USAGE)
    limits = ServiceLimits(max_rows=args.max_rows, max_body_bytes=int(args.max_body_mb * 2**20),
                           memory_budget_bytes=int(args.memory_budget_mb * 2**20))
    try:
        check_address(args.host, token, authorizer=authorizer)
        background = _read(args.background, args).frame if getattr(args, "background", None) else None
        model, identity = load()
        plugged = hooks() if hooks is not None else None
        serve_model(model, identity, host=args.host, port=args.port, token=token, limits=limits,
                    announce=lambda line: print(line, flush=True),
                    prediction_log=plugged.prediction_log if plugged else None,
                    feedback=plugged.feedback if plugged else None, background=background,
                    shadow=plugged.shadow if plugged else None, alerts=plugged.alerts if plugged else None,
                    extra_hosts=args.allow_host, source=plugged.source if plugged else None,
                    reload_seconds=getattr(args, "reload_seconds", None), authorizer=authorizer)
    except ServeError as e:
        return _fail(str(e), EXIT_USAGE)
    return EXIT_OK


# ---- shared --------------------------------------------------------------------------------------------


def _train_and_write(spec: PipelineSpec, frame: pd.DataFrame, out: Path) -> int:
    """Train, then write leaderboard.json, pipeline.json and model.skops into ``out``."""
    from pipeline_core.artifacts.export import build_metadata, save_model
    from pipeline_core.training.train import train

    for warning in leakage_notes(spec, frame):
        _note(warning)
    searching = spec.autopilot is not None and not spec.autopilot.chosen
    with _StopOnInterrupt() if searching else nullcontext() as stop:
        result = train(spec, frame, progress=_Progress(), cancel=stop)
    out.mkdir(parents=True, exist_ok=True)
    (out / "leaderboard.json").write_text(json.dumps(leaderboard(result), indent=2), encoding="utf-8")
    (out / "pipeline.json").write_text(result.spec.to_json(), encoding="utf-8")  # with the autopilot's choices
    save_model(result.pipeline, out / "model.skops", "skops", build_metadata(result, frame))
    for line in result.report:
        _note(line)
    score = result.best.metrics[result.metric]
    if result.task == "clustering":
        print(f"best: {result.best.model} ({result.metric} {score:.4f})")
    else:
        holdout = result.holdout.get(result.metric)
        suffix = f", hold-out {holdout:.4f}" if holdout is not None else ""
        print(f"best: {result.best.model} ({result.metric} {score:.4f} in CV{suffix})")
        if result.refit_rows is not None:
            print(f"the saved model was refitted on all {result.refit_rows:,} rows (training and hold-out)")
    if result.autopilot is not None:
        spent = result.autopilot
        print(f"autopilot: {spent.trials} configuration(s) tried; {spent.total_seconds:.1f} s of the "
              f"{spent.budget_seconds:g} s budget (search {spent.search_seconds:.1f} s, refits "
              f"{spent.refit_seconds:.1f} s)")
    print(f"wrote {out / 'leaderboard.json'}, {out / 'pipeline.json'}, {out / 'model.skops'}")
    return EXIT_OK


def leakage_notes(spec: PipelineSpec, frame: pd.DataFrame) -> list[str]:
    """The Features page's leakage warnings for the columns that reach the model, for the CLI to print.

    The app warns before training when a column copies the target; the CLI trained on such a
    column to a perfect score without a word, so a script's user never learnt the result was
    worthless. The same check runs here, on the same columns: renamed, minus those a step drops.
    """
    from pipeline_core.analysis.leakage import leakage_basis, target_warnings
    from pipeline_core.compiler.columns import apply_column_spec
    from pipeline_core.definition import steps as st

    if spec.target is None:
        return []
    seen = apply_column_spec(frame.iloc[:0], spec).columns
    if spec.target not in seen:
        return []  # training names the missing target
    dropped = {c for s in spec.steps if isinstance(s, st.DropColumns) for c in s.columns}
    checked = [c for c in seen if c not in dropped or c == spec.target]
    return target_warnings(leakage_basis(frame, spec.columns.rename), spec.target, checked)


def leaderboard(result: Any) -> list[dict[str, Any]]:
    """The leaderboard as written to ``leaderboard.json``: best first, failures last with their error."""
    from pipeline_core.definition.registry import ENSEMBLE_KINDS

    rows = []
    for row in result.leaderboard:
        record = {"model": row.model, "metrics": row.metrics, "metrics_std": row.metrics_std,
                  "fit_seconds": row.fit_seconds}
        if row.error:
            record["error"] = row.error
        if row.model in ENSEMBLE_KINDS:  # which models it combines (greedy: how often each was picked)
            record["label"], record["members"] = row.label, row.params["members"]
        rows.append(record)
    return rows


def _read(path: str | Path, args: argparse.Namespace) -> Any:
    from pipeline_core.io.readers import read_path

    budget = int(args.memory_budget_mb * 2**20)
    result = read_path(path, memory_budget_bytes=budget, budget_setting="--memory-budget-mb")
    for notice in result.notices:
        _note(notice)
    return result


def _writable(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


class _StopOnInterrupt:
    """The autopilot's cancel for the command line: the first Ctrl+C stops the search and keeps the best model
    found so far; a second one interrupts as usual. Installed only while an autopilot search runs."""

    def __init__(self) -> None:
        self.stopped = False

    def __enter__(self) -> _StopOnInterrupt:
        import signal

        self.previous = signal.signal(signal.SIGINT, self._stop)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.signal(signal.SIGINT, self.previous)

    def _stop(self, signum: int, frame: Any) -> None:
        import signal

        self.stopped = True
        signal.signal(signal.SIGINT, self.previous)
        _note("stopping the search; the best model so far is kept (Ctrl+C again to abort)")

    def __call__(self) -> bool:
        return self.stopped


class _Progress:
    """Progress lines on stderr (each new message once), so a long run shows it is alive."""

    def __init__(self) -> None:
        self.message = ""

    def __call__(self, event: ProgressEvent) -> None:
        if event.message != self.message:
            self.message = event.message
            print(f"[{event.fraction:4.0%}] {event.message}", file=sys.stderr, flush=True)
