"""Accessibility checks for any patient page, in Playwright: axe-core and the probes of
the accessibility budget (docs: README "Accessibility"). Reuse them on new pages:

    from tests.e2e import a11y
    a11y.assert_no_axe_violations(page)      # axe: wcag2a/aa, 2.1 a/aa, 2.2 aa
    a11y.assert_accessible(page)             # axe and every probe below, in one call

Each probe returns what failed (an empty list when it passes), so a test can print it.
"""

from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = ("serious", "critical")
MIN_TARGET = 44  # px, WCAG 2.5.5 (AAA), the Chinese elderly-friendly rules
# The smallest text of each text-size mode (css/site.css).
MIN_FONT = {"normal": 18, "large": 24, "xlarge": 30}

TEXT_SIZE_COOKIE = "text_size"


def new_page(
    browser,
    live_server,
    *,
    language: str = "zh-hans",
    text_size: str = "normal",
    width: int = 1280,
    height: int = 900,
    **options,
):
    """A fresh browser context on the live server, in `language` and `text_size` (their
    cookies), at `width` x `height`; returns (context, page): close the context after."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [
            {"name": "django_language", "value": language, "domain": host, "path": "/"},
            {"name": TEXT_SIZE_COOKIE, "value": text_size, "domain": host, "path": "/"},
        ]
    )
    return context, context.new_page()


def axe_missing() -> str | None:
    """Why axe cannot run here, or None (tests/conftest.py skips or fails on it)."""
    if not AXE.is_file():
        return f"needs axe-core at {AXE.relative_to(ROOT)}: run `npm ci` at the repository root"
    return None


def load_axe(page: Page) -> None:
    """Through the DevTools protocol, not a <script> tag: the site's Content-Security-Policy
    (script-src 'self') refuses an injected inline script, and must stay on in these tests."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")


def axe_violations(page: Page, *, impacts=BLOCKING_IMPACTS) -> list[dict]:
    """axe-core's violations of `impacts` on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        load_axe(page)
    result = page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        AXE_TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def low_contrast_text(page: Page) -> list[str]:
    """Body text at 7:1 or more (large text 4.5:1): axe's `color-contrast-enhanced`
    (WCAG 1.4.6, AAA), which the budget asks for, beyond AA's 4.5:1."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        load_axe(page)
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: "rule", values: ["color-contrast-enhanced"]},
            resultTypes: ["violations"],
        })"""
    )
    return [
        f"{node['target']}: {node['failureSummary'][:160]}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ][:10]


def assert_no_axe_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


def horizontal_overflow(page: Page) -> list[str]:
    """[] when nothing scrolls sideways; else the widest elements past the right edge."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            return [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .slice(0, 10)
                .map(e => `${e.tagName.toLowerCase()}.${e.className} right=${
                    Math.round(e.getBoundingClientRect().right)} > ${width}`);
        }"""
    )


def reflow_at(page: Page, *, width: int = 320, height: int = 800) -> list[str]:
    """WCAG 1.4.10: at 320 CSS px wide nothing needs horizontal scrolling."""
    page.set_viewport_size({"width": width, "height": height})
    return horizontal_overflow(page)


def small_targets(page: Page, *, minimum: int = MIN_TARGET) -> list[str]:
    """Every visible link, button, summary and form field is at least 44 by 44 px (a radio
    button or checkbox: it or one of its labels)."""
    return page.evaluate(
        """(minimum) => [...document.querySelectorAll(
                "a[href], button, summary, input:not([type=hidden]), select, textarea")]
            .filter(e => {
                const style = getComputedStyle(e);
                return style.visibility !== "hidden" && style.display !== "none"
                    && e.getClientRects().length > 0 && !e.closest(".skip-link, [hidden]");
            })
            // A radio button or checkbox is tapped through its label too: the label
            // can be the 44 px target.
            .filter(e => !(e.matches("input[type=radio], input[type=checkbox]") &&
                [...(e.labels || [])].some(label => {
                    const r = label.getBoundingClientRect();
                    return r.width >= minimum - 0.5 && r.height >= minimum - 0.5;
                })))
            .flatMap(e => [...e.getClientRects()].map(r => [e, r]))
            .filter(([e, r]) => r.width < minimum - 0.5 || r.height < minimum - 0.5)
            .map(([e, r]) => `${e.tagName.toLowerCase()} "${
                (e.innerText || e.value || e.name || "").trim().slice(0, 30)}" ${
                Math.round(r.width)}x${Math.round(r.height)}`)""",
        minimum,
    )


def small_text(page: Page, *, minimum: float) -> list[str]:
    """Text shown smaller than `minimum` px (18 normal, 24 large, 30 extra large)."""
    return page.evaluate(
        """(minimum) => {
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const found = [];
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const parent = node.parentElement;
                if (!node.textContent.trim() || !parent || parent.closest("script, style, .skip-link"))
                    continue;
                if (!parent.getClientRects().length) continue;
                const size = parseFloat(getComputedStyle(parent).fontSize);
                if (size < minimum - 0.1)
                    found.push(`${parent.tagName.toLowerCase()}.${parent.className} ${size}px "${
                        node.textContent.trim().slice(0, 30)}"`);
            }
            return found.slice(0, 10);
        }""",
        minimum,
    )


def body_line_height(page: Page) -> float:
    """The body's line height as a multiple of its font size (budget: at least 1.5)."""
    return page.evaluate(
        """() => { const s = getComputedStyle(document.body);
                   return parseFloat(s.lineHeight) / parseFloat(s.fontSize); }"""
    )


