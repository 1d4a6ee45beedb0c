"""3. Field encryption and decryption: vault AES-GCM, raw and through the model field,
against Fernet and a generic encrypted-field library's path."""

from __future__ import annotations

import gc
import statistics
import time

from bench.client_records import RESULTS
from bench.common import Result, median, ms, say, us


# -- 3. fields -------------------------------------------------------------------------
def _each(fn, items) -> list[float]:
    """Time fn(item) for each item on its own."""
    clock, times = time.perf_counter, []
    for item in items:
        began = clock()
        fn(item)
        times.append(clock() - began)
    return times


def _bulk(fn, items, repeat: int = 5) -> float:
    """CPU time of one loop over all items, best of `repeat` runs.

    A loop of half a second is always interrupted on a busy machine, so bulk runs are
    timed in this thread's CPU time (pure computation either way); single values, timed
    on their own, use the wall clock.
    """
    runs = []
    for _ in range(repeat):
        gc.collect()
        began = time.thread_time()
        for item in items:
            fn(item)
        runs.append(time.thread_time() - began)
    return min(runs)


def measure_fields(bulk: int) -> None:
    from cryptography.fernet import Fernet

    from access import door
    from records.models import Client
    from vault import aead
    from vault import scope as vault_scope
    from vault.classes import DataClass
    from vault.scope import Sealed

    # Real values: the L2 text fields of the first clients (name, phone, WeChat ID, email).
    names = ("full_name", "phone", "wechat_id", "email")
    values: list[tuple] = []
    clients = list(Client.objects.order_by("pk").only("id", *names)[:bulk])
    with door.open_for_system(actor="bench", purpose="benchmark setup: field values",
                              subjects=[c.pk for c in clients], ceiling=DataClass.L2):
        scope = vault_scope.current()
        scope.prefetch(c.pk for c in clients)
        for client in clients:
            for name in names:
                value = getattr(client, name)
                if value is not None:
                    values.append((client.pk, name, str(value)))
    values = values[:bulk]
    subjects = sorted({pk for pk, _, _ in values})
    say(f"field values: {len(values)} values of {len(subjects)} clients, "
        f"{statistics.mean(len(v.encode()) for _, _, v in values):.1f} bytes on average")

    fernet = Fernet(Fernet.generate_key())
    with door.open_for_system(actor="bench", purpose="benchmark: field encryption",
                              subjects=subjects, ceiling=DataClass.L2):
        scope = vault_scope.current()
        scope.prefetch(subjects)  # keys unwrapped before timing, as a page does up front
        ciphers = {s: scope.sealing_cipher(s) for s in subjects}
        # The header is built once per key, as the scope does for every seal it makes.
        headers = {s: aead.header(aead.KeyId(s, gen)) for s, (gen, _) in ciphers.items()}
        raw = [(ciphers[pk][1], headers[pk], v.encode(),
                aead.context("records.client", name, pk, pk)) for pk, name, v in values]
        sealed = [aead.seal_under(c, head, data, ctx) for c, head, data, ctx in raw]
        opened = list(zip([c for c, _, _, _ in raw], sealed, [ctx for _, _, _, ctx in raw],
                          strict=True))
        plain_bytes = [v.encode() for _, _, v in values]
        tokens = [fernet.encrypt(b) for b in plain_bytes]

        def vault_seal(item):
            return aead.seal_under(item[0], item[1], item[2], item[3])

        def vault_open(item):
            return aead.open_(item[0], item[1], item[2]).decode()

        def fernet_encrypt(data):
            return fernet.encrypt(data)

        def fernet_decrypt(token):
            return fernet.decrypt(token).decode()

        fields = {name: Client._meta.get_field(name) for name in names}
        # The field path: assignment and pre_save (what Model.save runs) seal a value; a
        # stored value (Sealed, as from_db_value makes it) unseals on attribute access. A
        # client's fields share one instance, as on a page or in a save.
        shells = {pk: Client(id=pk) for pk in subjects}
        writers = [(shells[pk], fields[name], name, v) for pk, name, v in values]
        # The same path in a generic encrypted-field library: Fernet in the field's
        # get_db_prep_value and from_db_value (what django-fernet-fields does).
        fernet_field = FernetTextField(fernet)
        fernet_writers = [(fernet_field, v) for _, _, v in values]

        def fernet_field_seal(item):
            return item[0].get_db_prep_save(item[1], connection=None)

        def fernet_field_open(token):
            return fernet_field.from_db_value(token, None, None)

        def field_seal(item):
            instance, field, name, value = item
            setattr(instance, name, value)
            return field.pre_save(instance, True)

        blobs = [field_seal(item) for item in writers]

        def readers():
            out, rows = [], {}
            for (pk, name, _), blob in zip(values, blobs, strict=True):
                instance = rows.get(pk) or rows.setdefault(pk, Client(id=pk))
                instance.__dict__[name] = Sealed(blob)
                out.append((instance, name))
            return out

        def field_open(item):
            return getattr(item[0], item[1])

        # Check the paths round-trip before timing them.
        assert [vault_open(o) for o in opened[:50]] == [v for _, _, v in values[:50]]
        assert [field_open(r) for r in readers()[:50]] == [v for _, _, v in values[:50]]
        scope.close()  # keys are unwrapped again below
        scope.prefetch(subjects)

        single = {
            "encrypt": {
                "vault AES-GCM (aead.seal_under)": _each(vault_seal, raw),
                "Fernet": _each(fernet_encrypt, plain_bytes),
                "vault field (assign + pre_save)": _each(field_seal, writers),
                "Fernet field": _each(fernet_field_seal, fernet_writers),
            },
            "decrypt": {
                "vault AES-GCM (aead.open_)": _each(vault_open, opened),
                "Fernet": _each(fernet_decrypt, tokens),
                "vault field (attribute read in scope)": _each(field_open, readers()),
                "Fernet field": _each(fernet_field_open, tokens),
            },
        }
        def field_open_bulk() -> float:
            # Fresh instances for each run; the keys stay unwrapped, as on a page after the
            # door's prefetch.
            runs = []
            for _ in range(5):
                scope.close()
                scope.prefetch(subjects)
                items = readers()
                gc.collect()
                began = time.thread_time()
                for item in items:
                    field_open(item)
                runs.append(time.thread_time() - began)
            return min(runs)

        bulk_times = {
            "encrypt": {
                "vault AES-GCM (aead.seal_under)": _bulk(vault_seal, raw),
                "Fernet": _bulk(fernet_encrypt, plain_bytes),
                "vault field (assign + pre_save)": _bulk(field_seal, writers),
                "Fernet field": _bulk(fernet_field_seal, fernet_writers),
            },
            "decrypt": {
                "vault AES-GCM (aead.open_)": _bulk(vault_open, opened),
                "Fernet": _bulk(fernet_decrypt, tokens),
                "vault field (attribute read in scope)": field_open_bulk(),
                "Fernet field": _bulk(fernet_field_open, tokens),
            },
        }
    n = len(values)
    # The target is the field crypto: our ciphertext (header, nonce, binding) against a
    # Fernet token. The whole field paths are compared too, each with its own Django
    # plumbing, and against bare Fernet, for information.
    cipher = {"encrypt": "vault AES-GCM (aead.seal_under)", "decrypt": "vault AES-GCM (aead.open_)"}
    path = {"encrypt": "vault field (assign + pre_save)",
            "decrypt": "vault field (attribute read in scope)"}
    for op in ("encrypt", "decrypt"):
        for ours, theirs, target in ((cipher[op], "Fernet", True),
                                     (path[op], "Fernet field", False),
                                     (path[op], "Fernet", False)):
            base_one, one = median(single[op][theirs]), median(single[op][ours])
            base_all, total = bulk_times[op][theirs], bulk_times[op][ours]
            goal = "≥ 5× faster than Fernet" if target else "(information)"
            RESULTS.append(Result(f"{op} one field value, {ours}, median of {n}", us(one),
                                  f"{us(base_one)} {theirs}", f"{base_one / one:.1f}× faster",
                                  goal, base_one / one >= 5 if target else None))
            RESULTS.append(Result(f"{op} {n:,} values in bulk (CPU time), {ours}", ms(total),
                                  f"{ms(base_all)} {theirs}", f"{base_all / total:.1f}× faster",
                                  goal, base_all / total >= 5 if target else None))
    say("field encryption measured")


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
