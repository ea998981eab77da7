"""Rules the layers keep apart on purpose, held equal here, where both sides are visible.

``storage`` may not import the core, so the definition hash exists twice: ``PipelineSpec.content_hash``
(the editor's unsaved-changes flag, a run's provenance) and ``storage.definition_sha256`` (a version's
identity, import checks). A saved version must be recognised as the definition the editor holds.
The settings live in ``studio/settings.py`` and, for administrators, in the README's table: the two agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import storage
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.io.samples import load_sample, sample_names
from studio import pipelines
from studio.roles import Actor
from studio.settings import Settings

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

def definitions() -> list[PipelineSpec]:
    specs = [PipelineSpec(), PipelineSpec(name="Ünïcode — “quotes” 🧪", target="prix (€)")]
    for name in sample_names():
        frame = load_sample(name)
        spec = PipelineSpec(name=name, target=str(frame.columns[-1]), evaluation={"cv_folds": 4, "holdout": 0.25})
        specs.append(spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))}))
    return specs


@pytest.mark.parametrize("spec", definitions(), ids=lambda spec: spec.name)
def test_the_core_and_the_store_hash_a_definition_alike(studio, spec):
    assert spec.content_hash() == storage.definition_sha256(spec.to_dict())
    version = pipelines.save_version(LOCAL, spec, name=spec.name or "untitled")
    assert version.definition_sha256 == spec.model_copy(update={"name": spec.name or "untitled"}).content_hash()


def test_the_readme_documents_every_setting_and_no_other():
    """An administrator learns the settings from the README's table; it must match what the app reads."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, flags=re.M))
    assert documented == {field.alias for field in Settings.model_fields.values()}
