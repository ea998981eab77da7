"""Ways to drive a Streamlit page the way a user does, and to wait for it without fixed sleeps.

Streamlit marks its root ``[data-testid="stApp"]`` with ``data-test-script-state`` (``running``,
``notRunning``, ...) and ``data-test-connection-state``; :func:`wait_for_app` waits on those.

An action's rerun may start late on a busy machine, or be over before anyone looks. So the helpers that
act (click, upload, choose, navigate) first arm an observer in the page that counts every start of a run,
then wait until one has started (however briefly) and the app is idle again: no window to miss.
"""

from __future__ import annotations

import re
from contextlib import suppress
from pathlib import Path

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

SHOTS = Path("/work/shots")  # screenshots for a person to look at, when that folder can be made
VIEWPORT = {"width": 1280, "height": 800}
RERUN_TIMEOUT_MS = 120_000
RUN_START_TIMEOUT_MS = 15_000  # an action whose rerun has not started by then is taken as one without a rerun

APP = '[data-testid="stApp"]'
IDLE = f'{APP}[data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
RUNNING = f'{APP}[data-test-script-state="running"], {APP}[data-test-script-state="rerunRequested"]'
ALERT = '[data-testid="stAlert"]'
ERROR = '[data-testid="stAlertContentError"]'
EXCEPTION = '[data-testid="stException"]'
TABLE = '[data-testid="stDataFrame"], [data-testid="stTable"]'
PLOT = '[data-testid="stPlotlyChart"], .js-plotly-plot'


def key(name: str) -> str:
    """The container Streamlit renders for a widget created with ``key=name``."""
    return f".st-key-{name}"


_ARM = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__studioRunStarts = 0;
    if (window.__studioObserver) window.__studioObserver.disconnect();
    if (!app) return;
    window.__studioObserver = new MutationObserver(() => {
        const state = app.getAttribute('data-test-script-state');
        if (state === 'running' || state === 'rerunRequested') window.__studioRunStarts += 1;
    });
    window.__studioObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def arm(page: Page) -> None:
    """Start counting script runs; call it just before an action, then :func:`wait_for_app` with ``armed``."""
    page.evaluate(_ARM)


def wait_for_app(page: Page, timeout_ms: int = RERUN_TIMEOUT_MS, *, armed: bool = False) -> None:
    """Wait until Streamlit has finished the script run a click or upload started.

    ``armed`` (after :func:`arm`): wait until a run has started since, then until the app is idle. Otherwise
    give a run a short chance to begin (page loads, where no observer can be armed first). Fragments that
    refresh on a timer make the state flicker; callers waiting for such a region wait for its content.
    """
    with suppress(PlaywrightTimeoutError):  # no run at all is possible too: the app is then already idle
        if armed:
            page.wait_for_function("() => (window.__studioRunStarts || 0) > 0", timeout=RUN_START_TIMEOUT_MS)
        else:
            page.wait_for_selector(RUNNING, state="attached", timeout=1_000)
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


def goto_page(page: Page, title: str) -> None:
    """Open a page through its link in the sidebar navigation, as a user does."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    arm(page)
    nav.get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(re.compile(rf"/{title.lower()}(\?.*)?$"))  # the app keeps ids in the query string
    wait_for_app(page, armed=True)


def no_exception(page: Page) -> None:
    """Fail with the traceback text if the page shows an uncaught exception."""
    exceptions = page.locator(EXCEPTION)
    assert exceptions.count() == 0, "page shows an exception:\n" + "\n".join(exceptions.all_inner_texts())


def alerts_text(page: Page) -> str:
    """All alert texts on the page, for assertion messages."""
    return " | ".join(page.locator(ALERT).all_inner_texts())


def click_button(page: Page, widget_key: str) -> None:
    """Click the button inside the container of ``widget_key`` and wait for the rerun."""
    arm(page)
    page.locator(key(widget_key)).locator("button").first.click()
    wait_for_app(page, armed=True)


def sign_in(page: Page, name: str, password: str) -> None:
    """Fill the sign-in form (PIPELINE_STUDIO_AUTH=accounts) and wait for the run the button starts."""
    page.locator(key("signin_name")).locator("input").fill(name)
    page.locator(key("signin_password")).locator("input").fill(password)
    arm(page)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page, armed=True)


def upload(page: Page, widget_key: str, path) -> None:
    """Give a file to the uploader ``widget_key`` and wait for the rerun it triggers."""
    arm(page)
    page.locator(key(widget_key)).locator('input[type="file"]').set_input_files(str(path))
    wait_for_app(page, armed=True)


def select_option(page: Page, widget_key: str, option: str) -> None:
    """Choose ``option`` in the selectbox ``widget_key`` (open its combobox, click the option).

    Pickers may show a column with its type ("diagnosis · categorical"), so the option is matched by its name
    alone or its name followed by " · ".
    """
    page.locator(key(widget_key)).get_by_role("combobox").click()
    arm(page)
    escaped = re.escape(option).replace("/", "\\/")  # Playwright hands the pattern to JavaScript, where "/" needs it
    name = re.compile(rf"^{escaped}( · .*)?$")
    page.get_by_role("listbox").get_by_role("option", name=name).click()
    wait_for_app(page, armed=True)


def keep_only(page: Page, widget_key: str, labels: tuple[str, ...]) -> None:
    """Leave exactly ``labels`` chosen in a multiselect (no rerun: it sits in a form)."""
    box = page.locator(key(widget_key))
    tags = box.locator("[data-tag]")
    for text in tags.all_inner_texts():
        if text.strip() not in labels:
            box.get_by_role("button", name=f"Remove {text.strip()}", exact=True).click()
    for label in labels:
        for _ in range(5):  # on a busy machine a click can land while the dropdown still renders, and be lost
            if label in {t.strip() for t in tags.all_inner_texts()}:
                break
            box.get_by_role("combobox").click()
            page.get_by_role("listbox").get_by_role("option", name=label, exact=True).click()
            page.keyboard.press("Escape")
            with suppress(AssertionError):
                expect(tags.get_by_text(label, exact=True)).to_have_count(1, timeout=5_000)
    expect(tags).to_have_text(list(labels))


def shot(page: Page, name: str) -> None:
    """Save the page at 1280×800 as ``/work/shots/<name>.png``; nothing when the folder cannot be made."""
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    page.set_viewport_size(VIEWPORT)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_train(page: Page, url: str, csv: Path, target: str) -> None:
    """The app at ``url`` with ``csv`` uploaded and ``target`` chosen on Features, showing Train."""
    page.goto(url)
    wait_for_app(page)
    upload(page, "data_upload", csv)
    expect(page.get_by_text(f"Loaded {csv.name}.")).to_be_visible()
    goto_page(page, "Features")
    select_option(page, "features_target", target)
    goto_page(page, "Train")
