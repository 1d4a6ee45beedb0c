"""Each client right in the browser, from the client's own signed link to the staff pages:
the privacy notice read and acknowledged, consents withdrawn and given again with their
effects on what staff see, an access copy made and downloaded once, a correction, a
deletion with its certificate, a complaint handled to the end, "who saw my data" by role,
and a tampered or expired link that reveals nothing on any public page.

The ORM only sets data up and reads back what was stored; every step a person takes is a
click or a keystroke.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import pyzipper
from django.utils import timezone, translation

from access import door
from audit import actions
from audit.models import AccessEvent
from records import consent, destruction, notices, services
from records.models import Client, ConsentEvent, Destruction, NoticeAcknowledgement, Photo
from rights import links, requests
from rights.models import AccessCopy, Complaint, RightsRequest
from tests.conftest import _person
from tests.vault.conftest import jpeg_with_gps

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - the test people's password
NAME, PHONE = "李娜", "13812345678"


def zh(message: str, **values) -> str:
    """The Chinese text the pages show for a message."""
    with translation.override("zh-hans"):
        text = translation.gettext(message)
    return text % values if values else text


@pytest.fixture(autouse=True)
def places(settings, tmp_path):
    settings.RIGHTS_COPY_DIR = tmp_path / "copies"
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"


@pytest.fixture
def notice(owner):
    draft = notices.save_draft(actor=owner, body_zh="本店如何使用您的信息。",
                               body_en="How we use your data.",
                               contact="privacy@salon.example / 010-12345678")
    return notices.publish(draft, actor=owner)


@pytest.fixture
def client_link(client_record, owner):
    """The path of the client's own page, as staff would have sent it."""
    _, token = links.issue(client_record, actor=owner, language="zh-hans")
    return f"/c/{token}/"


