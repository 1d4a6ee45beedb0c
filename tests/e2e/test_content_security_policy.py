"""In a real browser the Content-Security-Policy blocks nothing the pages need: no page of
the staff, owner or audit journeys reports a violation, and the scripts still work."""

from __future__ import annotations

from django.urls import reverse

from tests.e2e.conftest import authenticator

VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


def _sign_in_anywhere(page, username: str) -> None:
    """Signed in, wherever the role lands."""
    code = authenticator(username)  # the authenticator app exists before the first sign-in
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct-horse-battery-9")
    page.click("button[type=submit]")
    if code is not None:
        page.wait_for_url("**/accounts/otp/**")
        page.fill("#id_token", code())
        with page.expect_navigation():
            page.click("button[type=submit]")
    assert "/accounts/" not in page.url


def _visit(page, urls: list[str]) -> list[str]:
    found = []
    console = []
    page.on("console", lambda message: console.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("load")
        found += [f"{url}: {v}" for v in page.evaluate("window.__cspViolations || []")]
    return found + console


def test_no_page_an_owner_opens_breaks_the_policy(page, owner, stylist, client_record):
    page.add_init_script(VIOLATIONS)
    _sign_in_anywhere(page, "owner")
    urls = [reverse("records:client_list"),
            reverse("records:client_detail", args=[client_record.pk]),
            reverse("records:client_edit", args=[client_record.pk]),
            reverse("access:dashboard"), reverse("access:staff_list"),
            reverse("access:staff_detail", args=[stylist.pk]), reverse("access:policies"),
            reverse("audit:events"), reverse("audit:charts"), reverse("audit:alerts"),
            reverse("audit:subject_report")]
    assert _visit(page, urls) == []


def test_the_scripts_run_under_the_policy(page, sign_in, stylist, client_record):
    page.add_init_script(VIOLATIONS)
    sign_in("stylist")
    # The language list submits itself on change (static/js, not an inline handler).
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("h1").inner_text() == "Clients"
    assert page.evaluate("window.__cspViolations") == []


def test_an_injected_inline_script_does_not_run(page, sign_in, stylist, client_record):
    """What the policy is for: markup that slipped into a page cannot run script."""
    page.add_init_script(VIOLATIONS)
    sign_in("stylist")
    page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.body.appendChild(script);
      const img = document.createElement("img");
      img.setAttribute("onerror", "window.__handler = true");
      img.src = "/no-such-image.png";
      document.body.appendChild(img);
    }""")
    page.wait_for_function("window.__cspViolations.length >= 2")
    assert page.evaluate("window.__injected === undefined && window.__handler === undefined")
    directives = " ".join(page.evaluate("window.__cspViolations"))
    assert "script-src" in directives
