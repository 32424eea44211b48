"""gis/coverage."""
