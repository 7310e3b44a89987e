"""The browser side: a local Bot API server, the chat playground that runs the real bot against it, and
the search HTTP API. An outer layer: it imports ``stylist`` and ``bot``; they never import it."""
