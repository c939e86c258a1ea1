"""Email: messages are written to an outbox table in the request's transaction and
delivered after commit by a per-process background sender (and ``flask outbox send``)."""
