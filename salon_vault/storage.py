"""Static files storage: WhiteNoise's hashed, compressed files once collectstatic has run."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest that collectstatic writes (cached for a year).

    A process that runs with DEBUG off before anything was collected (a benchmark, a
    management command rendering a page) has no manifest at all: it links the names as
    written instead of failing every page. Once a manifest exists, a name missing from it
    is the error it always was.
    """

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
