"""Third-party JavaScript and CSS bundled with BeatGrid so that maps work offline.

:mod:`beatgrid.layers.inline` writes these files into every map's HTML; nothing is
fetched from a CDN when a map is built, saved, opened or tested. The files are the
unmodified ``dist`` files of the npm registry packages below (taken with
``npm pack NAME@VERSION``); :data:`BUNDLE` records their checksums and the tests
check them.

========================  =========================  ================  ===================
file                      npm package, path          licence           licence file
========================  =========================  ================  ===================
leaflet.js, leaflet.css   leaflet@1.9.4, dist/       BSD-2-Clause      LICENSE-leaflet.txt
layers.png, layers-2x.png leaflet@1.9.4, dist/images BSD-2-Clause      LICENSE-leaflet.txt
marker-icon.png,          leaflet@1.9.4, dist/images BSD-2-Clause      LICENSE-leaflet.txt
marker-icon-2x.png,
marker-shadow.png
jquery.slim.min.js        jquery@3.7.1, dist/        MIT               LICENSE-jquery.txt
========================  =========================  ================  ===================

Why these and not the rest of folium's defaults: folium's ``Map.default_js`` /
``default_css`` also load Bootstrap 5, Bootstrap 3 glyphicons, Font Awesome and
Leaflet.awesome-markers. BeatGrid maps draw points as circle markers and use no
Bootstrap component, so those are left out; only ``folium.Icon`` (awesome markers)
needs them, and :func:`beatgrid.layers.html_output.save_map` refuses a map that uses it.
jQuery (slim build, no ajax/effects) is kept because folium's ``Popup`` template and
``Map.keep_in_front`` call ``$``.

To update: ``npm pack leaflet@X`` in a temporary directory, copy the files listed
above, and update :data:`BUNDLE` (the tests compare the checksums).

Examples
--------
>>> from beatgrid.layers.assets import BUNDLE, LICENSES
>>> BUNDLE["leaflet.js"][:2], LICENSES["jquery"]
(('leaflet@1.9.4', 'dist/leaflet.js'), 'LICENSE-jquery.txt')
"""

#: file name -> (npm package@version, path in the package, sha256 of the file)
BUNDLE = {
    "leaflet.js": ("leaflet@1.9.4", "dist/leaflet.js",
                   "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a"),
    "leaflet.css": ("leaflet@1.9.4", "dist/leaflet.css",
                    "a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6"),
    "layers.png": ("leaflet@1.9.4", "dist/images/layers.png",
                   "1dbbe9d028e292f36fcba8f8b3a28d5e8932754fc2215b9ac69e4cdecf5107c6"),
    "layers-2x.png": ("leaflet@1.9.4", "dist/images/layers-2x.png",
                      "066daca850d8ffbef007af00b06eac0015728dee279c51f3cb6c716df7c42edf"),
    "marker-icon.png": ("leaflet@1.9.4", "dist/images/marker-icon.png",
                        "574c3a5cca85f4114085b6841596d62f00d7c892c7b03f28cbfa301deb1dc437"),
    "marker-icon-2x.png": ("leaflet@1.9.4", "dist/images/marker-icon-2x.png",
                           "00179c4c1ee830d3a108412ae0d294f55776cfeb085c60129a39aa6fc4ae2528"),
    "marker-shadow.png": ("leaflet@1.9.4", "dist/images/marker-shadow.png",
                          "264f5c640339f042dd729062cfc04c17f8ea0f29882b538e3848ed8f10edb4da"),
    "jquery.slim.min.js": ("jquery@3.7.1", "dist/jquery.slim.min.js",
                           "9261efb3407e3a9096e4654750d8eff6b3a663422f48845c7fbcc65034c340cf"),
}

#: licence files kept beside the bundle (package -> file)
LICENSES = {"leaflet": "LICENSE-leaflet.txt", "jquery": "LICENSE-jquery.txt"}
