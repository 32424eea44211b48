"""QGIS styles of BeatGrid's layers: ``styles.toml`` (package data, no code).

``styles.toml`` describes the symbology of each layer a planner opens in QGIS: the basic
grids by households within the band, the beats by staffing severity, the camera views by
quality level, the coverage figures, the blind spots, the old estates by risk, the
cameras and the proposed cameras with their direction. Its colours are those of
:mod:`beatgrid.layers.style` (the maps'). :mod:`beatgrid.gis.io.qgis_styles` renders it
as QML and SLD with the project's settings (the household band) and writes the
GeoPackage ``layer_styles`` table QGIS reads (``beatgrid styles --project P``).
"""
