"""Every page that works on a dataset says where to get one instead of failing without it."""

import pytest

from tests.apptest import open_page, texts


@pytest.mark.parametrize("page", ["pages/data.py", "pages/profile.py", "pages/clean.py", "pages/features.py"])
def test_a_page_without_a_dataset_points_to_the_data_page(page):
    at = open_page(page)
    assert not at.exception
    assert "No dataset yet" in texts(at, "info")
