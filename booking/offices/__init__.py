"""Offices, services, availability rules and closures."""
