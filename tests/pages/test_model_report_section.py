"""Models page, "Model report": pick a version and sensitive columns, build, download the HTML, read its outline."""

from __future__ import annotations

import html

from studio import registry
from studio.roles import Actor
from tests.pages.test_compare_page import by_key
from tests.pages.test_predict_page import by_id_suffix, capture_downloads, download_bytes, download_name
from tests.report_models import CLASSIFIER, HOSTILE, REGRESSOR, register_both

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

def test_the_report_is_built_downloaded_and_outlined(store, app, monkeypatch):
    register_both(store)
    files = capture_downloads(monkeypatch)
    at = app("pages/models.py")
    at.selectbox(key="registry_pipeline").set_value(registry.get_pipeline(LOCAL, CLASSIFIER).id).run()
    assert at.selectbox(key="report_version").value == 1
    picker = at.multiselect(key=next(w.key for w in at.multiselect if w.key.startswith("report_sensitive_")))
    assert "region" in picker.options and "churned" not in picker.options  # the target is not a group
    assert not at.get("download_button") or not any(b.proto.id.endswith("-report_download")
                                                     for b in at.get("download_button"))
    picker.set_value(["region"]).run()
    at.button(key="report_build").click().run()
    assert not at.exception and not at.error

    button = by_id_suffix(at.get("download_button"), "report_download")
    page = download_bytes(files, button).decode()
    assert download_name(files, button) == "model-report-churn-b-model-b-v1.html"
    assert page.startswith("<!DOCTYPE html>") and HOSTILE not in page and html.escape(HOSTILE) in page
    outline = by_key(at.container, "registry_report_outline").dataframe[0].value
    assert list(outline["Section"]) == ["At a glance", "Data", "Pipeline steps", "Metrics", "Tuning history",
                                        "Explanations", "Bias by group", "Error slices", "Quality rules", "Lineage"]
    assert outline.set_index("Section").loc["Bias by group", "In short"].startswith("By region")

    # another choice hides the report that no longer matches it, until it is built
    at.selectbox(key="registry_pipeline").set_value(registry.get_pipeline(LOCAL, REGRESSOR).id).run()
    assert not any(b.proto.id.endswith("-report_download") for b in at.get("download_button"))
