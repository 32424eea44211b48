"""Vector tiles of the project's layers (pure computation, no I/O).

- :mod:`.settings`: ``gis/defaults/tiles.toml`` (page sizes, tile grid, per-layer
  attributes and zooms), loaded and checked once;
- :mod:`.grid`: the WebMercatorQuad tile maths (morecantile) and TileJSON documents;
- :mod:`.mvt`: a layer prepared for tiling (:class:`~.mvt.TileLayer`: EPSG:3857
  geometries, an STRtree, attribute values) and its Mapbox Vector Tiles
  (``mapbox-vector-tile``), with the same steps as PostGIS's ``ST_AsMVTGeom``.

The reads (which layer, from which store, cached by the store's state) are in
:mod:`beatgrid.gis.io.feature_reads`; on PostGIS the tiles are made by ``ST_AsMVT``
there.
"""
