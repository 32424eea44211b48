"""BeatGrid's spatial core: pure computation on GeoDataFrames.

Modules take GeoDataFrames, settings and policies and return GeoDataFrames,
DataFrames or small dataclasses; file and database access lives in
:mod:`beatgrid.gis.io`. Layers and their columns are defined in
:mod:`beatgrid.gis.schema`.
"""
