"""3. Field encryption and decryption: vault AES-GCM, raw and through the model field,
against Fernet and a generic encrypted-field library's path."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

from bench.client_records import RESULTS
from bench.common import Result, median, ms, say, us

NAMES = ("full_name", "phone", "wechat_id", "email")  # the L2 text fields of a client
CIPHER = {"encrypt": "vault AES-GCM (aead.seal_under)", "decrypt": "vault AES-GCM (aead.open_)"}
PATH = {"encrypt": "vault field (assign + pre_save)",
        "decrypt": "vault field (attribute read in scope)"}


def _each(fn, items) -> list[float]:
    """Time fn(item) for each item on its own."""
    clock, times = time.perf_counter, []
    for item in items:
        began = clock()
        fn(item)
        times.append(clock() - began)
    return times


def _bulk(fn, make_items: Callable[[], list], repeat: int = 5) -> float:
    """CPU time of one loop over all items, best of `repeat` runs (items made afresh
    before each run, untimed).

    A loop of half a second is always interrupted on a busy machine, so bulk runs are
    timed in this thread's CPU time (pure computation either way); single values, timed
    on their own, use the wall clock.
    """
    runs = []
    for _ in range(repeat):
        items = make_items()
        gc.collect()
        began = time.thread_time()
        for item in items:
            fn(item)
        runs.append(time.thread_time() - began)
    return min(runs)


def field_values(bulk: int) -> list[tuple]:
    """Real values: (client id, field, text) of the L2 text fields of the first clients."""
    from access import door
    from records.models import Client
    from vault import scope as vault_scope
    from vault.classes import DataClass

    values: list[tuple] = []
    clients = list(Client.objects.order_by("pk").only("id", *NAMES)[:bulk])
    with door.open_for_system(actor="bench", purpose="benchmark setup: field values",
                              subjects=[c.pk for c in clients], ceiling=DataClass.L2):
        vault_scope.current().prefetch(c.pk for c in clients)
        for client in clients:
            values += [(client.pk, name, str(getattr(client, name))) for name in NAMES
                       if getattr(client, name) is not None]
    return values[:bulk]


class Paths:
    """Each way of sealing and opening the values, with the items it works on, inside an
    open scope whose keys are unwrapped (as a page does up front)."""

    def __init__(self, values: list[tuple], scope) -> None:
        from cryptography.fernet import Fernet

        from records.models import Client
        from vault import aead

        self.values, self.scope = values, scope
        self.subjects = sorted({pk for pk, _, _ in values})
        self.fernet = Fernet(Fernet.generate_key())
        self.fernet_field = FernetTextField(self.fernet)
        ciphers = {s: scope.sealing_cipher(s) for s in self.subjects}
        # The header is built once per key, as the scope does for every seal it makes.
        headers = {s: aead.header(aead.KeyId(s, gen)) for s, (gen, _) in ciphers.items()}
        self.raw = [(ciphers[pk][1], headers[pk], v.encode(),
                     aead.context("records.client", name, pk, pk)) for pk, name, v in values]
        self.opened = [(c, aead.seal_under(c, head, data, ctx), ctx)
                       for c, head, data, ctx in self.raw]
        self.plain = [v.encode() for _, _, v in values]
        self.tokens = [self.fernet.encrypt(b) for b in self.plain]
        # The field path: assignment and pre_save (what Model.save runs) seal a value; a
        # stored value (Sealed, as from_db_value makes it) unseals on attribute access. A
        # client's fields share one instance, as on a page or in a save.
        fields = {name: Client._meta.get_field(name) for name in NAMES}
        shells = {pk: Client(id=pk) for pk in self.subjects}
        self.writers = [(shells[pk], fields[name], name, v) for pk, name, v in values]
        self.blobs = [self.field_seal(item) for item in self.writers]
        # Every path is timed through one plain function call of one item, ours and theirs
        # alike, the module functions bound beforehand.
        seal_under, open_, fernet = aead.seal_under, aead.open_, self.fernet

        def vault_seal(item):
            return seal_under(item[0], item[1], item[2], item[3])

        def vault_open(item):
            return open_(item[0], item[1], item[2]).decode()

        def fernet_encrypt(data):
            return fernet.encrypt(data)

        def fernet_decrypt(token):
            return fernet.decrypt(token).decode()

        self.vault_seal, self.vault_open = vault_seal, vault_open
        self.fernet_encrypt, self.fernet_decrypt = fernet_encrypt, fernet_decrypt

    @staticmethod
    def field_seal(item):
        instance, field, name, value = item
        setattr(instance, name, value)
        return field.pre_save(instance, True)

    @staticmethod
    def field_open(item):
        return getattr(item[0], item[1])

    def readers(self) -> list[tuple]:
        """Fresh instances holding the sealed values; the keys unwrapped again, as on a page
        after the door's prefetch."""
        from records.models import Client
        from vault.scope import Sealed

        self.scope.close()
        self.scope.prefetch(self.subjects)
        out, rows = [], {}
        for (pk, name, _), blob in zip(self.values, self.blobs, strict=True):
            instance = rows.get(pk) or rows.setdefault(pk, Client(id=pk))
            instance.__dict__[name] = Sealed(blob)
            out.append((instance, name))
        return out

    def table(self) -> dict[str, dict[str, tuple[Callable, Callable[[], list]]]]:
        """{operation: {path: (function of one item, the items)}}. The Fernet field is the
        same path in a generic encrypted-field library (django-fernet-fields)."""
        field = self.fernet_field
        fernet_writers = [(field, v) for _, _, v in self.values]
        return {
            "encrypt": {
                CIPHER["encrypt"]: (self.vault_seal, lambda: self.raw),
                "Fernet": (self.fernet_encrypt, lambda: self.plain),
                PATH["encrypt"]: (self.field_seal, lambda: self.writers),
                "Fernet field": (lambda item: item[0].get_db_prep_save(item[1], None),
                                 lambda: fernet_writers),
            },
            "decrypt": {
                CIPHER["decrypt"]: (self.vault_open, lambda: self.opened),
                "Fernet": (self.fernet_decrypt, lambda: self.tokens),
                PATH["decrypt"]: (self.field_open, self.readers),
                "Fernet field": (lambda t: field.from_db_value(t, None, None),
                                 lambda: self.tokens),
            },
        }

    def check(self) -> None:
        """The paths round-trip before they are timed."""
        expected = [v for _, _, v in self.values[:50]]
        assert [self.vault_open(o) for o in self.opened[:50]] == expected
        assert [self.field_open(r) for r in self.readers()[:50]] == expected


