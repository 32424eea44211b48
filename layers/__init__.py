"""Maps of BeatGrid: offline folium maps for planners and leadership.

* :mod:`beatgrid.layers.base` -- the map-building API in one import:
  :func:`~beatgrid.layers.base.base_map`, :func:`~beatgrid.layers.base.add_layer`,
  :func:`~beatgrid.layers.base.add_legend`, :func:`~beatgrid.layers.base.save_map`,
  :func:`~beatgrid.layers.base.map_html`: self-contained HTML maps that load nothing
  from the internet. It re-exports the modules that hold each part:

  - :mod:`beatgrid.layers.offline_map` -- ``base_map`` and ``OfflineMap``;
  - :mod:`beatgrid.layers.geojson_layer` -- ``add_layer``;
  - :mod:`beatgrid.layers.legend` -- ``add_legend``;
  - :mod:`beatgrid.layers.html_output` -- ``map_html``, ``save_map`` and the check
    that a page loads nothing from outside the machine;
  - :mod:`beatgrid.layers.inline` -- Leaflet and jQuery from
    :mod:`beatgrid.layers.assets`, written into the page.

* :mod:`beatgrid.layers.style` -- the shared colours (severity, coverage quality,
  household band) and the helpers that turn values into them.
* :mod:`beatgrid.layers.values` -- table cells as JSON-plain values
  (:func:`~beatgrid.layers.values.json_value`) and the missing-value test.
* ``beatgrid.layers.<topic>_map`` -- one module per kind of map (grids, coverage,
  staffing...), built on the above. See ``docs/maps.md``.
"""
