"""Plaintext twins of the record models, installed only by ``bench.settings``.

They have the same fields as ``records.models`` with ordinary columns instead of
encrypted ones, so the benchmark can render the same templates over unencrypted data.
The app has no migrations: the benchmark creates its tables with the schema editor.
"""
