"""Phone and desktop: the staff, owner and auditor journeys at 390 px and at 1280 px.

On every page visited: nothing scrolls sideways and the header is one row. The client page
opens with the allergy banner; destructive actions ask first, and cancelling keeps the data.
Each journey runs in one language and checks its last page again in the other.

Set E2E_SCREENSHOTS to a folder to keep a full-page screenshot of every page checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from access import door
from access import services as access_services
from access.models import AccessReviewItem, Agreement, BreakGlass, Grant, Invitation
from audit import anomalies
from records import services as records_services

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - the test people's password
RECOVERY = "recovery-code-1"
PHONE, DESKTOP = 390, 1280
HEADER_ONE_ROW = 64  # px: one row of 44 px touch targets and its padding
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
OTHER = {"zh-hans": "en", "en": "zh-hans"}
REASON = "顾客到店要求当场染发，需要确认过敏史以免发生过敏反应"
LONG_EMAIL = "lina.zhang.appointments.and.receipts.2026@a-very-long-salon-domain-example.cn"


@dataclasses.dataclass
class Screen:
    page: object
    width: int
    language: str

    @property
    def phone(self) -> bool:
        return self.width == PHONE


@pytest.fixture
def screen(browser, live_server, request):
    width, language = request.param
    context = browser.new_context(base_url=live_server.url, locale=LOCALES[language],
                                  viewport={"width": width, "height": 844 if width == PHONE else 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Screen(page, width, language)
    context.close()


def journeys(*params):
    return pytest.mark.parametrize("screen", params, indirect=True,
                                   ids=[f"{width}px-{lang}" for width, lang in params])


@pytest.fixture
def second_factor():
    """An authenticator app and one recovery code for a person; returns the app's code."""

    def enrol(user):
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        static = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
        StaticToken.objects.create(device=static, token=RECOVERY)
        return lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"

    return enrol


