"""Audit log of staff actions."""
