"""Load benchmark for the booking API (see bench/README.md)."""
