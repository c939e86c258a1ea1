"""iCalendar output (pure)."""
