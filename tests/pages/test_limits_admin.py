"""The administrator's Limits section in the sidebar (issue 19 point 5), driven with AppTest as a signed-in account."""

from __future__ import annotations

import storage
from studio import accounts
from tests.apptest import PASSWORD, signed_in, texts


def test_an_administrator_sets_an_accounts_limits_and_sees_them_in_force(accounts_on, store):
    accounts.create_user(store, "root", PASSWORD, admin=True)
    accounts.create_user(store, "bob", PASSWORD)
    at = signed_in("root")
    assert not at.exception
    assert ("<ul><li><b>bob</b> · jobs 0 of 3 · files 0 bytes (no limit)</li>"
            "<li><b>root</b> · jobs 0 of 3 · files 0 bytes (no limit)</li></ul>"
            in [m.value for m in at.sidebar.markdown])
    at.sidebar.selectbox(key="limits_account").select("bob")
    at.sidebar.text_input(key="limits_jobs").input("2")
    at.sidebar.text_input(key="limits_storage").input("2GB")
    at.sidebar.button(key="limits_set").click().run()
    assert not at.exception and not at.error
    assert "bob: jobs queued or running: 0 of at most 2; files: 0 bytes of at most 2 GB." in texts(at, "success")
    bob = storage.get_user_by_name(store, "bob")
    assert (bob.max_jobs, bob.max_storage_bytes) == (2, 2 * 10**9)
    listed = "<ul><li><b>bob</b> · jobs 0 of 2* · files 0 bytes of 2 GB*</li>"
    assert any(m.value.startswith(listed) for m in at.sidebar.markdown)

    at.sidebar.text_input(key="limits_jobs").input("default")
    at.sidebar.text_input(key="limits_storage").input("lots")
    at.sidebar.button(key="limits_set").click().run()
    assert texts(at, "error") == ("Storage: 'lots' is not a size: give bytes or a number with kB, MB, GB or TB, "
                                  "e.g. 2GB")
    assert storage.get_user_by_name(store, "bob").max_jobs == 2  # nothing changed


def test_an_account_that_is_not_an_administrator_has_no_limits_section(accounts_on, store):
    accounts.create_user(store, "bob", PASSWORD)
    at = signed_in("bob")
    assert not at.exception
    assert "limits_set" not in [b.key for b in at.sidebar.button]
    assert not any("· jobs" in m.value for m in at.sidebar.markdown)
