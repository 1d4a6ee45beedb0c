"""The demo's photos and consent forms, made from a seed without any asset files."""

from __future__ import annotations

import io
import random
from collections.abc import Iterable

from PIL import Image, ImageDraw, ImageOps


def demo_jpeg(*, seed: int, index: int, kind: str) -> bytes:
    """A 320×320 stylised portrait: the 'after' picture has the new, brighter colour."""
    # Both pictures of a pair draw the same numbers, so only the hair colour differs.
    rng = random.Random(f"salon-vault-photo:{seed}:{index}")
    before = (rng.randint(40, 90), rng.randint(25, 60), rng.randint(15, 40))
    after = (rng.randint(120, 200), rng.randint(60, 140), rng.randint(40, 120))
    hair = after if kind == "after" else before
    top, bottom = (rng.randint(200, 250),) * 3, (rng.randint(150, 200), 170, 190)
    img = ImageOps.colorize(Image.linear_gradient("L").resize((320, 320)), top, bottom)
    draw = ImageDraw.Draw(img)
    draw.ellipse((70, 40, 250, 260), fill=hair)  # hair behind the face
    draw.ellipse((100, 80, 220, 230), fill=(236, 200, 176))
    draw.rectangle((60, 250, 260, 320), fill=(rng.randint(60, 200), 90, 120))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=82)
    return out.getvalue()


def demo_pdf(*, lines: Iterable[str]) -> bytes:
    """A one-page PDF with a correct cross-reference table (ASCII text, Helvetica)."""
    # Brackets instead of parentheses and backslashes: nothing to escape in the strings.
    safe = (line.translate(str.maketrans("()\\", "[]/")) for line in lines)
    text = "".join(f"({line}) Tj 0 -22 Td\n" for line in safe)
    stream = f"BT /F1 13 Tf 60 780 Td\n{text}ET".encode("ascii")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
