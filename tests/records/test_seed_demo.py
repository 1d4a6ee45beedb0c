"""The demo salon: deterministic rows, demo staff, sealed storage, search, password."""

from __future__ import annotations

import datetime as dt
import io
import re
import stat

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from PIL import Image

from access import door
from access.models import Location
from records import demo, selectors
from records.models import Client, ClientForm, HealthNote, Photo, Product, Treatment

TODAY = dt.date(2025, 6, 1)


@pytest.fixture(autouse=True)
def _demo_settings(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEMO_PASSWORD = ""


def _rows(seed: int, clients: int = 20) -> list[demo.ClientRow]:
    return list(demo.demo_rows(seed=seed, clients=clients, treatments=3 * clients, today=TODAY))


@pytest.fixture
def seeded():
    return demo.seed_demo(clients=20, seed=7, photos=2, forms=2, today=TODAY)


@pytest.fixture
def owner(seeded):
    return User.objects.get(username="owner")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_same_seed_gives_the_same_rows():
    assert _rows(7) == _rows(7)


def test_another_seed_gives_other_rows():
    first, other = _rows(7), _rows(8)
    assert [r.full_name for r in first] != [r.full_name for r in other]
    assert {r.id for r in first}.isdisjoint(r.id for r in other)


def test_rows_look_like_salon_clients():
    rows = _rows(3, clients=300)
    assert all(re.fullmatch(r"1[3-9]\d{9}", r.phone) for r in rows)
    assert sum(len(r.treatments) for r in rows) == 900
    assert any(r.health and "allergies" in r.health for r in rows)
    assert sum(r.health is not None for r in rows) < 150  # most clients have no health notes
    formulas = [t.colour_formula for r in rows for t in r.treatments if t.colour_formula]
    assert formulas and all("双氧" in f for f in formulas)


def test_treatments_are_spread_as_asked():
    rows = list(demo.demo_rows(seed=1, clients=50, treatments=20, today=TODAY))
    assert sum(len(r.treatments) for r in rows) == 20


def test_it_creates_the_demo_staff(seeded):
    expected = {"owner": ("owner", None), "manager": ("manager", "bj"),
                "stylist": ("stylist", "bj"), "reception": ("reception", "bj"),
                "auditor": ("auditor", None)}
    for username, (role, location) in expected.items():
        staff = User.objects.get(username=username).staff
        assert staff.role == role
        assert (staff.location.code if staff.location else None) == location
    assert set(Location.objects.values_list("code", flat=True)) == {"bj", "sh"}


def test_it_loads_clients_with_treatments_and_last_visits(seeded):
    assert seeded.clients == Client.objects.count() == 20
    assert seeded.treatments == Treatment.objects.count() == 60
    client = Client.objects.filter(treatments__isnull=False).first()
    latest = client.treatments.order_by("-performed_on").first().performed_on
    assert client.last_visit == latest
    assert Client.objects.filter(assigned_staff__staff__role__in=["stylist", "beautician"]).exists()


def test_it_gives_clients_codes_per_location(seeded):
    codes = Client.objects.filter(location__code="bj").values_list("code", flat=True)
    assert sorted(codes)[0] == "BJ-000001"


def test_seeded_data_is_sealed_outside_a_scope(seeded):
    client = Client.objects.get(pk=_rows(7)[0].id)
    assert repr(client.full_name) == "‹sealed›"
    assert repr(client.phone) == "‹sealed›"
    assert repr(HealthNote.objects.filter(allergies__isnull=False).first().allergies) == "‹sealed›"
    assert repr(Treatment.objects.first().service) == "‹sealed›"


def test_seeded_data_is_readable_when_opened(owner):
    row = _rows(7)[0]
    client = Client.objects.get(pk=row.id)
    with door.open_client(user=owner, client=client, purpose="test"):
        assert client.full_name == row.full_name
        assert client.phone == row.phone
        assert client.birthday == row.birthday
        services = sorted(t.service for t in client.treatments.all())
    assert services == sorted(t.service for t in row.treatments)


def test_seeded_health_notes_are_readable_when_opened(owner):
    row = next(r for r in _rows(7) if r.health)
    client = Client.objects.get(pk=row.id)
    with door.open_client(user=owner, client=client, purpose="test"):
        note = client.health
        assert {name: getattr(note, name) for name in row.health} == row.health


def test_dye_clients_have_a_patch_test_before_their_last_dye(owner):
    """The demo's dye visits come with the patch test the contraindication stop asks for."""
    from records.models import PatchTest

    rows = _rows(7)
    tested = set(Product.objects.filter(needs_patch_test=True).values_list("name", flat=True))
    dyed = [r for r in rows if "PPD" not in (r.health or {}).get("allergies", "")
            and any(set(t.products) & tested for t in r.treatments)]
    assert dyed, "the demo has no dye visits to test"
    row = dyed[0]
    last = next(t for t in row.treatments if set(t.products) & tested)
    client = Client.objects.get(pk=row.id)
    with door.open_client(user=owner, client=client, purpose="test"):
        found = {(t.product.name, t.tested_on, t.result) for t in
                 PatchTest.objects.filter(client=client).select_related("product")}
    assert {(name, last.performed_on - dt.timedelta(days=2), "passed")
            for name in set(last.products) & tested} <= found
    assert PatchTest.objects.count() >= len(dyed)


def test_clients_are_searchable_by_the_last_four_digits(owner):
    row = _rows(7)[0]
    kind, found = selectors.client_search(owner, row.phone[-4:])
    assert kind == "phone_last4"
    assert row.id in set(found.values_list("pk", flat=True))


def test_clients_are_searchable_by_name(owner):
    row = _rows(7)[0]
    _kind, found = selectors.client_search(owner, row.full_name)
    assert row.id in set(found.values_list("pk", flat=True))


def test_photos_are_jpegs_readable_inside_a_scope(owner, seeded):
    assert seeded.photos == Photo.objects.count() == 4
    photo = Photo.objects.select_related("client").first()
    assert repr(photo.image) == "‹sealed›"
    with door.open_client(user=owner, client=photo.client, purpose="test"):
        data, thumb = photo.image.read(), photo.thumbnail.read()
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert img.size == (320, 320)
    with Image.open(io.BytesIO(thumb)) as img:
        assert img.format == "JPEG"
    assert photo.treatment is not None


def test_forms_are_valid_pdfs_readable_inside_a_scope(owner, seeded):
    assert seeded.forms == ClientForm.objects.count() == 2
    form = ClientForm.objects.select_related("client").first()
    with door.open_client(user=owner, client=form.client, purpose="test"):
        data = form.document.read()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_pdf_cross_references_point_at_their_objects():
    data = demo.demo_pdf(lines=["Consent (demo)"])
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert data[xref:].startswith(b"xref")
    offsets = re.findall(rb"(\d{10}) 00000 n ", data)
    for number, offset in enumerate(offsets, start=1):
        assert data[int(offset):].startswith(b"%d 0 obj" % number)


def test_photos_are_generated_deterministically():
    first = demo.demo_jpeg(seed=1, index=0, kind="after")
    assert first == demo.demo_jpeg(seed=1, index=0, kind="after")
    assert first != demo.demo_jpeg(seed=1, index=0, kind="before")


def test_once_does_not_duplicate():
    _run("--once", "--clients", "5", "--photos", "1", "--forms", "1")
    out = _run("--once", "--clients", "5")
    assert Client.objects.count() == 5
    assert User.objects.filter(username="owner").count() == 1
    assert "already loaded" in out
    assert "owner" in out and demo.demo_password().value in out


def test_without_once_it_adds_new_clients(seeded):
    demo.seed_demo(clients=5, seed=7, photos=0, forms=0, today=TODAY)
    assert Client.objects.count() == 25
    assert User.objects.filter(username="stylist").count() == 1


def test_once_leaves_a_salon_with_its_own_clients_alone():
    place = Location.objects.create(code="gz", name="广州天河店")
    with door.open_for_system(actor="test", purpose="a real client", create=True):
        Client.objects.create(code="GZ-000001", location=place, full_name="王芳")
    out = _run("--once", "--clients", "5")
    assert Client.objects.count() == 1
    assert not User.objects.filter(username="owner").exists()
    assert "No demo logins" in out


def test_it_prints_counts_not_client_data():
    out = _run("--clients", "10", "--seed", "4", "--photos", "0", "--forms", "0")
    assert "Loaded 10 clients" in out
    with door.open_for_system(actor="test", purpose="compare output"):
        for client in Client.objects.all():
            assert client.full_name not in out
            assert client.phone not in out


def test_the_password_file_is_private_and_reused(settings, seeded):
    path = settings.VAR_DIR / "demo_password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 20
    assert demo.demo_password().value == password
    assert User.objects.get(username="reception").check_password(password)


def test_the_environment_password_is_used_when_set(settings):
    settings.DEMO_PASSWORD = "env-demo-password-42"
    demo.seed_demo(clients=2, seed=1, photos=0, forms=0, today=TODAY)
    assert User.objects.get(username="manager").check_password("env-demo-password-42")
    assert not (settings.VAR_DIR / "demo_password").exists()


def test_a_changed_password_reaches_existing_demo_users(settings, seeded):
    settings.DEMO_PASSWORD = "a-new-demo-password-7"
    logins = demo.demo_logins(password=demo.demo_password().value)
    assert [login.username for login in logins][:5] == [
        "owner", "manager", "stylist", "reception", "auditor"]
    assert User.objects.get(username="stylist").check_password("a-new-demo-password-7")


def test_it_never_takes_over_an_account_with_a_demo_name():
    User.objects.create_superuser("owner", password="my-own-secret-pass-1")
    demo.seed_demo(clients=3, seed=1, photos=0, forms=0, today=TODAY)
    owner = User.objects.get(username="owner")
    assert owner.check_password("my-own-secret-pass-1")
    assert not hasattr(owner, "staff")
    assert Client.objects.count() == 3
