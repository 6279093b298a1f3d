"""cli engine."""
