"""Maps of BeatGrid: offline folium maps for planners and leadership.

* :mod:`beatgrid.layers.base` -- :func:`~beatgrid.layers.base.base_map`,
  :func:`~beatgrid.layers.base.add_layer`, :func:`~beatgrid.layers.base.add_legend`,
  :func:`~beatgrid.layers.base.save_map`: self-contained HTML maps that load nothing
  from the internet (Leaflet is inlined from :mod:`beatgrid.layers.assets`).
* :mod:`beatgrid.layers.style` -- the shared colours (severity, coverage quality,
  household band) and the helpers that turn values into them.
* ``beatgrid.layers.<topic>_map`` -- one module per kind of map (grids, coverage,
  staffing...), built on the two above. See ``docs/maps.md``.
"""
