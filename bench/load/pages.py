"""What a simulated person reads off a page: the fields of a form, the links to clients,
photos and the next page. Plain html.parser: the pages are the project's own templates."""

from __future__ import annotations

import re
from html.parser import HTMLParser

CLIENT_LINK = re.compile(r'href="/clients/([0-9a-f-]{36})/"')
PHOTO_LINK = re.compile(r'src="(/clients/[0-9a-f-]{36}/photos/[0-9a-f-]{36}/[^"]*)"')
NEXT_LINK = re.compile(r'href="\?after=([^"]+)" rel="next"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def client_ids(html: str) -> list[str]:
    return list(dict.fromkeys(CLIENT_LINK.findall(html)))


def photo_urls(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in PHOTO_LINK.findall(html)]


def next_after(html: str) -> str | None:
    found = NEXT_LINK.search(html)
    return found.group(1) if found else None


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if found is None:
        raise ValueError("the page has no CSRF token")
    return found.group(1)


class _Forms(HTMLParser):
    """The values a browser would submit from each POST form of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self._form: dict[str, str] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {name: value or "" for name, value in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._form = {}
            self.forms.append(self._form)
        elif self._form is None or "name" not in a:
            return
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:
                self._form[a["name"]] = a.get("value") or "on"
        elif tag == "input" and a.get("type") not in ("submit", "button", "file"):
            self._form[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[a["name"]] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None


SELECTED = re.compile(r'<select[^>]*name="([^"]+)"[^>]*>(?:(?!</select>).)*?'
                      r'<option value="([^"]*)"[^>]*selected', flags=re.S)


def form_fields(html: str) -> dict[str, str]:
    """The fields of the page's main POST form: the one with the most fields (the menu's
    sign-out and language forms have one or two). Selects keep their selected option."""
    parser = _Forms()
    parser.feed(html)
    fields = max(parser.forms, key=len, default={})
    fields.update(SELECTED.findall(html))
    return fields
