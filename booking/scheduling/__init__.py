"""Free slots, booking, cancelling and moving appointments."""
