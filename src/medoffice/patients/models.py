"""Models of the patients app."""
