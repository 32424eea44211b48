"""gis/policing."""
