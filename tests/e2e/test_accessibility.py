"""The accessibility budget on every public patient page, in Debian's Chromium: axe-core
(WCAG 2.0/2.1 A and AA, 2.2 AA) finds nothing serious or critical, and the probes pass:
44 px targets, the mode's smallest text, line height, reflow at 320 px, 200 % zoom,
text spacing. In both languages and in each text size."""

import contextlib

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Browser

from tests.e2e import a11y
from tests.e2e.test_home_browser import seed_clinic

pytestmark = [pytest.mark.browser, pytest.mark.axe, pytest.mark.django_db(transaction=True)]


def public_pages() -> list[str]:
    """The public patient pages; the red-flag check too once it exists."""
    pages = [
        reverse("home"),
        reverse("browse"),
        reverse("browse-department", args=["ophthalmology"]),
        reverse("browse-department", args=["cataract"]),
        reverse("status"),
    ]
    with contextlib.suppress(NoReverseMatch):
        pages.append(reverse("booking:start"))
    return pages


new_page = a11y.new_page


@pytest.mark.parametrize("text_size", ["normal", "large", "xlarge"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_public_page_meets_the_budget(live_server, browser: Browser, language, text_size):
    seed_clinic()
    context, page = new_page(browser, live_server, language=language, text_size=text_size)
    try:
        for path in public_pages():
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(live_server.url + path)
            assert page.locator("html").get_attribute("lang") == language
            assert page.locator("html").get_attribute("class") == f"text-{text_size}"
            a11y.assert_accessible(page, text_size=text_size)
    finally:
        context.close()


def test_pages_reflow_at_200_percent_zoom_on_a_high_density_screen(live_server, browser):
    # 200 % zoom of a 1280 px window: 640 CSS px laid out at two device pixels each
    seed_clinic()
    context, page = new_page(
        browser,
        live_server,
        language="zh-hans",
        text_size="normal",
        device_scale_factor=2,
    )
    try:
        page.set_viewport_size({"width": 640, "height": 450})
        for path in public_pages():
            page.goto(live_server.url + path)
            assert a11y.horizontal_overflow(page) == [], path
            assert a11y.small_targets(page) == [], path
    finally:
        context.close()


def test_the_probes_catch_what_they_look_for(live_server, browser):
    # given a page that breaks each rule
    context, page = new_page(browser, live_server, language="en", text_size="normal")
    try:
        page.set_content(
            """<html lang="en"><body style="font-size:14px;line-height:1.2">
              <a href="#x" style="font-size:12px">tiny</a>
              <div style="width:500px">wide</div>
              <p style="height:17px;overflow:hidden">clipped text that grows with spacing
              clipped text that grows with spacing clipped text</p>
              <img src="data:," alt="">
              <button style="color:#777;background:#888"></button>
              <p style="color:#767676;background:#fff">grey body text: 4.5:1, not 7:1</p>
            </body></html>"""
        )

        # then each probe reports it
        assert a11y.small_targets(page)
        assert a11y.small_text(page, minimum=18)
        assert a11y.body_line_height(page) < 1.5
        assert a11y.reflow_at(page)
        assert {v["id"] for v in a11y.axe_violations(page)} >= {"button-name"}
        assert a11y.low_contrast_text(page)
        page.set_viewport_size({"width": 1280, "height": 900})
        assert a11y.clipped_by_text_spacing(page)
    finally:
        context.close()
