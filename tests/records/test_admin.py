from tests.conftest import verify_otp


def test_admin_client_list_shows_sealed_values_only(client, client_record, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="correct-horse-battery-9")
    client.force_login(admin)
    verify_otp(client, admin)  # the admin asks for the second factor too
    page = client.get("/admin/records/client/").content.decode()
    assert client_record.code in page
    assert "‹sealed›" in page
    assert "李娜" not in page and "13812345678" not in page
    detail = client.get(f"/admin/records/client/{client_record.pk}/change/").content.decode()
    assert "李娜" not in detail and "‹sealed›" in detail
