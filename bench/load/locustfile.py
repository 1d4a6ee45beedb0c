"""What each simulated person does: sign in once (password, then the authenticator code
for the roles that need one), then browse the list, search, open clients, look at a photo
of one of her clients (stylists) and edit a client, with think time between clicks.

Run by bench/load/run.py, which writes the accounts file named by BENCH_LOAD_ACCOUNTS and
sets BENCH_LOAD_THINK ("min,max" seconds). Requests are named by what the person did,
not by URL, so the report has one row per kind of click.
"""

from __future__ import annotations

import binascii
import itertools
import json
import os
import random
import string
from pathlib import Path

from django_otp.oath import totp  # RFC 6238 alone: importing it sets nothing of Django up
from locust import HttpUser, between, events, task

from bench.load import pages

ACCOUNTS = json.loads(Path(os.environ["BENCH_LOAD_ACCOUNTS"]).read_text())
_NEXT_ACCOUNT = itertools.count()
THINK = [float(x) for x in os.environ.get("BENCH_LOAD_THINK", "2,8").split(",")]
SURNAMES = "王李张刘陈杨黄赵吴周"
WORK_TIMES: list[float] = []  # ms of every request after sign-in, failed ones too


@events.request.add_listener
def _working(name: str, response_time: float, **_kwargs) -> None:
    # The goals are on the staff's work: signing in (a password hash, once a day) is not.
    if not name.startswith("sign-in"):
        WORK_TIMES.append(response_time)


@events.quitting.add_listener
def _write_work_times(**_kwargs) -> None:
    Path(os.environ["BENCH_LOAD_WORK"]).write_text(json.dumps(WORK_TIMES))


class Staff(HttpUser):
    wait_time = between(*THINK)

    def on_start(self) -> None:
        # One account per simulated person: a TOTP code is accepted once per device.
        self.account = ACCOUNTS[next(_NEXT_ACCOUNT) % len(ACCOUNTS)]
        self.rng = random.Random(self.account["username"])
        self.seen: list[str] = []  # clients on the last list or search page
        self.after: str | None = None
        self.csrf = ""
        self.sign_in()

    # -- signing in ------------------------------------------------------------------------
    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="sign-in: form")
        with self.client.post("/accounts/login/", name="sign-in: password", catch_response=True,
                              data={"username": self.account["username"],
                                    "password": self.account["password"],
                                    "csrfmiddlewaretoken": pages.csrf_token(page.text),
                                    "next": "/clients/"}) as response:
            if "/accounts/otp/" in response.url:
                response.success()
                self.second_factor(response.text)
            elif "/accounts/login/" in response.url:
                response.failure("the password was refused")
        self.list_page()

    def second_factor(self, html: str) -> None:
        key = binascii.unhexlify(self.account["totp_key"])
        with self.client.post("/accounts/otp/", name="sign-in: authenticator code",
                              catch_response=True,
                              data={"token": f"{totp(key):06d}", "next": "/clients/",
                                    "csrfmiddlewaretoken": pages.csrf_token(html)}) as response:
            if "/accounts/otp/" in response.url:
                response.failure("the authenticator code was refused")

    # -- working -----------------------------------------------------------------------------
    def _remember(self, html: str) -> None:
        self.seen = pages.client_ids(html) or self.seen
        self.csrf = pages.csrf_token(html)

    @task(4)
    def list_page(self) -> None:
        # The first page, or the next one after the page before (as "Next ›" does). Page 1
        # is named by location: it should cost the same for the staff of every location.
        if self.after and self.rng.random() < 0.5:
            response = self.client.get(f"/clients/?after={self.after}", name="list, next page")
        else:
            response = self.client.get("/clients/",
                                       name=f"list, page 1 ({self.account['location']})")
        if response.ok:
            self._remember(response.text)
            self.after = pages.next_after(response.text)

    @task(3)
    def search(self) -> None:
        # The last four digits of a phone, or a surname: what staff type at the desk.
        q = "".join(self.rng.choices(string.digits, k=4)) if self.rng.random() < 0.6 \
            else self.rng.choice(SURNAMES)
        if not self.csrf:
            self.list_page()
        response = self.client.post("/clients/", name="search",
                                    data={"q": q, "csrfmiddlewaretoken": self.csrf})
        if response.ok:
            self._remember(response.text)

    @task(4)
    def detail(self) -> None:
        if self.seen:
            self.client.get(f"/clients/{self.rng.choice(self.seen)}/", name="detail")

    @task(2)
    def photo(self) -> None:
        """A stylist opens one of her clients and looks at a photo."""
        mine = self.account["photo_clients"]
        if not mine:
            return self.detail()  # a receptionist has no photos to see (ceiling L2)
        response = self.client.get(f"/clients/{self.rng.choice(mine)}/", name="detail")
        urls = pages.photo_urls(response.text) if response.ok else []
        if not urls:
            return None
        with self.client.get(self.rng.choice(urls), name="photo",
                             catch_response=True) as photo:
            if photo.ok and not photo.headers.get("Content-Type", "").startswith("image/"):
                photo.failure(f"not an image: {photo.headers.get('Content-Type')}")
        return None

    @task(1)
    def edit(self) -> None:
        """Open a client's edit form and save it with a new WeChat ID."""
        if not self.seen:
            return
        url = f"/clients/{self.rng.choice(self.seen)}/edit/"
        form = self.client.get(url, name="edit: form")
        if not form.ok:
            return
        fields = pages.form_fields(form.text)
        fields["wechat_id"] = f"wx_load_{self.rng.randrange(10**8):08d}"
        with self.client.post(url, data=fields, name="edit: save", catch_response=True,
                              allow_redirects=False) as saved:
            if saved.status_code != 302:
                saved.failure(f"not saved (HTTP {saved.status_code}): the form was refused")
