"""Champion against challenger: the registry's production version against a candidate scored in shadow.

A service started with a shadow stage (``python -m studio serve --pipeline NAME --shadow staging``) answers with
the production model and logs the shadow model's answers to the same rows under their own version; once true
outcomes arrive, :func:`challenger_verdict` pairs the two row by row (:mod:`pipeline_core.analysis.champion`).
Promoting or discarding the challenger is the registry's one atomic stage switch, with who and why recorded.
"""

from __future__ import annotations

from datetime import datetime

import storage
from pipeline_core.analysis.champion import ChallengerVerdict, compare
from studio import registry
from studio.errors import StudioError
from studio.roles import Actor
from studio.workspace import current_store


def challenger_verdict(actor: Actor, pipeline: str | int, challenger: int, *, since: datetime, until: datetime,
                       champion: int | None = None) -> ChallengerVerdict:
    """The challenger version against ``champion`` (default: the production version) on the labelled rows both
    scored in [since, until)."""
    versions = {v.version: v for v in registry.list_model_versions(actor, pipeline)}
    if champion is None:
        production = next((v for v in versions.values() if v.stage == registry.PRODUCTION), None)
        if production is None:
            raise StudioError("this pipeline has no production version to compare the challenger with; "
                              "promote one on the Models page first")
        champion = production.version
    for version in (champion, challenger):
        if version not in versions:
            raise StudioError(f"version {version} is not registered under this pipeline")
    if champion == challenger:
        raise StudioError(f"version {challenger} is the champion itself; pick another version as the challenger")
    task = versions[champion].metrics.task or versions[challenger].metrics.task
    row = registry.get_pipeline(actor, pipeline)
    pairs = storage.paired_outcomes(current_store(), row.id, champion, challenger, since=since, until=until)
    champion_said, challenger_said, truth = (list(column) for column in zip(*pairs, strict=True)) if pairs \
        else ([], [], [])
    if task == "regression":
        champion_said, challenger_said, truth = (_numbers(values) for values in (champion_said, challenger_said, truth))
    return compare(champion_said, challenger_said, truth, regression=task == "regression")


def _numbers(values: list) -> list[float]:
    """Outcomes uploaded from a file may be text; what is no number becomes NaN, which the comparison skips."""
    out = []
    for value in values:
        try:
            out.append(float(value))
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out
