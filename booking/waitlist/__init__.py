"""The waitlist: citizens' wishes for a seat when none fits, and the offers made to them
when a matching seat frees up (see :mod:`booking.waitlist.matching`)."""
