"""Walk-in queue: tickets drawn at the kiosk or checked in from appointments, called to counters."""
