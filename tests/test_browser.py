"""The shifter's whole path in a real browser: Playwright driving Debian's Chromium.

The comparison runs in the test thread rather than in a django-q worker: the
start view's queue call is replaced by a no-op, and the test runs the
comparison while the status page in the browser polls the API. Screenshots
of the pages are written to test-artifacts/screenshots/ in the repository.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from comparisons.models import Annotation, Comparison, RunQuality
from comparisons.tasks import run_comparison
from tests.conftest import REPO
from tests.ui_site import DATASET, csc_configs, demo_folder, ui_site  # noqa: F401 - fixtures

# Playwright's sync API runs an asyncio event loop in the test thread, and
# Django then raises SynchronousOnlyOperation for every ORM call the test
# makes. Those calls are plain synchronous code, so they are allowed.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(ui_site, live_server, monkeypatch):
    """The demo site served by the live server, with queued comparisons recorded instead of sent to django-q."""
    queued = []
    monkeypatch.setattr("comparisons.views.queue_comparison", lambda comparison: queued.append(comparison.pk))
    get_user_model().objects.create_user("shifter", password=PASSWORD)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return live_server.url, queued


@pytest.fixture
def pages(browser):
    """Open browser pages in fresh contexts (no shared cookies); close them after the test."""
    contexts = []

    def new_page(viewport=WIDE):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.script_errors = errors
        return page

    yield new_page
    for context in contexts:
        # Let requests in flight finish while the test database is still open.
        for page in context.pages:
            page.wait_for_load_state("networkidle")
        context.close()


def shoot(page, name, full_page=False):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def assert_fits_width(page):
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is wider than the window: {width[0]} > {width[1]} px"


def log_in(page, base):
    page.goto(f"{base}/")
    page.get_by_role("link", name="Log in").click()
    page.fill("#id_username", "shifter")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector(".topbar .user:has-text('shifter')")


def choose_runs(page):
    """Fill the form: CSC, data run 355200 found by typing, the suggested references, one re-added by search."""
    page.get_by_role("link", name="New comparison").first.click()
    page.select_option("#id_subsystem", "CSC")
    page.click("#id_data_run")
    page.keyboard.type("3552")
    page.click("#data-run-options [data-run='355200']")
    assert page.input_value("#id_data_dataset") == DATASET
    page.click("#use-suggestions")
    assert chips(page) == ["355102", "355101", "355100"]

    page.get_by_role("button", name="Remove reference run 355100").click()
    assert chips(page) == ["355102", "355101"]
    page.click("#ref-search")
    page.keyboard.type("35510")
    # 355101 and 355102 are chosen already, so they are not offered again.
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#ref-run-options [role=option]'), node => node.dataset.run).join() === '355100'"
    )
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert chips(page) == ["355102", "355101", "355100"]


def chips(page):
    return page.locator("#ref-chips .chip").evaluate_all("nodes => nodes.map(node => node.dataset.run)")


def check_preview(page):
    page.get_by_role("button", name="Preview the input").click()
    page.wait_for_selector("text=Check the input: CSC run 355200")
    summary = page.inner_text("#preview-summary")
    assert "44 histograms from 18 rules" in summary
    assert "0 rules matching nothing in the data" in summary
    body = page.inner_text("main")
    assert "DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root" in body
    assert "DQM_V0001_R000355100__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root" in body
    assert "36 × 20" in body


def follow_status(page, queued):
    """Start the comparison and watch its status page go from queued through running to done."""
    page.get_by_role("button", name="Start the comparison").click()
    page.wait_for_selector("#status-word.queued")
    comparison = Comparison.objects.get()
    assert queued == [comparison.pk]
    shoot(page, "status-queued")

    def progress(done, total, path):
        if done == total // 2:
            Comparison.objects.filter(pk=comparison.pk).update(progress_done=done, progress_total=total)
            page.wait_for_function(f"document.getElementById('count').textContent.startsWith('{done} / {total}')")
            assert page.text_content("#status-word") == "running"
            shoot(page, "status-running")

    assert run_comparison(comparison.pk, progress=progress) == Comparison.DONE
    page.wait_for_selector("#status-word.done")
    assert "3 outliers" in page.inner_text("#done-box")
    shoot(page, "status-done")
    return comparison


def tile(page, histogram):
    return page.locator(f"#grid .tile[data-name='{histogram.lower()}']")


def wait_for_thumbnails(page):
    """Wait until the thumbnails in view are drawn, so that no drawing outlives the test."""
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('#grid .tile:not([hidden]) img'))
             .filter(img => { const box = img.getBoundingClientRect(); return box.top < innerHeight && box.bottom > 0; })
             .every(img => img.complete)"""
    )


