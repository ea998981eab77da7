"""``python -m studio`` (and the ``pipeline-studio`` command): every ``pipeline_core`` command, plus the model
registry of the studio the environment names (``PIPELINE_STUDIO_HOME`` / ``DATABASE_URL``).

``pipeline_core.cli`` works on files only and may not import the application layer, so the registry's forms
live here, on top of the core's own parser: every core command is there unchanged (a command added to the core
appears here too), and

* a core command listed in :data:`STAGE_COMMANDS` also takes ``--pipeline NAME --stage STAGE`` in place of its
  MODEL argument, e.g. ``predict --pipeline churn --stage production new.csv --out preds.csv``;
* the commands in :data:`COMMANDS` are added (``models list|register|promote|rollback|history``).

Failures are one ``error:`` line and a non-zero status, as in the core: an unknown pipeline or stage, or a stage
holding no model, exits with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline_core import cli as core
from studio.audit_cli import add_audit
from studio.cli_actor import actor as _actor
from studio.cli_actor import by as _by
from studio.cli_actor import since_of
from studio.cli_actor import table as _table
from studio.tokens_cli import add_tokens
from studio.users_cli import add_users

PROG = "python -m studio"
RELOAD_SECONDS = 5.0  # how often a stage's service looks for a promotion
Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status follows ``pipeline_core.cli`` (2 for bad input, unknown names included)."""
    from studio.errors import StorageError

    args = build_parser().parse_args(argv)
    try:
        return core.run(args)
    except StorageError as e:
        return core._fail(str(e), core.EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The core's parser, its STAGE_COMMANDS given ``--pipeline``/``--stage``, and the registry's COMMANDS."""
    parser = core.build_parser(core.CONSOLE_COMMAND if Path(sys.argv[0]).name == core.CONSOLE_COMMAND else PROG)
    parser.epilog = f"{parser.epilog}\n\n{SYNOPSIS}"
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, handler in STAGE_COMMANDS.items():
        _accept_stage(subcommands.choices[name], handler)
    subcommands.choices["serve"].add_argument(
        "--shadow", metavar="STAGE", help="with --pipeline: also score every request with this stage's model (e.g. "
        "staging) off the request path, logging its answers beside the served ones for the Monitor page's "
        "champion/challenger comparison; clients only get the served model's answers")
    subcommands.choices["serve"].add_argument(
        "--reload-seconds", type=_seconds, default=RELOAD_SECONDS, metavar="S",
        help=f"with --pipeline: how often to check whether the stage moved (a promotion) and swap to its new version "
             f"(default {RELOAD_SECONDS:g}; 0: only on POST /reload)")
    for add in COMMANDS:
        add(subcommands)
    parser.add_argument("--token", metavar="TOKEN", default=None,
                        help="an API token: act as its account, in its workspace, with its role, instead of as the "
                             "local user (better: set PIPELINE_STUDIO_TOKEN, since other users of this machine can "
                             "see command-line arguments)")
    return parser


def _seconds(text: str) -> float:
    """A number of seconds, 0 or more (argparse turns the ValueError into a one-line usage error)."""
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value


def _accept_stage(command: argparse.ArgumentParser, registry_handler: Handler) -> None:
    """Let ``command`` take ``--pipeline NAME [--stage STAGE]`` instead of its first argument (the model file)."""
    model = next(a for a in command._actions if a.dest == "model")
    model.nargs, model.default = "?", None
    model.help = f"{model.help}; or leave it out and name a registry stage with --pipeline and --stage"
    command.add_argument("--pipeline", metavar="NAME", help="use the model a stage of this pipeline's registry "
                                                            "holds (the studio of PIPELINE_STUDIO_HOME)")
    command.add_argument("--stage", metavar="STAGE", default="production",
                         help="with --pipeline: none, staging, production (default) or archived")
    command.add_argument("--workspace", type=core._positive_int, default=None, metavar="ID",
                         help="with --pipeline: the workspace the pipeline is in (default: the default workspace)")
    file_handler: Handler = command.get_default("handler")

    def handler(args: argparse.Namespace) -> int:
        if args.pipeline is not None and args.model is not None:
            return core._fail(f"give either MODEL ('{args.model}') or --pipeline, not both", core.EXIT_USAGE)
        if args.pipeline is not None:
            return registry_handler(args)
        if args.model is None:
            return core._fail("name the model: a MODEL file, or --pipeline NAME [--stage STAGE] for a model of "
                              "the registry", core.EXIT_USAGE)
        return file_handler(args)

    command.set_defaults(handler=handler)


# ---- registry forms of core commands --------------------------------------------------------------------------


def cmd_predict_stage(args: argparse.Namespace) -> int:
    """``predict --pipeline NAME --stage STAGE DATA --out OUT``: the core's predict with the stage's model."""
    from studio import registry

    serving = registry.production_model(_actor(args), args.pipeline, args.stage)
    version = serving.version
    core._note(f"scoring with version {version.version} of pipeline '{version.pipeline}' ({version.stage}): "
               f"{version.model_label}, run #{version.run_id}")
    return core.predict_with(serving.model, args, on_scored=lambda rows, result, seconds: _log_batch(
        version, rows, result, seconds, serving.model.metadata))


def _log_batch(version: Any, rows: Any, result: Any, seconds: float, metadata: Any) -> None:
    """Record the scored rows in the prediction log and say under which request id (for ground truth later)."""
    from pipeline_core.artifacts.predict import PREDICTION
    from studio import prediction_log

    target = prediction_log.LogTarget(source="batch", model_sha256=version.artifact_sha256,
                                      pipeline_id=version.pipeline_id, version=version.version)
    request_id = prediction_log.log_scored(target, rows, result.frame[PREDICTION].tolist(), seconds,
                                           metadata=metadata)
    if request_id is not None:
        print(f"logged {len(rows):,} predictions as request {request_id} (row ids 0-{len(rows) - 1}: send true "
              "outcomes with 'feedback FILE')")


def cmd_serve_stage(args: argparse.Namespace) -> int:
    """``serve --pipeline NAME --stage STAGE``: the core's scoring service with the stage's model.

    The service follows the stage: every ``--reload-seconds`` (and on ``POST /reload``) it checks which version the
    stage holds and, after a promotion or rollback, loads the new one fully and swaps to it, in-flight requests
    finishing on the old one. ``/health``, ``/schema`` and ``/metrics`` name the pipeline and the version served.
    """
    from studio import alerts, prediction_log, registry, stage_source

    loaded: list[Any] = []

    def load() -> tuple[Any, Any]:
        stage = registry.production_model(_actor(args), args.pipeline, args.stage)
        version = stage.version
        loaded.append(version)
        core._note(f"serving version {version.version} of pipeline '{version.pipeline}' ({version.stage}): "
                   f"{version.model_label}, run #{version.run_id}")
        return stage.model, stage_source.identity_of(stage)

    def hooks() -> Any:
        version = loaded[0]
        plugged = prediction_log.service_hooks(prediction_log.LogTarget(
            source="service", model_sha256=version.artifact_sha256, pipeline_id=version.pipeline_id,
            version=version.version))
        if args.shadow:
            scorer, challenger = prediction_log.shadow_scorer(_actor(args), args.pipeline, args.shadow,
                                                              champion=version.version)
            plugged = replace(plugged, shadow=scorer)
            core._note(f"shadow: version {challenger} ({args.shadow}) scores every request too; its answers are "
                       "logged, never returned")
        plugged = replace(plugged, alerts=alerts.service_watcher(_actor(args), version.pipeline_id),
                          source=stage_source.following(_actor(args), args.pipeline, args.stage))
        every = f"every {args.reload_seconds:g} s and " if args.reload_seconds else ""
        core._note(f"follows {args.stage}: checks {every}on POST /reload, and swaps to a new version without "
                   "failing a request")
        return plugged

    authorizer = _service_authorizer(args)
    try:
        return core.serve_with(load, args, hooks, authorizer=authorizer)
    finally:
        if authorizer is not None:
            authorizer.close()  # the last minute's token use, into the audit log


def _service_authorizer(args: argparse.Namespace) -> Any:
    """With sign-in configured (a shared server), the service takes the workspace's API tokens (and ``--token-env``'s
    token, if given, for everything; its starter's metrics secret, if given, for ``/metrics``); without it, the
    core's one ``--token-env`` token or none, as before."""
    import os

    from studio.service_tokens import METRICS_SECRET_ENV, TokenAuthorizer
    from studio.settings import settings
    from studio.workspace import current_store

    if not settings().sign_in:
        return None
    static = os.environ.get(args.token_env, "").strip() if args.token_env else None
    return TokenAuthorizer(current_store(), _actor(args).workspace_id, static_token=static or None,
                           metrics_secret=os.environ.get(METRICS_SECRET_ENV, "").strip() or None,
                           target=f"scoring service of '{args.pipeline}' ({args.stage})")


STAGE_COMMANDS: dict[str, Handler] = {"predict": cmd_predict_stage, "serve": cmd_serve_stage}
"""Core commands that also accept ``--pipeline NAME --stage STAGE`` in place of MODEL, and the handler for it."""


# ---- models ---------------------------------------------------------------------------------------------------


def _add_models(commands: Any) -> None:
    models = commands.add_parser("models", help="the model registry: list, register, promote, roll back",
                                 description="Registered model versions of a pipeline and their stages, in the "
                                             "studio of PIPELINE_STUDIO_HOME (and DATABASE_URL).")
    actions = models.add_subparsers(title="actions", metavar="ACTION", required=True)
    listed = actions.add_parser("list", help="each version with stage, metric, data hash and lineage")
    listed.add_argument("--pipeline", required=True, metavar="NAME")
    listed.set_defaults(handler=cmd_models_list)
    history = actions.add_parser("history", help="every stage change: who, when, why")
    history.add_argument("--pipeline", required=True, metavar="NAME")
    history.set_defaults(handler=cmd_models_history)
    register = actions.add_parser("register", help="register a finished run's model as the next version")
    register.add_argument("--run", required=True, type=core._positive_int, metavar="ID")
    register.add_argument("--pipeline", metavar="NAME", help="needed when the run was not trained from a saved "
                                                             "pipeline (its definition is saved there)")
    register.add_argument("--note", default="", metavar="TEXT")
    register.set_defaults(handler=cmd_models_register)
    promote = actions.add_parser("promote", help="move a version to a stage (production archives the old one)")
    promote.add_argument("--pipeline", required=True, metavar="NAME")
    promote.add_argument("--version", required=True, type=core._positive_int, metavar="N")
    promote.add_argument("--stage", required=True, metavar="STAGE", help="none, staging, production or archived")
    promote.add_argument("--why", required=True, metavar="TEXT", help="the reason, kept in the history")
    promote.set_defaults(handler=cmd_models_promote)
    rollback = actions.add_parser("rollback", help="put the previous production version back in production")
    rollback.add_argument("--pipeline", required=True, metavar="NAME")
    rollback.add_argument("--why", required=True, metavar="TEXT", help="the reason, kept in the history")
    rollback.set_defaults(handler=cmd_models_rollback)


def cmd_models_list(args: argparse.Namespace) -> int:
    from studio import registry

    versions = registry.list_model_versions(_actor(args), args.pipeline)
    if not versions:
        print(f"no model of pipeline '{args.pipeline}' is registered yet")
        return core.EXIT_OK
    rows = []
    for v in versions:
        main = v.metrics.main()
        rows.append({"version": v.version, "stage": v.stage, "model": v.model_label,
                     "metric": f"{main[0]} {main[1]:.4f}" if main else "", "data": (v.data_sha256 or "")[:12],
                     "definition": f"v{v.definition_version}", "run": f"#{v.run_id}",
                     "created": v.created_at.strftime("%Y-%m-%d %H:%M"), "by": v.created_by, "note": v.note})
    print(_table(rows))
    return core.EXIT_OK


def cmd_models_history(args: argparse.Namespace) -> int:
    from studio import registry

    rows = [{"when": m.at.strftime("%Y-%m-%d %H:%M:%S"), "version": m.version, "from": m.from_stage or "-",
             "to": m.to_stage, "by": m.by, "why": m.why} for m in registry.stage_history(_actor(args), args.pipeline)]
    print(_table(rows))
    return core.EXIT_OK


def cmd_models_register(args: argparse.Namespace) -> int:
    from studio import registry

    version = registry.register_model(_actor(args), args.run, pipeline_name=args.pipeline, by=_by(args), note=args.note)
    print(f"registered run #{args.run}'s model as version {version.version} of '{version.pipeline}' (stage none)")
    return core.EXIT_OK


def cmd_models_promote(args: argparse.Namespace) -> int:
    from studio import registry

    for move in registry.set_stage(_actor(args), args.pipeline, args.version, args.stage, by=_by(args), why=args.why):
        print(f"version {move.version}: {move.from_stage} -> {move.to_stage}")
    return core.EXIT_OK


def cmd_models_rollback(args: argparse.Namespace) -> int:
    from studio import registry

    back = registry.rollback(_actor(args), args.pipeline, by=_by(args), why=args.why)
    print(f"version {back.version} of '{back.pipeline}' is in production again")
    return core.EXIT_OK


# ---- ground truth ---------------------------------------------------------------------------------------------


def _add_feedback(commands: Any) -> None:
    feedback = commands.add_parser("feedback", help="store true outcomes of logged predictions (ground truth)",
                                   description="Join a file of true outcomes to the prediction log of the studio of "
                                               "PIPELINE_STUDIO_HOME, on its request_id and row_id columns; ids "
                                               "that match no logged prediction are counted and shown.")
    feedback.add_argument("file", metavar="FILE", help="CSV, Excel, Parquet or JSON with request_id, row_id and the "
                                                       "outcome column")
    feedback.add_argument("--outcome-column", default="outcome", metavar="COL",
                          help="the column holding the true outcome (default: outcome)")
    feedback.set_defaults(handler=cmd_feedback)


def cmd_feedback(args: argparse.Namespace) -> int:
    from studio import prediction_log

    path = Path(args.file)
    report = prediction_log.upload_ground_truth(_actor(args), path.read_bytes(), path.name,
                                                outcome_column=args.outcome_column)
    print(report.summary())
    return core.EXIT_OK


# ---- monitoring ---------------------------------------------------------------------------------------------


def _add_monitor(commands: Any) -> None:
    monitor = commands.add_parser(
        "monitor", help="write a pipeline's drift and live-performance report; exit 3 when a threshold is crossed",
        description="The Monitor page's traffic, live performance and drift of a registered pipeline over a window, "
                    "as JSON or a self-contained HTML page, for a cron job or CI. Exits with 3 when a threshold "
                    "(stored on the Monitor page, or given here) is crossed, 0 otherwise.")
    monitor.add_argument("--pipeline", required=True, metavar="NAME")
    monitor.add_argument("--since", default="7d", metavar="WHEN",
                         help="start of the window: an ISO date/time (UTC), or a span back from now such as 24h, "
                              "7d (default) or 30d")
    monitor.add_argument("--granularity", default="day", choices=["minute", "hour", "day"])
    monitor.add_argument("--out", required=True, metavar="FILE", help="report.json or report.html")
    monitor.add_argument("--max-psi", type=float, metavar="X", help="alert when a feature's PSI in a bucket exceeds X "
                         "(these flags replace the thresholds stored on the Monitor page; the others still apply)")
    monitor.add_argument("--min-accuracy", type=float, metavar="X", help="alert when live accuracy falls below X")
    monitor.add_argument("--max-mae", type=float, metavar="X", help="alert when live mean absolute error exceeds X")
    monitor.set_defaults(handler=cmd_monitor)


def cmd_monitor(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from studio import alert_thresholds, monitor_report

    out = Path(args.out)
    if out.suffix.lower() not in (".json", ".html"):
        return core._fail(f"--out must end in .json or .html, not '{out.name}'", core.EXIT_USAGE)
    until = datetime.now(UTC)
    since = since_of(args.since, until)
    if since is None:
        return core._fail(f"--since {args.since!r} is neither an ISO date/time nor a span such as 24h or 7d",
                          core.EXIT_USAGE)
    stored = alert_thresholds.get_thresholds(_actor(args),
                                             args.pipeline).thresholds  # the flags replace the stored ones
    thresholds = stored.with_overrides(max_psi=args.max_psi, min_accuracy=args.min_accuracy, max_mae=args.max_mae)
    report = monitor_report.build_report(_actor(args), args.pipeline, since=since, until=until,
                                         granularity=args.granularity,
                                         thresholds=thresholds)
    text = report.model_dump_json(indent=2) if out.suffix.lower() == ".json" else monitor_report.to_html(report)
    out.write_text(text, encoding="utf-8")
    print(f"{report.rows:,} rows scored since {since:%Y-%m-%d %H:%M} UTC; "
          f"{len(report.alerts)} alert(s); report written to {out}")
    for alert in report.alerts:
        print(f"alert: {alert}")
    return monitor_report.EXIT_ALERT if report.alerts else core.EXIT_OK


# ---- model report ---------------------------------------------------------------------------------------


def _add_report(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="write the model report of a registered version as one self-contained HTML file",
        description="Data summary, pipeline steps, CV and hold-out metrics with charts, tuning history, SHAP "
                    "explanations and partial dependence, bias by group (with --sensitive), error slices, quality "
                    "rules and lineage of one registered model version, as one HTML file that opens offline.")
    report.add_argument("--pipeline", required=True, metavar="NAME")
    report.add_argument("--version", required=True, type=core._positive_int, metavar="N")
    report.add_argument("--sensitive", default="", metavar="COL[,COL]",
                        help="columns to compare the model across groups by (they need not be features)")
    report.add_argument("--positive", metavar="CLASS", help="for bias by group of a classifier: the class counted "
                                                            "as selected (default: the model's last class)")
    report.add_argument("--out", required=True, metavar="FILE", help="the report, e.g. report.html")
    report.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from studio import model_report

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        return core._fail(f"--out must end in .html, not '{out.name}'", core.EXIT_USAGE)
    sensitive = [c.strip() for c in args.sensitive.split(",") if c.strip()]
    report = model_report.build_model_report(_actor(args), args.pipeline, args.version, sensitive=sensitive,
                                             positive=args.positive)
    out.write_bytes(report.html)
    print(f"version {report.version} of '{report.pipeline}': {len(report.sections)} sections, "
          f"{sum(s.charts for s in report.sections)} charts; report written to {out}")
    return core.EXIT_OK


# ---- retraining ---------------------------------------------------------------------------------------------


def _add_retrain(commands: Any) -> None:
    retrain = commands.add_parser(
        "retrain", help="retrain a registered version on its data plus newly labelled logged rows (or a file)",
        description="Re-run a registered version's definition on its training data plus the logged rows whose true "
                    "outcome has arrived since (or on FILE alone), wait for the job, and register the model as a "
                    "challenger in staging. Exits 2 when there is nothing to retrain on, 1 when training fails.")
    retrain.add_argument("--pipeline", required=True, metavar="NAME")
    retrain.add_argument("--version", type=core._positive_int, metavar="N",
                         help="the registered version to retrain (default: production, else the newest)")
    retrain.add_argument("--data", metavar="FILE", help="train on this file instead (it must hold the target)")
    retrain.set_defaults(handler=cmd_retrain)


def cmd_retrain(args: argparse.Namespace) -> int:
    """Retrain in this process's own job runner and wait: the job dies with the process, so the command waits."""
    import time

    from pipeline_core.jobs.runners import create_runner
    from studio import retrain, training
    from studio.settings import settings

    data = Path(args.data).read_bytes() if args.data else None
    config = settings()
    # not training.start_runner: that closes as failed every active run its runner does not hold (the app's too)
    runner = create_runner(config.jobs, max_jobs=1, scheduler=config.scheduler_address)
    try:
        job = retrain.retrain(_actor(args), runner, args.pipeline, version=args.version, data=data,
                              file_name=Path(args.data).name if args.data else None, by=_by(args), owner=_by(args))
        print(f"retraining version {job.from_version} of '{job.pipeline}' on {job.rows()} (run #{job.run_id})",
              flush=True)
        shown = ""
        try:
            while job.active:
                if job.message and job.message != shown:
                    shown = job.message
                    core._note(f"{job.progress:.0%} {job.message}")
                time.sleep(0.5)
                job = retrain.get_retrain(_actor(args), job.id)
        except KeyboardInterrupt:
            training.cancel(_actor(args), job.run_id)
            raise
    finally:
        runner.close()
    if job.version is None:
        return core._fail(job.sentence(), core.EXIT_FAILED)
    print(job.sentence())
    return core.EXIT_OK


COMMANDS: list[Callable[[Any], None]] = [_add_models, _add_feedback, _add_monitor, _add_report, _add_retrain,
                                         add_users, add_tokens, add_audit]
"""Commands of their own, each added by a function taking the subcommand registry (``add_parser``)."""

SYNOPSIS = """model registry (the studio of PIPELINE_STUDIO_HOME):
  predict --pipeline NAME [--stage production] DATA --out preds.csv
  serve   --pipeline NAME [--stage production] [--shadow staging] [--host 127.0.0.1] [--port 8000] [--token-env VAR]
  models  list|history --pipeline NAME
  models  register --run ID [--pipeline NAME] [--note TEXT]
  models  promote --pipeline NAME --version N --stage STAGE --why TEXT
  models  rollback --pipeline NAME --why TEXT
  feedback FILE [--outcome-column outcome]   true outcomes by request_id and row_id (ground truth)
  monitor --pipeline NAME [--since 7d] --out report.json|html [--max-psi X] [--min-accuracy X]  (exit 3: alert)
  report  --pipeline NAME --version N [--sensitive COL[,COL]] --out report.html   the model report
  retrain --pipeline NAME [--version N] [--data FILE]   a challenger in staging, on newly labelled logged rows
  users   add-admin|add|set-password NAME, users list   sign-in accounts (passwords asked for, or read from stdin)
  tokens  create --name TEXT --role ROLE [--days N] [--user NAME] [--workspace ID], tokens list, tokens revoke ID
  audit   [--since 7d] [--kind KIND] [--who NAME] [--workspace ID]   who did what (workspace owners)
  --token TOKEN (or PIPELINE_STUDIO_TOKEN)   act as an API token's account, in its workspace, with its role"""
