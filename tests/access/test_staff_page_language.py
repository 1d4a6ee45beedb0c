"""The owner's staff page names what a person did by the audit catalogue's label, in the
reader's language, not by the name the hash chain keeps."""

from __future__ import annotations

from django.urls import reverse


def test_recent_access_reads_as_words_in_chinese_and_english(login, sign_in, owner, stylist,
                                                            client_record):
    sign_in(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    http = login(owner)
    url = reverse("access:staff_detail", args=[stylist.pk])
    recent = {lang: http.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
              .split("</table>")[-2] for lang in ("zh-hans", "en")}
    assert ">查看客户档案<" in recent["zh-hans"]
    assert ">Opened a client record<" in recent["en"]
    assert ">client.open<" not in recent["zh-hans"] + recent["en"]
