"""Models of the reception app."""
