"""The chat protocol: framing, message types, validation, error codes and names.

Both the server and the client import this package; it knows nothing of either.
"""
