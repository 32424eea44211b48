"""gis/grids."""
