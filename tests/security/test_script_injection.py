"""Issue 14 point 1: user text in the exported Python script is data, never code.

The pipeline name, the data file name and its hash, column names, category values and the target
name all reach the generated script. Each hostile string here would create a marker file if it ran
as code, and several (backslashes, ``{}``, newlines) break a script that writes them raw. Every
registered step is rendered with them (the step examples of ``tests/pipeline_core/test_registry.py``,
whose completeness test fails until a new step has one), and every script is compiled and run on a
small file, in a subprocess, from a folder the test then checks for markers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from pipeline_core.artifacts.codegen import python_script
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition import steps as st
from pipeline_core.definition.registry import STEP_ENTRIES
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from tests.pipeline_core.test_export import coverage_frame
from tests.pipeline_core.test_registry import STEP_EXAMPLES


def payload(marker: str, run: str = '__import__("pathlib").Path({!r}).touch()') -> str:
    """A string that closes a docstring or string literal, runs code creating ``marker``, and reopens it."""
    return f'x"""\n{run.format(marker)}\n"""\'\'\'\n{run.format(marker)}\n\'\'\'\\{{}}'


# Column names must not hold "__" (scikit-learn's parameter separator, issue 14 point 10), so ``open``.
OPEN = "open({!r}, 'w').close()"
PIPELINE_NAME = payload("INJECTED_pipeline_name")
FILE_NAME = payload("INJECTED_file_name") + r" C:\Users\bob\churn {0} .csv"
SHA256 = '\\N"""{}'  # an imported definition's hash: only 16 characters reach the script
COLUMNS = {  # the coverage frame's columns -> hostile names
    "a": payload("INJECTED_numeric", OPEN), "b": "it's \"b\"\n{b}", "c": "C:\\Users\\bob\\{c}",
    "d": "'''d", "e": 'e"""', "when": "when\\N{x}", "note": payload("INJECTED_text", OPEN),
    "label": 'churn "yes"\'s \\ {target}', "amount": "amount\r\n",
}
RAW_NAMES = {"a": "raw a\\x41 \"\"\" {}"}  # renamed by the definition: RENAME and RAW_TARGET hold both
CATEGORY = payload("INJECTED_category_value", OPEN)
TARGET = COLUMNS["label"]


def hostile_frame():
    frame = coverage_frame(120).rename(columns={**COLUMNS, **RAW_NAMES})
    c = COLUMNS["c"]
    frame[c] = frame[c].replace({"x": CATEGORY, "y": "C:\\new\\{0}", "z": "z\n'\"''"})
    frame[TARGET] = frame[TARGET].replace({"yes": 'yes"""\\', "no": "no\n{}"})
    return frame


def hostile_steps(kind: str) -> list[st.Step]:
    """The registry test's example for ``kind``, every column name in it swapped for its hostile one."""

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return COLUMNS.get(value, value)
        if isinstance(value, list):
            return [rename(v) for v in value]
        if isinstance(value, dict):  # a rule inside a step names its column too
            return {k: rename(v) for k, v in value.items()}
        return value

    steps = [type(s).model_validate({k: rename(v) for k, v in s.model_dump().items()}) for s in STEP_EXAMPLES[kind]]
    if kind == "filter_rows":  # values compared with user text
        c = COLUMNS["c"]
        steps += [st.FilterRows(column=c, op="not in", value=["C:\\new\\{0}", CATEGORY + "!"]),
                  st.FilterRows(column=c, op="!=", value=payload("INJECTED_filter_value", OPEN))]
    if kind == "impute":
        fill = st.Impute(columns=[COLUMNS["c"]], strategy="constant", fill_value=payload("INJECTED_fill", OPEN))
        steps.insert(-1, fill)  # before the one-hot step, which encodes what it fills
    return steps


def hostile_spec(kind: str) -> PipelineSpec:
    return PipelineSpec(
        name=PIPELINE_NAME, target=TARGET, task="classification", steps=hostile_steps(kind),
        data={"file_name": FILE_NAME, "sha256": SHA256},
        columns={"rename": {RAW_NAMES["a"]: COLUMNS["a"]}, "types": {  # long hostile values would read as text
            COLUMNS["c"]: "categorical", COLUMNS["d"]: "categorical", COLUMNS["e"]: "categorical",
            COLUMNS["note"]: "text", COLUMNS["when"]: "datetime"}},
        models=[ModelSpec(kind="logistic_regression")], evaluation=EvaluationPlan(cv_folds=2, holdout=0.25),
    )


RUNNER = """
import json, runpy, sys
for script in sys.argv[1:]:
    sys.argv = [script]  # no data argument: the script reads its own DATA_FILE, the hostile name
    names = runpy.run_path(script, run_name="__main__")
    print(json.dumps({"script": script, "pipeline": names["PIPELINE_NAME"], "file": names["DATA_FILE"],
                      "sha256": names["TRAINED_ON_SHA256"], "target": names["TARGET"],
                      "raw_target": names["RAW_TARGET"], "rename": names["RENAME"]}))
"""


def test_hostile_names_in_every_registered_step_are_data_in_the_exported_script(tmp_path):
    frame = hostile_frame()
    frame.to_csv(tmp_path / FILE_NAME, index=False)
    scripts = []
    for kind in STEP_ENTRIES:
        spec = hostile_spec(kind)
        prepared = prepare(spec, frame)
        source = python_script(spec, prepared.schema, prepared.task, "logistic_regression", {})
        compile(source, kind, "exec")  # a SyntaxError names the step
        path = tmp_path / f"script_{kind}.py"
        path.write_text(source, encoding="utf-8")
        scripts.append(str(path))
    run = subprocess.run([sys.executable, "-c", RUNNER, *scripts], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    markers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("INJECTED"))
    assert markers == [], f"injected code ran: {markers}"
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{"script"')]
    reports = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{"model"')]
    assert len(lines) == len(reports) == len(STEP_ENTRIES)
    for line in lines:  # the strings arrive in the script exactly as the user wrote them
        assert line["pipeline"] == PIPELINE_NAME and line["file"] == FILE_NAME and line["sha256"] == SHA256
        assert line["target"] == line["raw_target"] == TARGET
        assert line["rename"] == {RAW_NAMES["a"]: COLUMNS["a"]}
    assert all(np.isfinite(list(report["cv"].values())).all() for report in reports)


@pytest.mark.parametrize("name", [r"C:\Users\bob\churn", 'x"""', "x'''", "a\nb", "{0} {name}", "\\", "\\N"])
def test_awkward_pipeline_and_file_names_still_give_a_valid_script(name):
    frame = coverage_frame(40)
    spec = PipelineSpec(name=name, target="label", steps=STEP_EXAMPLES["onehot"],
                        data={"file_name": name, "sha256": name}, models=[ModelSpec(kind="logistic_regression")])
    prepared = prepare(spec, frame)
    source = python_script(spec, prepared.schema, prepared.task, "logistic_regression", {})
    names: dict[str, Any] = {}
    exec(compile(source, "script.py", "exec"), names)  # defining the script must run nothing
    assert names["PIPELINE_NAME"] == names["DATA_FILE"] == names["TRAINED_ON"] == names["TRAINED_ON_SHA256"] == name