def visible_names(page):
    return page.locator("#grid .tile:not([hidden]) .folder").all_inner_texts()


def use_toolbar(page):
    """Filter, search and sort in place: the page must not reload."""
    page.evaluate("window.stayedOnPage = true")
    assert sorted(visible_names(page)) == ["Occupancy/hOWires", "Segments/hSTimeCombined", "recHits/hRHGlobalp2"]
    page.click("label[data-filter=all]")
    assert len(visible_names(page)) == 44
    wait_for_thumbnails(page)
    page.fill("#search", "stime")
    names = visible_names(page)
    assert "Segments/hSTimeCombined" in names
    assert all("stime" in name.lower() for name in names)
    page.fill("#search", "")
    page.click("label[data-filter=outliers]")
    page.select_option("#sort", "max_pull")
    assert visible_names(page) == ["Segments/hSTimeCombined", "Occupancy/hOWires", "recHits/hRHGlobalp2"]
    page.select_option("#sort", "chi2")
    assert visible_names(page) == ["Segments/hSTimeCombined", "Occupancy/hOWires", "recHits/hRHGlobalp2"]
    assert page.locator("#comparator option").all_inner_texts() == ["beta_binomial"]
    assert "filter=outliers" in page.url
    assert page.evaluate("window.stayedOnPage") is True


def open_histogram(page):
    """Open one outlier large, read its text summary, and step with the keyboard."""
    tile(page, "Segments/hSTimeCombined").locator("a.open").click()
    text = page.locator("#result-text")
    text.wait_for()
    assert "histogram: Segments/hSTimeCombined" in text.inner_text()
    assert "verdict: OUTLIER" in text.inner_text()
    panel = page.locator("#panel")
    for kind in ("PNG", "PDF", "TXT"):
        assert panel.get_by_role("link", name=kind, exact=True).get_attribute("href").endswith(f".{kind.lower()}")
    assert page.evaluate("window.stayedOnPage") is True
    shoot(page, "report-histogram")

    page.locator("body").press("ArrowRight")
    page.wait_for_selector("#result-text:has-text('histogram: Occupancy/hOWires')")
    page.locator("body").press("ArrowLeft")
    page.wait_for_selector("#result-text:has-text('histogram: Segments/hSTimeCombined')")
    assert re.search(r"[?&]h=\d+", page.url)


def annotate(page):
    panel = page.locator("#panel")
    panel.get_by_label("problem").check()
    panel.locator("textarea").fill("segment times late by 4 ns")
    panel.get_by_role("button", name="Save the annotation").click()
    page.wait_for_selector("#annotation-history:has-text('segment times late by 4 ns')")
    assert "by shifter" in page.inner_text("#annotation-history")

    panel = page.locator("#panel")
    panel.get_by_label("known issue").check()
    panel.locator("textarea").fill("timing constant of ME+2/1, fixed from run 355210")
    panel.get_by_role("button", name="Change the annotation").click()
    page.wait_for_selector("#annotation-history:has-text('fixed from run 355210')")
    assert "(replaced)" in page.inner_text("#annotation-history")
    badge = tile(page, "Segments/hSTimeCombined").locator(".annotation-badge")
    assert badge.inner_text().lower() == "known issue · shifter"
    assert page.inner_text("label[data-filter=annotated] .count") == "1"
    assert page.evaluate("window.stayedOnPage") is True


def mark_run(page):
    page.locator("#run-quality summary").click()
    page.fill("#quality-comment", "timing problem in ME+2/1")
    page.get_by_role("button", name="Mark run 355200 bad").click()
    page.wait_for_selector("#run-quality .badge.bad")