def in_language(language: str, message: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def check(screen: Screen, name: str) -> None:
    """The page fits the screen's width and its header is one row."""
    page = screen.page
    page.wait_for_load_state()
    assert page.locator("header.topbar").count() == 1, f"{name}: {page.url} is {page.title()!r}"
    overflow = page.evaluate("""() => {
        const width = window.innerWidth;
        if (document.documentElement.scrollWidth <= width) return null;
        const wide = [...document.querySelectorAll('body *')].filter(
            el => el.getBoundingClientRect().right > width + 1 && !el.closest('.table-scroll'));
        return {scrollWidth: document.documentElement.scrollWidth,
                culprits: wide.slice(-5).map(el => el.outerHTML.slice(0, 120))};
    }""")
    assert overflow is None, f"{name} ({page.url}) scrolls sideways at {screen.width} px: {overflow}"
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] <= HEADER_ONE_ROW, f"{name}: header is {header['height']} px high"
    toggle = page.locator("#menu-toggle")
    if toggle.count() and toggle.get_attribute("aria-expanded") == "false":
        # A phone folds the navigation behind the menu button; a desktop shows it.
        assert toggle.is_visible() == screen.phone, name
        assert page.locator(".navlinks").is_visible() != screen.phone, name
    if folder := os.environ.get("E2E_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        shot = f"{screen.width}-{screen.language}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        page.screenshot(path=str(Path(folder) / shot), full_page=True)


def go(screen: Screen, link: str) -> None:
    """Follow a link of the main navigation, through the menu button on a phone."""
    page = screen.page
    if screen.phone:
        page.click("#menu-toggle")
        assert page.locator("#menu-toggle").get_attribute("aria-expanded") == "true"
    with page.expect_navigation():
        page.click(link)


def switch_language(screen: Screen) -> str:
    page = screen.page
    if screen.phone:
        page.click("#menu-toggle")
    language = OTHER[screen.language]
    with page.expect_navigation():
        page.select_option("select[name=language]", language)
    assert page.locator("html").get_attribute("lang") == language
    return language


def sign_in(screen: Screen, username: str, code=None) -> None:
    page = screen.page
    page.goto("/accounts/login/")
    check(screen, "sign in")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    if "/accounts/otp/" in page.url:
        check(screen, "two-factor check")
        page.fill("#id_token", code())
        with page.expect_navigation():
            page.click("main button[type=submit]")
    assert "/accounts/" not in page.url


def confirm_it_is_you(screen: Screen) -> None:
    """The re-authentication page: the password, and a recovery code when a code is asked."""
    page = screen.page
    check(screen, "confirm it is you")
    page.fill("#id_password", PASSWORD)
    if page.locator("#id_token").count():
        page.fill("#id_token", RECOVERY)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/accounts/reauth/" not in page.url


class Dialogs:
    """Answers every question the page asks (no, unless told yes) and keeps the questions."""

    def __init__(self, page):
        self.asked: list[str] = []
        self.accept = False
        page.on("dialog", self._answer)

    def _answer(self, dialog) -> None:
        self.asked.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


# -- the stylist ---------------------------------------------------------------------------
@pytest.fixture
def long_client(make_client, stylist):
    """A client whose record the stylist opens in full, with words that do not break."""
    client = make_client(full_name="张丽娜", phone="13812345678", email=LONG_EMAIL,
                         birthday=dt.date(1991, 3, 14), allergies="对PPD染发剂过敏",
                         contraindications="孕期，避免化学烫发", skin_type="混合性",
                         assigned_staff=stylist)
    records_services.treatment_add(actor=stylist, client=client, performed_on=timezone.localdate(),
                                   service="染发", products=["Wella Koleston 7/1"],
                                   colour_formula="7/1 + 8/0 1:1", price=388)
    return client


@journeys((PHONE, "zh-hans"), (DESKTOP, "en"), (PHONE, "en"))
def test_stylist_finds_a_client_and_sees_the_allergy_banner_first(screen, stylist, long_client,
                                                                  make_client, second_factor):
    not_hers = make_client(full_name="周敏", phone="13600001111", allergies="对乳胶过敏")
    page = screen.page
    sign_in(screen, "stylist", second_factor(stylist))
    page.goto("/clients/")
    check(screen, "client list")
    if screen.phone:
        page.click("#menu-toggle")
        assert page.locator(".navlinks a[href='/clients/']").is_visible()
        assert page.locator(".account form[action='/accounts/logout/'] button").is_visible()
        check(screen, "menu open")
        page.keyboard.press("Escape")
        assert not page.locator(".navlinks").is_visible()

    page.fill("input[name=q]", "张丽娜")
    with page.expect_navigation():
        page.click("form.search button")
    check(screen, "search results")
    # Each cell carries its column's title, which a phone shows on the client's card.
    phone_title = in_language(screen.language, "Phone")
    assert page.locator(f"table.clients td[data-label='{phone_title}']").inner_text() == "13812345678"
    with page.expect_navigation():
        page.click("main >> text=张丽娜")
    check(screen, "client")

    banner = page.locator("#allergy-banner")
    assert banner.is_visible()
    text = banner.inner_text()
    assert "对PPD染发剂过敏" in text and "孕期，避免化学烫发" in text
    assert in_language(screen.language, "Allergies") in text
    assert in_language(screen.language, "Contraindications") in text
    top = banner.bounding_box()
    first_card = page.locator("main .card").first.bounding_box()
    assert top["y"] + top["height"] <= first_card["y"], "the banner comes before the record"
    assert top["y"] + top["height"] <= page.viewport_size["height"], "seen without scrolling"
    assert LONG_EMAIL in page.inner_text("main")

    with page.expect_navigation():
        page.click(f"a[href='/clients/{long_client.pk}/edit/']")
    check(screen, "client edit")
    page.go_back()

    switch_language(screen)
    check(screen, "client, other language")
    assert page.locator("#allergy-banner").is_visible()

    # Another stylist's client: contact details only, no banner, until the glass is broken.
    page.goto(f"/clients/{not_hers.pk}/")
    check(screen, "client, contact only")
    assert page.locator("#allergy-banner").count() == 0
    with page.expect_navigation():
        page.click("#break-glass")
    if "/accounts/reauth/" in page.url:
        confirm_it_is_you(screen)
    check(screen, "break glass")


# -- the owner -----------------------------------------------------------------------------
@pytest.fixture
def owners_week(owner, stylist, long_client, make_client):
    """A manual grant to review, a break-glass awaiting the owner, an open access review."""
    other = make_client(full_name="周敏", phone="13600001111", allergies="对乳胶过敏")
    grant = access_services.grant_give(actor=owner, user=stylist, client=other)
    glass = access_services.break_glass_open(
        actor=stylist, client=make_client(full_name="陈静", phone="13700002222"), reason=REASON)
    review = access_services.access_review_open()
    return grant, glass, review, other


@pytest.fixture
def rights_pages(owner, owners_week):
    """A published privacy notice, a rights request to answer and a client's own page."""
    from audit import actions
    from records import notices
    from rights import links, requests

    other = owners_week[3]
    notices.publish(notices.save_draft(actor=owner, body_zh="本店如何使用您的信息。",
                                       body_en="How we use your data.",
                                       contact="privacy@salon.example"), actor=owner)
    with door.open_case_file(user=owner, subjects=[other.pk],
                             purpose=actions.HANDLE_RIGHTS_REQUEST,
                             action=actions.RIGHTS_REQUEST_OPEN):
        request = requests.open_request(client=other, kind="correction", channel="phone",
                                        details="电话号码错了", actor=owner)
    _, token = links.issue(other, actor=owner, language="zh-hans")
    return request, f"/c/{token}/"


@journeys((PHONE, "en"), (DESKTOP, "zh-hans"))
def test_owner_manages_staff_and_every_destructive_step_asks_first(
        screen, owner, stylist, owners_week, rights_pages, second_factor, tmp_path):
    grant, glass, review, other = owners_week
    page = screen.page
    lang = screen.language
    sign_in(screen, "owner", second_factor(owner))

    go(screen, "#nav-dashboard")
    check(screen, "dashboard")
    assert other.code not in page.inner_text("#break-glass-alerts")

    go(screen, "#nav-jobs")
    check(screen, "jobs")
    page.goto("/jobs/kek-rotation/")
    check(screen, "job")
    page.goto("/clients/destructions/")
    check(screen, "destroyed clients")
    page.goto("/clients/retention/")
    check(screen, "retention")
    rights_request, client_page = rights_pages
    page.goto("/rights/requests/")
    check(screen, "rights requests")
    page.goto(f"/rights/requests/{rights_request.pk}/")
    check(screen, "rights request")
    page.goto("/rights/notice/")
    check(screen, "privacy notice editor")
    page.goto(f"/rights/clients/{other.pk}/consent/")
    check(screen, "record a consent")
    page.goto(client_page)
    check(screen, "client's own page")
    page.goto("/privacy/")
    check(screen, "privacy notice")

    page.goto("/staff/people/")
    check(screen, "staff list")
    with page.expect_navigation():
        page.click(f"a[href='/staff/people/{stylist.pk}/']")
    check(screen, "staff member")

    # Cancelling a revoke or a deactivation keeps everything as it was.
    dialogs = Dialogs(page)
    revoke = page.locator(f"form[action='/staff/grants/{grant.pk}/revoke/'] button")
    revoke.click()
    page.locator(f"form[action='/staff/people/{stylist.pk}/deactivate/'] button").click()
    page.locator("#staff-reset button").click()
    assert dialogs.asked == [
        in_language(lang, "Revoke this grant? The person loses access to this client's full record at once."),
        in_language(lang, "Sign this person out everywhere and revoke all their grants?"),
        in_language(lang, "Make a reset link for this person? On it they set a new password "
                          "and a new authenticator; their old password and authenticator stop "
                          "working once they use it."),
    ]
    assert not Invitation.objects.filter(user=stylist).exists()
    grant.refresh_from_db()
    stylist.refresh_from_db()
    assert grant.revoked_at is None and stylist.is_active
    assert f"/staff/people/{stylist.pk}/" in page.url

    # Saying yes carries the revoke out.
    dialogs.accept = True
    with page.expect_navigation():
        revoke.click()
    dialogs.accept = False
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    check(screen, "staff member after revoke")

    # An access-review verdict and a break-glass verdict ask too.
    page.goto(f"/staff/reviews/{review.pk}/")
    check(screen, "access review")
    page.locator("button[name=decision][value=revoke]").first.click()
    assert dialogs.asked[-1] == in_language(
        lang, "Revoke this grant? The verdict is final: the person loses access to this "
              "client's full record.")
    assert not AccessReviewItem.objects.filter(review=review).exclude(decision="pending").exists()

    page.goto(f"/staff/break-glass/{glass.pk}/")
    check(screen, "break-glass review")
    page.locator("main form.card input[type=radio]").first.check()
    page.fill("main form.card textarea", "已核实")
    page.click("main form.card button[type=submit]")
    assert dialogs.asked[-1] == in_language(lang, "Save this verdict? It cannot be changed afterwards.")
    glass.refresh_from_db()
    assert glass.verdict == BreakGlass.Verdict.PENDING

    page.goto("/staff/policies/")
    check(screen, "location policies")
    page.goto("/clients/import/")
    check(screen, "import")
    sheet = tmp_path / "clients.csv"
    sheet.write_text("姓名,手机,邮箱,过敏\n张丽娜,13812345678,,对PPD染发剂过敏\n"
                     f"赵雪,13912345678,{LONG_EMAIL.replace('lina', 'xue')},\n", encoding="utf-8")
    page.set_input_files("#id_file", str(sheet))
    page.select_option("#id_location", index=1)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    check(screen, "import preview")
    page.goto(f"/audit/who-saw/?code={other.code}")
    check(screen, "who saw my data")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("#subject-report button[data-print]")
    assert page.evaluate("window.printed === true")

    # Publishing an agreement asks for the password first, then to confirm.
    page.goto("/staff/agreement/new/")
    confirm_it_is_you(screen)
    check(screen, "publish agreement")
    published = Agreement.objects.count()
    page.fill("#id_title", "保密协议 2027")
    page.fill("#id_body", "客户资料只为服务客户而查看。")
    page.click("main form button[type=submit]")
    assert dialogs.asked[-1] == in_language(
        lang, "Publish this agreement? Everyone must accept it before beauty records and health "
              "notes open for them again.")
    assert Agreement.objects.count() == published

    # A new colleague's invitation link, and the owner's own account pages.
    page.goto("/staff/people/new/")
    check(screen, "add staff member")
    page.fill("#id_username", "wang.fang.senior.colour.specialist")
    page.fill("#id_display_name", "王芳")
    page.select_option("#id_role", "stylist")
    page.select_option("#id_location", index=1)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    check(screen, "invitation link")
    assert page.locator("#invitation-qr svg").is_visible()
    page.goto("/accounts/security/")
    check(screen, "account")
    page.goto("/accounts/otp/setup/?next=/accounts/security/")
    check(screen, "two-factor setup")

    page.goto(f"/staff/people/{stylist.pk}/")
    switch_language(screen)
    check(screen, "staff member, other language")
    assert Grant.objects.filter(pk=grant.pk, revoked_at__isnull=False).exists()


# -- the auditor ---------------------------------------------------------------------------
@pytest.fixture
def audited_week(stylist, receptionist, long_client, make_client, settings):
    settings.OPENING_HOURS = "00:00-23:59:59.999999"  # only the break-glass rule fires
    for _ in range(3):
        with door.open_client(user=stylist, client=long_client, purpose="view client record"):
            pass
    with door.open_client(user=receptionist, client=long_client, purpose="view client record"):
        pass
    other = make_client(full_name="周敏", phone="13600001111", allergies="对乳胶过敏")
    access_services.break_glass_open(actor=stylist, client=other, reason=REASON)
    [alert] = anomalies.detect()
    return alert


@journeys((PHONE, "zh-hans"), (DESKTOP, "en"))
def test_auditor_reads_the_log_on_a_phone_and_a_desktop(screen, auditor, stylist, long_client,
                                                       audited_week, second_factor):
    page = screen.page
    sign_in(screen, "auditor", second_factor(auditor))
    page.goto("/audit/")
    check(screen, "audit log")

    fold = page.locator("#audit-filter details")
    assert fold.evaluate("details => details.open") != screen.phone, "folded on a phone"
    if screen.phone:
        page.click("#audit-filter summary")
    page.select_option("#audit-filter select[name=person]", str(stylist.pk))
    with page.expect_navigation():
        page.click("#audit-filter button[type=submit]")
    check(screen, "audit log, one person")
    assert page.locator("table.events tbody tr").count() >= 4

    with page.expect_navigation():
        page.click(f"table.events a[href='/audit/people/{stylist.pk}/']  >> nth=0")
    check(screen, "person timeline")
    with page.expect_navigation():
        page.click(f"table.events a[href='/audit/clients/{long_client.code}/'] >> nth=0")
    check(screen, "client history")

    page.goto("/audit/alerts/")
    check(screen, "alerts")
    with page.expect_navigation():
        page.click(f"a[href='/audit/alerts/{audited_week.pk}/']")
    check(screen, "alert")
    page.goto("/audit/charts/")
    check(screen, "charts")

    switch_language(screen)
    check(screen, "charts, other language")
    go(screen, "#nav-audit")
    check(screen, "audit log, other language")


# -- the sale of the business -----------------------------------------------------------------
BUYER = "新美丽美容管理（北京）有限公司 New Beauty Salon Management (Beijing) Co., Ltd."


@pytest.fixture
def transfer_cases(owner, long_client, make_client, location, settings, tmp_path):
    """Two cases: one in its notice period (a checklist with history, notices, an objection)
    and one acknowledged by the buyer (its package downloaded, the receipt recorded)."""
    import json

    import pyrage
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import _person, tasks_run_at_once
    from tests.e2e.conftest import authenticator
    from transfer import cases, checklist, notices, objections, package, packaging
    from transfer.models import ChecklistItem, Notice, Receipt

    settings.TRANSFER_PACKAGE_DIR = tmp_path / "packages"
    objector = make_client(full_name="周敏", phone="13600001111")
    key = str(pyrage.x25519.Identity.generate().to_public())
    how = "致电张经理（合同上的号码 010-87654321），双方逐组读出指纹，完全一致"

    def case_to_notice(title):
        case = cases.open_case(actor=owner, title=title, recipient_name=BUYER,
                               recipient_contact=f"{LONG_EMAIL} / 010-87654321",
                               recipient_key=key, location_codes=[location.code],
                               parts=["contact", "beauty", "treatments", "health", "photos"])
        cases.confirm_key(case, actor=owner, how=how)
        cases.start_checklist(case, actor=owner)
        checklist.add_item(case, actor=owner, text="买方数据保护负责人已书面确认接收流程和保存期限")
        nda = ChecklistItem.objects.get(case=case, key="nda")
        signed = "保密协议-新美丽美容管理有限公司-双方签署版-2026-final-scan.pdf"
        checklist.record(case, nda, actor=owner, status="done", note="双方已签署，原件存于律所",
                         evidence=SimpleUploadedFile(signed, b"%PDF-1.4 signed"))
        case = cases.start_notice_period(case, actor=owner)
        notices.make_all(case, actor=owner)
        with objections.open_for_answer(objector):
            objections.answer(case, objector, kind="object")
        return case

    in_notice = case_to_notice("出售国贸店及其全部客户资料（含服务记录、健康信息和照片）")
    done = case_to_notice("出售三里屯店")
    later = done.objection_until + dt.timedelta(days=1)
    for item in ChecklistItem.objects.filter(case=done).exclude(key="nda"):
        checklist.record(done, item, actor=owner, status="done", note="已完成", today=later)
    done = cases.start_approval(done, actor=owner, today=later)
    for name in ("owner.b", "owner.c"):
        approver = _person(name, "owner", None)
        authenticator(name)  # approving needs an authenticator app
        cases.approve(done, actor=approver, reauthenticated=True)
    with tasks_run_at_once():
        built = packaging.request_build(done, actor=owner)  # built when the step commits
    built.refresh_from_db()
    b"".join(packaging.take(built, actor=owner))
    signer = Ed25519PrivateKey.generate()
    statement = {
        "format": "salon-vault-transfer-receipt-1", "package_id": built.manifest["package_id"],
        "manifest_sha256": built.manifest["manifest_sha256"], "case_id": str(done.pk),
        "counts": dict(sorted(built.manifest["counts"].items())), "recipient": key,
        "imported_at": "2026-12-05T10:00:00+00:00",
        "receiver_key": package.public_key_text(signer.public_key()),
        "receiver_fingerprint": package.fingerprint(signer.public_key())}
    from transfer import handover

    done.refresh_from_db()
    handover.record_receipt(done, json.dumps(statement | {"signature": signer.sign(
        package.canonical(statement)).hex()}).encode(), actor=owner)
    Receipt.objects.filter(case=done).update(destroy_after=dt.date(2026, 1, 1))
    notice = Notice.objects.filter(case=in_notice, client_id=long_client.pk).get()
    from rights import links
    from rights.models import ClientLink

    token = links.token_for(ClientLink.objects.get(pk=notice.link_id))
    return in_notice, done, f"/c/{token}/"


@journeys((PHONE, "zh-hans"), (DESKTOP, "en"))
def test_owner_follows_a_sale_of_the_business(screen, owner, transfer_cases, second_factor):
    in_notice, done, client_page = transfer_cases
    page = screen.page
    sign_in(screen, "owner", second_factor(owner))
    page.goto("/transfer/")
    check(screen, "transfer cases")
    with page.expect_navigation():
        page.click("#case-new")
    check(screen, "open a transfer case")

    page.goto(f"/transfer/{in_notice.pk}/")
    check(screen, "transfer case, notice period")
    assert page.locator("#road li[aria-current=step]").count() == 1
    # Who stays, and why: a title on one line, each reason beside its count.
    assert page.locator("#exclusions caption").bounding_box()["height"] < 40
    reason = page.locator("#excluded-objected td").first.bounding_box()
    count = page.locator("#excluded-objected td.num").bounding_box()
    assert abs(reason["y"] - count["y"]) < 8 and count["x"] > reason["x"] + reason["width"] / 2
    page.locator("#scope details summary").click()
    nda = page.locator("#checklist .checklist > li").first
    nda.locator("summary").click()
    check(screen, "transfer case, forms open")

    page.goto(f"/transfer/{done.pk}/")
    check(screen, "transfer case, acknowledged")
    assert page.locator("#destroy-copies").is_visible()
    dialogs = Dialogs(page)
    page.click("#destroy-copies")  # asks first; cancelling keeps the clients
    assert dialogs.asked == [in_language(
        screen.language, "Destroy the seller’s copies of every client handed over? This "
                         "cannot be undone.")]
    assert f"/transfer/{done.pk}/" in page.url and page.locator("#destroy-copies").count() == 1

    page.goto(client_page)
    check(screen, "client's own page, transfer notice")
    assert page.locator(f"#section-transfer-{in_notice.pk} #transfer-object").is_visible()

    page.goto(f"/transfer/{done.pk}/")
    switch_language(screen)
    check(screen, "transfer case, other language")
    page.goto("/transfer/")
    check(screen, "transfer cases, other language")
