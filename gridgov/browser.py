"""Helpers for browser tests (Playwright pages): log in, run axe-core, take screenshots."""

from pathlib import Path

from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR).parent / "docs" / "screenshots"


def login(page, username, password="a-long-test-password-1", next_url="/"):
    page.goto(f"/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def axe_violations(page, impacts=("serious", "critical")):
    """axe-core's violations of the given impacts on the current page (WCAG 2 A/AA rules)."""
    # loaded from our own static files, as the content security policy allows
    page.add_script_tag(url="/static/vendor/axe/axe.min.js")
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def screenshot(page, name, full_page=False):
    """Keep a screenshot in docs/screenshots/NAME.png (shown in the README) when
    GRIDGOV_SCREENSHOTS=1 (`make screenshots`), so ordinary test runs leave the tree clean."""
    import os

    if os.environ.get("GRIDGOV_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