def check_permalink(page, permalink):
    """Check that a fresh browser context, not logged in, shows the same report and the annotation."""
    page.goto(permalink)
    assert page.inner_text("h1") == "CSC · run 355200 vs 355102, 355101, 355100"
    assert "Config version 1" in page.inner_text(".report-head .meta")
    assert "Report version 1 of 1" in page.inner_text(".report-head .meta")
    assert sorted(visible_names(page)) == ["Occupancy/hOWires", "Segments/hSTimeCombined", "recHits/hRHGlobalp2"]
    badge = tile(page, "Segments/hSTimeCombined").locator(".annotation-badge")
    assert badge.inner_text().lower() == "known issue · shifter"
    assert "marked bad" in page.inner_text("#run-quality").lower()
    page.click("label[data-filter=annotated]")
    assert visible_names(page) == ["Segments/hSTimeCombined"]
    page.click("#grid .tile:not([hidden]) a.open")
    history = page.locator("#annotation-history")
    history.wait_for()
    assert "fixed from run 355210" in history.inner_text()
    assert "segment times late by 4 ns" in history.inner_text()
    assert "by shifter" in history.inner_text()
    assert page.locator("#panel").get_by_role("link", name="Log in").count() == 1
    shoot(page, "report-permalink-anonymous")


def check_phone(page, permalink, comparison, base):
    page.goto(permalink)
    assert_fits_width(page)
    shoot(page, "report-phone")
    tile(page, "Occupancy/hOWires").locator("a.open").click()
    page.locator("#result-text").wait_for()
    assert_fits_width(page)
    shoot(page, "report-histogram-phone")
    page.goto(f"{base}/comparisons/{comparison.pk}/")
    assert_fits_width(page)
    shoot(page, "status-phone", full_page=True)
    for path in ("/", "/comparisons/new/"):
        page.goto(base + path)
        assert_fits_width(page)
    shoot(page, "new-comparison-phone", full_page=True)


def test_shifter_path(site, pages):
    base, queued = site
    page = pages()
    log_in(page, base)
    choose_runs(page)
    shoot(page, "new-comparison", full_page=True)
    check_preview(page)
    shoot(page, "preview")
    comparison = follow_status(page, queued)

    page.get_by_role("link", name="Open the report").click()
    page.wait_for_selector("#grid")
    use_toolbar(page)
    shoot(page, "report")
    open_histogram(page)
    annotate(page)
    permalink = page.input_value("#permalink")
    assert permalink.endswith("/compare/CSC/ZeroBias/Run2022C-PromptReco-v1/355200/vs/"
                              "ZeroBias/Run2022C-PromptReco-v1/355102_355101_355100/?version=1")
    mark_run(page)
    assert Annotation.objects.count() == 2
    assert RunQuality.objects.get().verdict == "bad"

    check_permalink(pages(), permalink)
    check_phone(pages(PHONE), permalink, comparison, base)
    assert page.script_errors == []


def test_bad_form_gets_message(site, pages):
    base, queued = site
    page = pages()
    log_in(page, base)
    page.goto(f"{base}/comparisons/new/")
    page.select_option("#id_subsystem", "CSC")
    page.fill("#id_data_run", "355200")

    page.get_by_role("button", name="Preview the input").click()
    assert "choose at least one reference run" in page.inner_text("#form-errors")

    page.click("#ref-search")
    page.keyboard.type("355200")
    page.keyboard.press("Enter")
    assert "Run 355200 is the data run" in page.inner_text("#ref-note")
    assert chips(page) == []

    page.fill("#ref-search", "")
    page.click("#ref-search")
    page.keyboard.type("123")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    assert chips(page) == ["123"]
    page.get_by_role("button", name="Preview the input").click()
    assert "unknown reference run 123" in page.inner_text("#form-errors")

    page.fill("#id_data_run", "999999")
    page.get_by_role("button", name="Preview the input").click()
    assert "unknown data run 999999" in page.inner_text("#form-errors")
    shoot(page, "new-comparison-error")
    assert Comparison.objects.count() == 0
    assert queued == []
    assert page.script_errors == []
