"""The HTTP API under /v1: thin handlers that parse, check the caller, call the store and
shape the answer."""
