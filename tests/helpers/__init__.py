"""Shared test helpers, imported as ``tests.helpers.*``: made-up catalogs, a real Chroma server, the bot harness."""