def measure_fields(bulk: int) -> None:
    from access import door
    from vault import scope as vault_scope
    from vault.classes import DataClass

    values = field_values(bulk)
    subjects = sorted({pk for pk, _, _ in values})
    say(f"field values: {len(values)} values of {len(subjects)} clients, "
        f"{statistics.mean(len(v.encode()) for _, _, v in values):.1f} bytes on average")
    with door.open_for_system(actor="bench", purpose="benchmark: field encryption",
                              subjects=subjects, ceiling=DataClass.L2):
        scope = vault_scope.current()
        scope.prefetch(subjects)  # keys unwrapped before timing, as a page does up front
        paths = Paths(values, scope)
        paths.check()
        table = paths.table()
        single = {op: {label: _each(fn, items()) for label, (fn, items) in row.items()}
                  for op, row in table.items()}
        bulk_times = {op: {label: _bulk(fn, items) for label, (fn, items) in row.items()}
                      for op, row in table.items()}
    field_rows(single, bulk_times, len(values))
    say("field encryption measured")


def field_rows(single: dict, bulk_times: dict, n: int) -> None:
    # The target is the field crypto: our ciphertext (header, nonce, binding) against a
    # Fernet token. The whole field paths are compared too, each with its own Django
    # plumbing, and against bare Fernet, for information.
    for op in ("encrypt", "decrypt"):
        for ours, theirs, target in ((CIPHER[op], "Fernet", True),
                                     (PATH[op], "Fernet field", False),
                                     (PATH[op], "Fernet", False)):
            base_one, one = median(single[op][theirs]), median(single[op][ours])
            base_all, total = bulk_times[op][theirs], bulk_times[op][ours]
            goal = "≥ 5× faster than Fernet" if target else "(information)"
            RESULTS.append(Result(f"{op} one field value, {ours}, median of {n}", us(one),
                                  f"{us(base_one)} {theirs}", f"{base_one / one:.1f}× faster",
                                  goal, base_one / one >= 5 if target else None))
            RESULTS.append(Result(f"{op} {n:,} values in bulk (CPU time), {ours}", ms(total),
                                  f"{ms(base_all)} {theirs}", f"{base_all / total:.1f}× faster",
                                  goal, base_all / total >= 5 if target else None))


class FernetTextField:
    """The field path of a generic encrypted-field library, reduced to what it runs per
    value: Fernet in get_db_prep_save and in from_db_value, with the text encoding."""

    def __init__(self, fernet) -> None:
        self.fernet = fernet

    def get_db_prep_save(self, value, connection):
        if value is None:
            return None
        return self.fernet.encrypt(str(value).encode())

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return self.fernet.decrypt(bytes(value)).decode()
