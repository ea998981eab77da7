"""Issue 14 points 9 and 11: inputs that crashed (a traceback in the CLI, the generic error page in the app)
and messages that blamed the wrong thing. Each case is built small where the same code path triggers."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import storage
from pipeline_core.definition.spec import load_spec
from pipeline_core.definition.task import check_target
from pipeline_core.errors import DataError, SpecError
from pipeline_core.io.readers import read_table
from tests.pipeline_core.test_cli import run_all
from tests.security.conftest import open_page, store_frame, texts

PAGE = "pages/data.py"

LONG = 200_000  # longer than the csv module's default 128 KB field limit


# ---------------------------------------------------------------- delimited text


@pytest.mark.parametrize("max_rows", [None, 2])
def test_cr_only_line_endings_are_read_as_lines(max_rows):
    data = b'id,city,score\r1,Paris,1.5\r2,"Lyon",2.5\r3,Nice,3.5\r'
    frame = read_table(data, "mac.csv", max_rows=max_rows).frame
    assert list(frame.columns) == ["id", "city", "score"]
    assert frame["city"].tolist()[:2] == ["Paris", "Lyon"]
    assert len(frame) == (max_rows or 3)


def test_a_ragged_row_in_a_cr_only_file_is_named_by_its_line():
    with pytest.raises(DataError, match=r"'mac.csv' line 3 has 3 values but the header has 2 columns"):
        read_table(b"a,b\r1,2\r3,4,5\r6,7\r", "mac.csv", max_rows=5)


@pytest.mark.parametrize("max_rows", [None, 5])
@pytest.mark.parametrize("quoted", [False, True])
def test_a_long_valid_cell_is_read_and_not_blamed_on_quoting(quoted, max_rows):
    cell = b"x" * LONG
    data = b'note,n\n' + (b'"' + cell + b'"' if quoted else cell) + b',1\nshort,2\n'
    frame = read_table(data, "long.csv", max_rows=max_rows).frame
    assert frame["note"].str.len().tolist() == [LONG, 5]


def test_a_single_line_longer_than_the_sample_is_a_header_without_rows_not_a_crash():
    with pytest.raises(DataError, match=r"^'one-line.csv' has no rows"):
        read_table(b",".join([b"c" * 1000] * 400), "one-line.csv")


# ---------------------------------------------------------------- JSON


@pytest.mark.parametrize("document", [
    "[" * 100_000 + "]" * 100_000,
    '[{"a": ' + "[" * 5_000 + "]" * 5_000 + "}]",
    '{"a": ' + "[" * 5_000 + "]" * 5_000 + "}\n{\"a\": 1}",
    '{"a": ' + '{"b": ' * 5_000 + "1" + "}" * 5_000 + "}",
], ids=["array", "value-in-a-record", "json-lines", "objects"])
def test_deeply_nested_json_is_refused_in_one_line(document):
    with pytest.raises(DataError, match=r"^'deep.json' nests JSON values too deeply to be a table\."):
        read_table(document.encode(), "deep.json")


def test_nesting_within_the_decoders_depth_still_reads_or_is_refused_plainly():
    document = '[{"a": ' + '{"b": ' * 400 + "1" + "}" * 400 + "}]"
    try:
        frame = read_table(document.encode(), "deep.json").frame
    except DataError as e:
        assert "\n" not in str(e)
    else:
        assert len(frame) == 1


@pytest.mark.parametrize(("document", "shown"), [
    (b"42", "42"), (b"  -1.5e3\n", "-1500.0"), (b"true", "true"), (b"null", "null"),
    (b'"' + b"x" * 3_000_000 + b'"', "a text of 3,000,000 characters"),  # the 50 MB string, smaller: same path
])
def test_a_json_file_that_is_one_value_is_named_as_that_not_as_only_a_header(document, shown):
    with pytest.raises(DataError) as caught:
        read_table(document, "value.json")
    assert str(caught.value).startswith(f"'value.json' is a single JSON value ({shown}), not a table.")
    assert "header" not in str(caught.value)


def test_a_real_header_only_csv_is_still_called_only_a_header():
    with pytest.raises(DataError, match=r"^'head.csv' has no rows, only a header"):
        read_table(b"id,name\n", "head.csv")


# ---------------------------------------------------------------- any reader failure is one line


def _broken_parser(*_args, **_kwargs):
    raise RecursionError("maximum recursion depth exceeded\n  while doing something deep " + "x" * 500)


@pytest.mark.parametrize(("module", "reader", "data"), [
    ("pipeline_core.io.text", "read_json", b'[{"a": 1}]'),
    ("pipeline_core.io.readers", "read_text", b"a,b\n1,2\n"),
    ("pipeline_core.io.readers", "read_parquet", b"PAR1" + b"\x00" * 64),
])
def test_a_parsers_unexpected_failure_becomes_one_line_naming_the_file(monkeypatch, module, reader, data):
    monkeypatch.setattr(f"{module}.{reader}", _broken_parser)
    with pytest.raises(DataError) as caught:
        read_table(data, "odd.csv")
    message = str(caught.value)
    assert message.startswith("'odd.csv' could not be read (RecursionError: maximum recursion depth exceeded while")
    assert "\n" not in message and len(message) < 400


def test_the_data_page_shows_a_parsers_unexpected_failure_as_a_reason(store, studio, monkeypatch):
    monkeypatch.setattr("pipeline_core.io.readers.read_text", _broken_parser)
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("odd.csv", b"a,b\n1,2\n", "text/csv")
    at.run()
    assert not at.exception
    assert "'odd.csv' could not be read (RecursionError" in texts(at, "error")
    assert storage.list_datasets(store) == []


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize(("seed", "shown"), [(-1, "-1"), (1e30, "1e+30"), (2**31, "2147483648"), (-1e30, "-1e+30")])
def test_a_seed_out_of_range_is_refused_when_the_definition_loads(seed, shown):
    with pytest.raises(SpecError, match=re.escape(f"evaluation.seed: the seed must be a whole number from 0 to "
                                                  f"2,147,483,647 (got {shown})")):
        load_spec(json.dumps({"target": "y", "evaluation": {"seed": seed}}))
    assert load_spec({"evaluation": {"seed": 2**31 - 1}}).evaluation.seed == 2**31 - 1


def test_the_cli_refuses_an_out_of_range_seed_in_one_line(tmp_path):
    pd.DataFrame({"x": range(40), "y": [0, 1] * 20}).to_csv(tmp_path / "d.csv", index=False)
    for name, seed in (("minus.json", -1), ("huge.json", 1e30)):
        (tmp_path / name).write_text(json.dumps({"target": "y", "models": [{"kind": "logistic_regression"}],
                                                 "evaluation": {"seed": seed}}))
    results = run_all([["run", "minus.json", "--data", "d.csv"], ["run", "huge.json", "--data", "d.csv"],
                       ["train", "d.csv", "--target", "y", "--seed", "-1"]], tmp_path)
    for result in results:
        lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and "the seed must be a whole number from 0 to 2,147,483,647" in lines[0], lines


def test_the_pipelines_page_refuses_to_import_a_definition_with_a_negative_seed(store, studio):
    at = open_page("pages/pipelines.py")
    document = json.dumps({"name": "bad seed", "target": "y", "evaluation": {"seed": -1}}).encode()
    at.file_uploader(key="pipelines_import").upload("pipeline.json", document, "application/json")
    at.run()
    at.button(key="pipelines_import_button").click().run()
    assert not at.exception
    assert "the seed must be a whole number from 0 to 2,147,483,647" in texts(at, "error")
    assert storage.list_pipelines(store) == []


RENAME_CLASH = "columns.rename: renaming 'a' to 'b' gives two columns named 'b' (the data already has a column 'b')"


def clash_frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [float(i) for i in range(40)], "b": [i % 7 for i in range(40)], "y": [0, 1] * 20})


def test_two_columns_renamed_to_one_name_are_refused_in_the_definition():
    with pytest.raises(SpecError, match=r"columns.rename: 'a' and 'c' are both renamed to 'x'"):
        load_spec({"columns": {"rename": {"a": "x", "c": "x"}}})
    assert load_spec({"columns": {"rename": {"a": "b", "b": "a"}}}).columns.rename == {"a": "b", "b": "a"}  # a swap


def test_the_cli_refuses_a_rename_onto_an_existing_column_in_one_line(tmp_path):
    clash_frame().to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "clash.json").write_text(json.dumps({"target": "y", "columns": {"rename": {"a": "b"}},
                                                     "models": [{"kind": "logistic_regression"}]}))
    result = run_all([["run", "clash.json", "--data", "d.csv"]], tmp_path)[0]
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and RENAME_CLASH in lines[0], lines


@pytest.mark.parametrize("page", ["pages/train.py", "pages/features.py", "pages/clean.py"])
def test_a_rename_onto_an_existing_column_is_a_reason_on_every_page(store, studio, page):
    spec = {"target": "y", "columns": {"rename": {"a": "b"}}, "steps": [{"kind": "impute"}],
            "models": [{"kind": "logistic_regression"}]}
    at = open_page(page, dataset_id=store_frame(store, clash_frame(), "clash"), spec=spec)
    assert not at.exception, at.exception
    assert RENAME_CLASH in texts(at, "error")


# ---------------------------------------------------------------- many classes


def many_classes(rows_per_class: int, classes: int = 1_000) -> pd.DataFrame:
    labels = [f"class_{i:04d}" for i in range(classes)] * rows_per_class
    return pd.DataFrame({"x": [float(i % 97) for i in range(len(labels))], "y": labels})


def test_a_1000_class_target_with_two_folds_is_refused_with_the_hold_out_it_needs(tmp_path):
    many_classes(3).to_csv(tmp_path / "classes.csv", index=False)
    result = run_all([["train", "classes.csv", "--target", "y", "--cv", "2", "--models", "decision_tree"]],
                     tmp_path)[0]
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, lines
    assert ("target 'y' has 1,000 classes, but the 20% hold-out of 3,000 rows keeps 600 for testing and 2,400 for "
            "training: a stratified hold-out needs a row of every class on each side. To train, raise the hold-out "
            "to at least 34%") in lines[0]


def test_the_stratified_hold_out_check_allows_what_scikit_learn_allows():
    from pipeline_core.compiler.prepare import prepare
    from pipeline_core.training.splits import split_holdout

    frame = many_classes(3, classes=100)
    spec = load_spec({"target": "y", "evaluation": {"holdout": 100 / 300, "cv_folds": 2}})
    X_train, X_test, _, y_test = split_holdout(spec, prepare(spec, frame))
    assert (len(X_train), len(X_test), y_test.nunique()) == (200, 100, 100)
    with pytest.raises(DataError, match=r"has 100 classes, but the 33% hold-out of 300 rows keeps 99 for testing"):
        split_holdout(spec.model_copy(update={"evaluation": spec.evaluation.model_copy(update={"holdout": 0.33})}),
                      prepare(spec, frame))


def test_a_message_about_rare_classes_names_ten_and_counts_the_rest():
    with pytest.raises(DataError) as caught:
        check_target(many_classes(1)["y"], "classification", 2)
    message = str(caught.value)
    assert "(1) and 990 more have fewer rows than the 2 CV folds need" in message
    assert message.count("'class_") == 10 and len(message) < 600


# ---------------------------------------------------------------- no rows left


def missing_target() -> pd.DataFrame:
    return pd.DataFrame({"x": [float(i) for i in range(30)], "y": [None] * 30}).astype({"y": "float64"})


def test_an_all_missing_target_is_blamed_on_the_target_not_on_filters_that_do_not_exist():
    from pipeline_core.compiler.prepare import prepare

    with pytest.raises(DataError) as caught:
        prepare(load_spec({"target": "y"}), missing_target())
    assert str(caught.value) == ("target 'y' is missing or infinite in all 30 rows, so there is nothing to learn "
                                 "from; choose another target, or fill it in the data")
    spec = load_spec({"target": "y", "steps": [{"kind": "filter_rows", "column": "x", "op": ">", "value": 9}]})
    with pytest.raises(DataError, match=r"^target 'y' is missing or infinite in all 20 rows that the row steps keep"):
        prepare(spec, missing_target())
    frame = missing_target().assign(y=1.0)
    spec = load_spec({"target": "y", "steps": [{"kind": "filter_rows", "column": "x", "op": ">", "value": 99}]})
    with pytest.raises(DataError, match=r"^no rows are left to train on after the row steps \(filter_rows\)"):
        prepare(spec, frame)


def test_the_train_page_says_the_target_is_all_missing(store, studio):
    spec = {"target": "y", "models": [{"kind": "logistic_regression"}]}
    at = open_page("pages/train.py", dataset_id=store_frame(store, missing_target(), "empty target"), spec=spec)
    assert not at.exception
    errors = texts(at, "error")
    assert "target 'y' is missing or infinite in all 30 rows" in errors and "filters" not in errors


# ---------------------------------------------------------------- runs a restart cut


@pytest.mark.parametrize("close", ["mark_lost_runs", "mark_interrupted_runs"])
def test_a_queued_run_cut_by_a_restart_is_told_it_never_started(store, studio, close):
    from storage.reporter import mark_lost_runs

    queued = storage.create_run(store, dataset_id=None).id
    running = storage.start_run(store, storage.create_run(store, dataset_id=None).id).id
    (mark_lost_runs if close == "mark_lost_runs" else storage.mark_interrupted_runs)(store)
    never, stopped = storage.get_run(store, queued), storage.get_run(store, running)
    assert (never.status, stopped.status) == ("failed", "failed")
    assert "before this run started" in never.error and "never ran" in never.error
    assert "in progress" not in never.error and "Run it again" in never.error
    assert stopped.error == storage.STOPPED_RUN_MESSAGE and "stopped while this run was in progress" in stopped.error


# ---------------------------------------------------------------- the same files in the CLI


def test_the_cli_reads_cr_only_files_and_refuses_hostile_json_in_one_line(tmp_path):
    rows = "".join(f"{i % 7 * 1.5},{'abc'[i % 3]},{i % 3}\r" for i in range(60))
    (tmp_path / "mac.csv").write_bytes(f"x,group,y\r{rows}".encode())
    (tmp_path / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (tmp_path / "value.json").write_bytes(b'"' + b"x" * 300_000 + b'"')
    results = run_all([["train", name, "--target", "y", "--models", "decision_tree", "--cv", "2", "--out", f"o{i}"]
                       for i, name in enumerate(("mac.csv", "deep.json", "value.json"))], tmp_path)
    assert results[0].returncode == 0, results[0].stderr[-2000:]
    for result, reason in zip(results[1:], ("nests JSON values too deeply", "is a single JSON value"), strict=True):
        lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
        assert result.returncode == 2, result.stderr[-2000:]
        assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], lines