@pytest.fixture
def visitor(browser, live_server):
    """The client on their own phone: a browser with no staff session."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def confirm_it_is_you(page) -> None:
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", PASSWORD)
    if page.locator("#id_token").count():
        page.fill("#id_token", next(page.recovery))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/accounts/reauth/" not in page.url


def click(page, selector: str, *, accept: bool = False):
    """Click a button that submits a form; `accept` answers yes to the question it asks.
    Returns the response of the page it leads to."""
    if accept:
        page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation() as navigation:
        page.click(selector)
    return navigation.value


def message(page) -> str:
    return page.inner_text(".messages")


def add_photo(owner, client):
    return services.photo_add(actor=owner, client=client, kind="before",
                              taken_on=dt.date(2026, 3, 1), upload=io.BytesIO(jpeg_with_gps()))


def nothing_personal(page, client) -> None:
    text = page.content()
    assert NAME not in text and PHONE not in text and "lina@example.cn" not in text
    assert "对PPD染发剂过敏" not in text


# -- 1. the privacy notice ------------------------------------------------------------------
def test_the_owner_publishes_the_notice_and_the_client_acknowledges_it_by_link(
        staff, visitor, owner, client_record):
    page = staff("owner")
    page.goto("/rights/notice/")
    page.fill("#body_zh", "我们只为服务您而保存您的资料。")
    page.fill("#body_en", "We keep your data only to serve you.")
    page.fill("#contact", "privacy@salon.example")
    click(page, "#publish", accept=True)
    assert notices.current() is None  # the draft is kept; publishing waits for the password
    confirm_it_is_you(page)
    assert page.url.endswith("/rights/notice/")
    assert page.input_value("#body_zh") == "我们只为服务您而保存您的资料。"
    click(page, "#publish", accept=True)
    published = notices.current()
    assert published is not None and published.version == 1
    status = page.inner_text("#notice-status")
    assert zh("%(a)s of %(c)s clients have read it; %(t)s still to be told (their own page "
              "shows it until they do).", a=0, c=1, t=1) in status

    # The client's link, made on the client's page and shown once with its QR code.
    page.goto(f"/clients/{client_record.pk}/")
    page.select_option("#rights-card select[name=language]", "zh-hans")
    click(page, "#client-link-button")
    assert page.locator(".qr svg").is_visible()
    url = page.input_value("#client-link")
    assert "/c/" in url
    page.goto(f"/clients/{client_record.pk}/")
    assert url not in page.content()  # shown once: on no page to come back to

    shown = visitor.goto(url)
    assert shown.status == 200 and "no-store" in shown.headers["cache-control"]
    notice_section = visitor.locator("#section-notice")
    assert "我们只为服务您而保存您的资料。" in notice_section.inner_text()
    assert "privacy@salon.example" in notice_section.inner_text()
    assert client_record.code in visitor.inner_text("h1")
    nothing_personal(visitor, client_record)
    click(visitor, "#acknowledge")
    assert visitor.locator("#notice-acknowledged").inner_text() == zh(
        "You have read this version.")
    assert visitor.locator("#acknowledge").count() == 0
    ack = NoticeAcknowledgement.objects.get(client_id=client_record.pk)
    assert (ack.version, ack.channel) == (1, "client_page")

    page.goto("/rights/notice/")
    assert zh("%(a)s of %(c)s clients have read it; %(t)s still to be told (their own page "
              "shows it until they do).", a=1, c=1, t=0) in page.inner_text("#notice-status")


# -- 2. consents ----------------------------------------------------------------------------
def test_consents_withdrawn_on_the_client_page_take_effect_at_once_for_staff(
        staff, visitor, owner, client_record, notice, client_link, tmp_path):
    photo = add_photo(owner, client_record)
    consent.record_by_staff(actor=owner, client=client_record, purpose="health",
                            action="given", channel="paper")
    page = staff("owner")
    page.goto(f"/clients/{client_record.pk}/")
    assert page.locator(".photos figure").count() == 1
    photo_url = page.locator(".photos figure a").get_attribute("href")
    assert page.request.get(photo_url).status == 200

    # Giving consent needs the tick; then it is given, and can be withdrawn in one step.
    visitor.goto(client_link)
    photos = visitor.locator("#consent-photos")
    assert click(visitor, "#consent-photos button[value=given]").status == 400
    assert visitor.inner_text("#page-error") == zh("Tick the box to say you agree.")
    assert not consent.is_given(client_record.pk, "photos")
    photos.locator("input[name=agree]").check()
    click(visitor, "#consent-photos button[value=given]")
    assert zh("given") in photos.inner_text() and consent.is_given(client_record.pk, "photos")
    click(visitor, "#consent-photos button[value=withdrawn]", accept=True)
    assert zh("withdrawn") in photos.inner_text()
    assert "记录照片" in message(visitor)
    event = ConsentEvent.objects.filter(client_id=client_record.pk, purpose="photos").latest("at")
    assert (event.action, event.channel, event.recorded_by) == ("withdrawn", "client_page", None)

    # At once: staff see no photo, not even by its address, and the consent is withdrawn.
    page.goto(f"/clients/{client_record.pk}/")
    assert page.locator(".photos figure").count() == 0
    assert page.request.get(photo_url).status == 404
    assert zh("withdrawn") in page.locator("#rights-card li", has_text="记录照片").inner_text()
    with page.expect_navigation():  # and no new photo is taken
        page.click(f"a[href='/clients/{client_record.pk}/photos/new/']")
    picture = tmp_path / "after.jpg"
    picture.write_bytes(jpeg_with_gps())
    page.set_input_files("#id_image", str(picture))
    click(page, "main form button[type=submit]")
    assert "记录照片" in page.inner_text(".field.has-error")
    assert Photo.objects.filter(client_id=client_record.pk).count() == 1
    # Their destruction is queued (approved, run by the worker), and ends in a certificate.
    queued = Destruction.objects.get(client_id=client_record.pk, scope="photos")
    assert (queued.state, queued.basis) == (Destruction.State.APPROVED, "consent")
    from records.tasks import run_destruction

    assert run_destruction(str(queued.pk)) == Destruction.State.CERTIFIED
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert destruction.certificate_path(Destruction.objects.get(pk=queued.pk)).exists()

    # The client gives the consent again, ticking the box.
    visitor.reload()
    photos.locator("input[name=agree]").check()
    click(visitor, "#consent-photos button[value=given]")
    assert zh("given") in photos.inner_text() and consent.is_given(client_record.pk, "photos")

    # Health data: withdrawn on the page, new health notes are refused on the staff page.
    click(visitor, "#consent-health button[value=withdrawn]", accept=True)
    assert consent.is_withdrawn(client_record.pk, "health")
    page.goto(f"/clients/{client_record.pk}/edit/")
    page.fill("#id_allergies", "对芒果过敏")
    assert click(page, "main form button[type=submit]").status == 400
    assert "/edit/" in page.url
    assert zh("Health data") in page.inner_text(".errors")
    page.goto(f"/clients/{client_record.pk}/")
    health = page.inner_text("#health")
    assert "对PPD染发剂过敏" in health and "对芒果过敏" not in health  # the kept note stays


# -- 3. access: a copy downloaded once ------------------------------------------------------
def test_an_access_request_ends_in_an_encrypted_copy_the_client_downloads_once(
        staff, visitor, owner, manager, client_record, notice, client_link, tmp_path):
    add_photo(owner, client_record)
    visitor.goto(client_link)
    visitor.select_option("#kind", "access")
    visitor.fill("#details", "请给我一份我的全部资料")
    click(visitor, "#send-request")
    req = RightsRequest.objects.get(client_id=client_record.pk)
    due = (timezone.localdate() + dt.timedelta(days=15)).isoformat()
    assert req.due_on.isoformat() == due and due in message(visitor)
    assert due in visitor.inner_text("#my-requests")

    desk = staff("manager")  # a manager sees it in the list, with its due date
    desk.goto("/rights/requests/")
    assert client_record.code in desk.inner_text(f"#request-{req.pk}")
    assert due in desk.inner_text(f"#request-{req.pk}")

    page = staff("owner")
    page.goto("/rights/requests/")
    row = page.locator(f"#request-{req.pk}")
    assert due in row.inner_text() and zh("See and copy my data") in row.inner_text()
    with page.expect_navigation():
        row.locator("a").click()
    assert "请给我一份我的全部资料" in page.inner_text("main")
    # Made on the client's own signed link: the identity counts as checked.
    assert zh("made on the client's own signed link") in page.inner_text("main")
    assert page.locator("#identity").count() == 0
    click(page, "#make-copy")
    confirm_it_is_you(page)
    page.select_option("#language", "zh-hans")
    click(page, "#make-copy")
    passphrase = page.inner_text("#passphrase")
    assert re.fullmatch(r"[0-9a-f]{6}(-[0-9a-f]{6}){3}", passphrase)
    assert page.inner_text("#state") == zh("done")
    page.reload()
    assert page.locator("#passphrase").count() == 0 and passphrase not in page.content()

    # The client downloads it from their page, once: a second click on a page opened
    # before is refused like any bad link.
    visitor.reload()
    again = visitor.context.new_page()
    again.goto(client_link)
    with visitor.expect_download() as download:
        visitor.click("#download-copy")
    archive_path = tmp_path / "copy.zip"
    download.value.save_as(archive_path)
    refused = click(again, "#download-copy")
    assert refused.status == 404 and again.locator("#link-invalid").count() == 1
    visitor.reload()
    assert visitor.locator("#download-copy").count() == 0
    assert AccessCopy.objects.get(request=req).downloaded_at is not None

    data = archive_path.read_bytes()
    assert PHONE.encode() not in data and NAME.encode() not in data  # encrypted
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        with pytest.raises(RuntimeError):
            archive.read("record.json", pwd=b"not-the-passphrase")
        archive.setpassword(passphrase.encode())
        names = archive.namelist()
        record = json.loads(archive.read("record.json"))
        assert archive.read("record-zh-hans.pdf").startswith(b"%PDF")
    assert record["client"]["full_name"] == NAME and record["client"]["phone"] == PHONE
    assert any(name.startswith("photos/") for name in names)


# -- 4. correction --------------------------------------------------------------------------
def test_a_correction_asked_on_the_page_changes_the_record(
        staff, visitor, owner, client_record, notice, client_link):
    visitor.goto(client_link)
    visitor.select_option("#kind", "correction")
    visitor.fill("#details", "我的手机号已经换成 13900001111")
    click(visitor, "#send-request")
    req = RightsRequest.objects.get(client_id=client_record.pk)

    page = staff("owner")
    page.goto(f"/rights/requests/{req.pk}/")
    assert "13900001111" in page.inner_text("main")
    page.fill("#fix-phone", "13900001111")
    click(page, "#correct")
    confirm_it_is_you(page)
    page.fill("#fix-phone", "13900001111")
    click(page, "#correct")
    assert page.inner_text("#state") == zh("done")
    assert f"{PHONE} → 13900001111" in page.inner_text("#corrections")

    page.goto(f"/clients/{client_record.pk}/")
    contact = page.inner_text("main .card >> nth=0")
    assert "13900001111" in contact and PHONE not in contact
    visitor.reload()
    assert zh("done") in visitor.inner_text("#my-requests")


# -- 5. deletion ----------------------------------------------------------------------------
def test_a_deletion_asked_by_phone_destroys_the_client_and_the_link_stops_working(
        staff, visitor, owner, client_record, notice, client_link):
    add_photo(owner, client_record)
    visitor.goto(client_link)
    assert visitor.locator("#link-invalid").count() == 0

    page = staff("owner")
    page.goto(f"/clients/{client_record.pk}/")
    with page.expect_navigation():
        page.click("#record-request")
    page.select_option("#kind", "deletion")
    page.select_option("#channel", "phone")
    page.fill("#details", "顾客来电要求删除全部资料")
    click(page, "#request-form button")
    req = RightsRequest.objects.get(client_id=client_record.pk)
    assert page.url.endswith(f"/rights/requests/{req.pk}/")
    assert page.locator("#delete-client").count() == 0  # the identity comes first
    page.select_option("#method", "known_phone")
    click(page, "#identity button")
    req.refresh_from_db()
    assert req.identity == "known_phone" and req.identity_checked_by == owner

    click(page, "#delete-client")
    confirm_it_is_you(page)
    assert click(page, "#delete-client").status == 400  # the box is not ticked
    assert page.inner_text("#step-error") == zh("Tick the box to confirm the deletion.")
    assert Client.objects.filter(pk=client_record.pk).exists()
    page.check("#confirm-delete")
    click(page, "#delete-client")
    assert page.inner_text("#state") == zh("done")
    assert not Client.objects.filter(pk=client_record.pk).exists()
    assert not Photo.objects.filter(client_id=client_record.pk).exists()
    req.refresh_from_db()
    done = req.destruction
    assert done.state == Destruction.State.CERTIFIED and done.basis == "request"
    assert destruction.certificate_path(done).exists()
    with page.expect_navigation():
        page.click("#certificate-link")
    assert client_record.code in page.inner_text("main")

    gone = visitor.goto(client_link)
    assert gone.status == 404 and visitor.locator("#link-invalid").count() == 1
    assert client_record.code not in visitor.content()


# -- 6. complaint ---------------------------------------------------------------------------
def test_a_complaint_from_the_page_is_assigned_and_resolved(
        staff, visitor, owner, manager, client_record, notice, client_link):
    visitor.goto(client_link)
    visitor.select_option("#category", "service")
    visitor.fill("#description", "染发后头皮刺痛，希望店里给个说法")
    click(visitor, "#send-complaint")
    filed = Complaint.objects.get()
    assert filed.due_on.isoformat() in message(visitor)
    assert (filed.client_id, filed.channel, filed.received_by) == (
        client_record.pk, "client_page", None)

    page = staff("owner")
    page.goto("/rights/complaints/")
    row = page.locator(f"#complaint-{filed.pk}")
    assert client_record.code in row.inner_text() and zh("nobody yet") in row.inner_text()
    with page.expect_navigation():
        row.locator("a").click()
    assert "染发后头皮刺痛" in page.inner_text("#complaint-text")
    page.select_option("#id_handler", str(manager.pk))
    click(page, "#assign-form button")
    assert "manager" in page.inner_text("#complaint-facts")
    page.fill("#id_resolution", "已致电道歉并安排免费护理")
    click(page, "#resolve-form button", accept=True)
    assert page.inner_text("#complaint-resolution") == "已致电道歉并安排免费护理"
    assert page.locator("#resolve-form").count() == 0
    filed.refresh_from_db()
    assert filed.state == Complaint.State.RESOLVED
    assert (filed.handler, filed.resolved_by) == (manager, owner)
    page.goto("/rights/complaints/?show=resolved")
    assert page.locator(f"#complaint-{filed.pk}").count() == 1


# -- 7. who saw my data ---------------------------------------------------------------------
def test_who_saw_my_data_shows_roles_and_times_never_a_name(
        staff, visitor, location, make_client, notice):
    colleague = _person("meiling.hu", "stylist", location)
    client = make_client(full_name=NAME, phone=PHONE, allergies="对PPD染发剂过敏",
                         assigned_staff=colleague)
    _, token = links.issue(client, actor=None, language="zh-hans")
    page = staff("meiling.hu")
    page.fill("input[name=q]", NAME)
    with page.expect_navigation():
        page.click("form.search button")
    with page.expect_navigation():
        page.click(f"main >> text={NAME}")
    assert "对PPD染发剂过敏" in page.inner_text("#health")
    at = timezone.localtime().strftime("%Y-%m-%d")

    visitor.goto(f"/c/{token}/")
    seen = visitor.locator("#section-seen tbody tr")
    rows = [seen.nth(n).inner_text() for n in range(seen.count())]
    stylist_rows = [r for r in rows if zh("Stylist") in r]
    assert stylist_rows and all(at in r for r in stylist_rows)
    assert any(re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", r) for r in stylist_rows)
    assert any(zh("Owner") in r for r in rows)  # the owner who created the record
    text = visitor.content()
    assert "meiling" not in text.lower() and "owner" not in text.lower()
    visitor.click("#lang-en")
    visitor.wait_for_url("**?lang=en")
    assert "Stylist" in visitor.inner_text("#section-seen")
    assert "meiling" not in visitor.content().lower()


# -- 8. bad links ---------------------------------------------------------------------------
def _ask_for_a_copy(client, owner):
    with door.open_case_file(user=owner, subjects=[client.pk],
                             purpose=actions.HANDLE_RIGHTS_REQUEST,
                             action=actions.RIGHTS_REQUEST_OPEN):
        req = requests.open_request(client=client, kind="access", channel="client_page")
    return requests.make_copy(req, actor=owner, language="en")[0]


ACTIONS = {
    "page": lambda tab: tab.reload(),
    "notice": lambda tab: tab.click("#acknowledge"),
    "consent": lambda tab: (tab.check("#consent-photos input[name=agree]"),
                            tab.click("#consent-photos button[value=given]")),
    "request": lambda tab: (tab.select_option("#kind", "deletion"), tab.click("#send-request")),
    "complaint": lambda tab: (tab.select_option("#category", "privacy"),
                              tab.fill("#description", "请删除我的资料"),
                              tab.click("#send-complaint")),
    "copy": lambda tab: tab.click("#download-copy"),
}


@pytest.mark.parametrize("spoil", ["tamper", "expire"])
def test_a_tampered_or_expired_link_gets_the_same_page_everywhere(
        visitor, owner, client_record, notice, client_link, spoil):
    copy = _ask_for_a_copy(client_record, owner)
    token = client_link.split("/")[2]
    bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    reference = visitor.goto("/c/not-a-link/")
    assert reference.status == 404
    invalid = visitor.inner_text("main")
    assert zh("This link is not valid") in invalid

    # The client's page open in one tab per action, while the link is still good.
    tabs = {}
    for name in ACTIONS:
        tab = visitor.context.new_page()
        tab.set_default_timeout(10_000)
        assert tab.goto(client_link).status == 200
        tabs[name] = tab
    counts = (AccessEvent.objects.count(), RightsRequest.objects.count(),
              Complaint.objects.count(), ConsentEvent.objects.count(),
              NoticeAcknowledgement.objects.count())
    if spoil == "expire":
        links.ClientLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    else:  # someone edits the link in the address bar and in the forms
        for tab in tabs.values():
            tab.evaluate("""([good, bad]) => document.querySelectorAll("form[action]").forEach(
                form => form.setAttribute("action", form.getAttribute("action")
                                                        .replace(good, bad)))""", [token, bad])
        tabs["page"].goto(client_link.replace(token, bad))

    for name, act in ACTIONS.items():
        tab = tabs[name]
        with tab.expect_navigation() as navigation:
            act(tab)
        assert navigation.value.status == 404, name
        assert tab.locator("#link-invalid").count() == 1, name
        assert tab.inner_text("main") == invalid, name
        assert client_record.code not in tab.content(), name
        nothing_personal(tab, client_record)
    shown = visitor.goto(f"/c/{token if spoil == 'expire' else bad}/?lang=en")
    assert shown.status == 404 and visitor.inner_text("main") == invalid

    assert counts == (AccessEvent.objects.count(), RightsRequest.objects.count(),
                      Complaint.objects.count(), ConsentEvent.objects.count(),
                      NoticeAcknowledgement.objects.count())
    copy.refresh_from_db()
    assert copy.downloaded_at is None and requests.copy_path(copy).exists()
