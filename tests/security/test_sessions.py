"""Two browser sessions on one server: each sees only its own uploads, predictions and reports.

What is shared is what was saved to the shared store (datasets, pipelines, runs, models),
and process-wide caches hold only shared, content-addressed things.
"""

from __future__ import annotations

import ast

import storage
from tests.apptest import REPO, open_page, texts
from tests.security.conftest import iris_rows

# Every st.cache_resource in the app, and why sharing it between sessions is safe.
SHARED_RESOURCES = {
    ("app.py", "_storage_ready"): "migrations and file clean-up of the shared store",
    ("pages/common.py", "_frame_by_hash"): "a stored dataset, immutable and addressed by its hash",
    ("pages/charts.py", "_loaded_model"): "a stored model, immutable and addressed by its hash (loaded_model checks "
                                          "the session's right to it first)",
    ("pages/jobs.py", "job_runner"): "the training workers, which hold no user data",
    ("pages/profile.py", "_summary"): "a summary of a stored dataset as a schema reads it, keyed by both hashes, "
                                      "read-only",
    ("pages/features.py", "_leakage_basis"): "a sample of a stored dataset under given renames, keyed by its hash",
}
# ``_frame`` is not hashed by Streamlit: it is the stored dataset the ``sha256`` beside it names. ``store``
# names the database and data directory of the server (the same for every session). ``_schema`` is not hashed
# either: ``fingerprint`` is the hash of all of it (column names, types and roles, no row of data), so equal keys
# mean equal summaries whoever asks; ``features_only`` is a switch of the overview.
# ``_actor`` is not hashed: it is whoever first loads a stored file, whose right to it was checked; later sessions
# are checked by the caller (``frame_of``, ``loaded_model``) before they are handed the shared copy.
SHARED_KEYS = {"dataset_id", "sha256", "artifact_id", "store", "_frame", "rename_json", "fingerprint", "_schema",
               "features_only", "_actor"}


def cached_resources() -> dict[tuple[str, str], ast.FunctionDef]:
    found = {}
    for path in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any("cache_resource" in ast.unparse(d)
                                                         for d in node.decorator_list):
                found[(path.relative_to(REPO).as_posix(), node.name)] = node
    return found


def test_nothing_user_specific_is_held_in_cache_resource():
    found = cached_resources()
    assert set(found) == set(SHARED_RESOURCES), "justify a new cache_resource in SHARED_RESOURCES"
    for where, function in found.items():
        arguments = {a.arg for a in function.args.args + function.args.kwonlyargs}
        assert arguments <= SHARED_KEYS, (where, arguments - SHARED_KEYS)
        assert "session_state" not in ast.unparse(function), where


def test_two_sessions_see_only_their_own_predictions(trained):
    first = open_page("pages/predict.py", dataset_id=trained.run.dataset_id, run_id=trained.run.id)
    second = open_page("pages/predict.py", dataset_id=trained.run.dataset_id, run_id=trained.run.id)
    first.file_uploader(key="predict_upload").upload("private.csv", iris_rows().to_csv(index=False).encode(),
                                                     "text/csv")
    first.run()
    assert first.get("download_button") and "private.csv" in " ".join(c.value for c in first.caption)
    second.run()
    assert not second.exception
    assert not second.get("download_button")
    assert "private.csv" not in " ".join(c.value for c in second.caption)
    assert second.file_uploader(key="predict_upload").value is None


def test_two_sessions_keep_their_own_active_dataset_and_notices(store, studio):
    first, second = open_page("pages/data.py"), open_page("pages/data.py")
    first.file_uploader(key="data_upload").upload("mine.csv", b"a;b\n1;2\n3;4\n", "text/csv")
    first.run()
    assert "Detected semicolon" in texts(first, "info")
    [dataset] = storage.list_datasets(store)  # saved to the shared store: listed for everyone...
    second.run()
    assert second.session_state["dataset_id"] is None  # ...but active only where it was loaded
    assert "Detected semicolon" not in texts(second, "info")
    assert second.selectbox(key="data_active").options == [f"mine · 2 × 2 · csv · #{dataset.id}"]


def test_a_profile_report_is_shown_only_to_the_session_that_asked(trained):
    dataset_id = trained.run.dataset_id
    first = open_page("pages/profile.py", dataset_id=dataset_id)
    first.toggle(key="profile_minimal").set_value(True)
    first.button(key="profile_full_report").click().run(timeout=180)
    assert not first.exception and len(first.get("iframe")) == 1
    second = open_page("pages/profile.py", dataset_id=dataset_id)
    assert not second.exception
    assert not second.get("iframe") and not second.get("download_button")
