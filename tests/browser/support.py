"""Helpers for the browser tests: axe-core, keyboard navigation, database reads."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

CALENDAR = "/offices/amt/services/pass/"
MANAGE_URL = re.compile(r"/manage/(?P<code>[A-Z0-9]{8})/(?P<token>[\w-]+)(\?new=1)?$")


# ---------------------------------------------------------------- axe-core


def run_axe(page) -> dict[str, list[dict]]:
    """axe-core's results for WCAG 2.0/2.1 A and AA on the current page: ``violations``
    and ``incomplete`` (what axe could not decide and a person would have to review).

    The script is injected inline, so the page's context must be opened with
    ``bypass_csp=True``."""
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            const brief = (list) => list.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({
                    target: n.target.join(" "),
                    summary: n.failureSummary
                        || n.any.concat(n.all, n.none).map(c => c.message).join("; "),
                })),
            }));
            return {violations: brief(result.violations), incomplete: brief(result.incomplete)};
        }""",
        WCAG_TAGS,
    )


def format_violations(where: str, violations: list[dict], kind: str = "violation") -> str:
    lines = [f"axe-core found {len(violations)} {kind}(s) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}: {node['summary']}".replace("\n", " "))
    return "\n".join(lines)


def assert_accessible(page, label: str = "") -> None:
    """No axe-core violations, and nothing axe left for manual review either (the pages are
    simple enough for axe to decide everything; a new 'incomplete' deserves a look)."""
    result = run_axe(page)
    where = f"{page.url} [{label}]" if label else page.url
    assert result["violations"] == [], format_violations(where, result["violations"])
    assert result["incomplete"] == [], format_violations(where, result["incomplete"],
                                                         "undecided result")


# ---------------------------------------------------------------- page state


def html_lang(page) -> str:
    return page.evaluate("() => document.documentElement.lang")


def switch_language(page, language: str) -> None:
    """Follow the language switch in the page header (mouse is fine outside keyboard tests)."""
    page.locator(f"#language-switch a[hreflang={language}]").click()
    # (between the two documents there is none: documentElement may be null for a moment)
    page.wait_for_function("(lang) => document.documentElement?.lang === lang", arg=language)
    page.wait_for_load_state()


def real_console_errors(page) -> list[str]:
    """Console errors except the browser's note on 4xx pages we asked for (404, 422)."""
    return [text for text in page.console_errors
            if not re.match(r"Failed to load resource: the server responded with a status of 4",
                            text)]


def wait_for_focus(page, element_id: str) -> None:
    page.wait_for_function("(id) => document.activeElement && document.activeElement.id === id",
                           arg=element_id)


# ---------------------------------------------------------------- staff


LOGIN_BUTTON = "main form[action^='/login'] button[type=submit]"


def log_in(page, address: str, password: str = PASSWORD) -> None:
    """Log in through the login form; lands on the overview."""
    page.goto("/login")
    page.fill("#email", address)
    page.fill("#password", password)
    page.locator(LOGIN_BUTTON).click()
    page.wait_for_url(re.compile(r"/staff/$"))


# ---------------------------------------------------------------- keyboard


FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(), id: el.id, type: el.type || "",
        href: el.getAttribute("href") || "", text: (el.innerText || el.value || "").trim(),
        checked: !!el.checked, focusVisible: el.matches(":focus-visible"),
        outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth,
        boxShadow: style.boxShadow,
    };
}"""


def focused(page) -> dict | None:
    """What has keyboard focus, and how it is drawn."""
    return page.evaluate(FOCUSED)


def tab_until(page, predicate: str, *, max_presses: int = 80, backwards: bool = False) -> dict:
    """Press Tab (or Shift+Tab) until ``predicate`` holds, a JavaScript expression about the
    focused element ``el`` (e.g. ``"el.id === 'email'"``); returns ``focused(page)``.
    Fails after ``max_presses``."""
    key = "Shift+Tab" if backwards else "Tab"
    check = f"() => {{ const el = document.activeElement; return !!el && !!({predicate}); }}"
    seen = []
    for _ in range(max_presses):
        page.keyboard.press(key)
        if page.evaluate(check):
            return focused(page)
        now = focused(page)
        seen.append(now and (now["tag"], now["id"] or now["href"] or now["text"][:30]))
    raise AssertionError(f"no focused element matched {predicate} after {max_presses} "
                         f"× {key}; focus went through {seen}")


def assert_focus_visible(info: dict) -> None:
    """The focused control shows a focus indicator (an outline, as drawn by app.css)."""
    assert info is not None, "nothing has focus"
    assert info["focusVisible"], f"{info} does not match :focus-visible"
    assert info["outlineStyle"] != "none" and info["outlineWidth"] not in ("0px", ""), (
        f"no visible focus outline on {info}")


# ---------------------------------------------------------------- database


def appointments(ctx) -> list:
    """All appointments as (code, status, start_at), read in a fresh, short transaction."""
    from booking.scheduling.models import Appointment

    ctx.rollback()
    rows = [(a.code, a.status, a.start_at)
            for a in ctx.scalars(select(Appointment).order_by(Appointment.id))]
    ctx.rollback()
    return rows


# ---------------------------------------------------------------- pages checked by axe


def visit(page, path: str, status: int = 200, label: str = "") -> None:
    response = page.goto(path)
    assert response.status == status, f"{path}: {response.status}"
    check(page, label)


def check(page, label: str = "") -> None:
    assert page.locator("h1").count() == 1, page.url
    assert_accessible(page, label)


def post_and_check(page, button, status: int, label: str) -> None:
    """Click a submit button, wait for the page it loads (with ``status``), run axe."""
    with page.expect_navigation() as navigation:
        button.click()
    assert navigation.value.status == status, f"{label}: {navigation.value.status}"
    check(page, label)


def main_button(page, form_action: str, value: str | None = None):
    """The submit button of the form in <main> posting to a URL ending in ``form_action``."""
    selector = f"main form[method=post][action$='{form_action}'] button[type=submit]"
    if value:
        selector += f"[value={value}]"
    return page.locator(selector)