# WCAG 1.4.12 Text Spacing: the user's style sheet a page must survive.
TEXT_SPACING_CSS = """
* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
    word-spacing: 0.16em !important; }
p { margin-bottom: 2em !important; }
"""


def clipped_by_text_spacing(page: Page) -> list[str]:
    """Elements whose text no longer fits (cut off by a fixed size and hidden overflow),
    and any horizontal overflow, after the WCAG 1.4.12 spacing is applied."""
    # A constructed style sheet, like a user's: an injected <style> would be refused by the
    # site's Content-Security-Policy (style-src 'self').
    page.evaluate(
        """(css) => { const sheet = new CSSStyleSheet(); sheet.replaceSync(css);
                      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }""",
        TEXT_SPACING_CSS,
    )
    clipped = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            // Text for screen readers only is clipped on purpose.
            .filter(e => !e.closest(".visually-hidden, .skip-link"))
            .filter(e => {
                const s = getComputedStyle(e);
                const hides = v => v === "hidden" || v === "clip";
                return e.getClientRects().length && (
                    (hides(s.overflowX) && e.scrollWidth > e.clientWidth + 1) ||
                    (hides(s.overflowY) && e.scrollHeight > e.clientHeight + 1));
            })
            .slice(0, 10)
            .map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""
    )
    return clipped + horizontal_overflow(page)


def zoom_200(page: Page, *, width: int = 1280, height: int = 900) -> list[str]:
    """200 % zoom of a 1280 px window: 640 CSS px at device scale 2 is what the browser
    lays out; set the viewport and report any horizontal overflow."""
    page.set_viewport_size({"width": width // 2, "height": height // 2})
    return horizontal_overflow(page)


def assert_accessible(page: Page, *, text_size: str = "normal") -> None:
    """axe, then the probes: 44 px targets, the mode's smallest text, line height, reflow
    at 320 px, 200 % zoom, text spacing. Leaves the page at 320 px with spacing applied:
    reload it before checking anything else."""
    assert_no_axe_violations(page)
    url = page.url
    failures = {
        "text under 7:1 contrast": low_contrast_text(page),
        "targets under 44 px": small_targets(page),
        "text under the mode's size": small_text(page, minimum=MIN_FONT[text_size]),
        "line height under 1.5": [] if body_line_height(page) >= 1.5 else ["body"],
        "overflow at 200 % zoom": zoom_200(page),
        "overflow at 320 px": reflow_at(page),
        "targets under 44 px at 320 px": small_targets(page),
        "clipped with text spacing": clipped_by_text_spacing(page),
    }
    failures = {probe: found for probe, found in failures.items() if found}
    assert failures == {}, f"{url}: {failures}"
