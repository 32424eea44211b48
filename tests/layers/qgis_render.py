"""Render layers of a GeoPackage with their default QGIS styles to PNG (PyQGIS, headless).

Run by Debian's Python with ``python3-qgis`` (not BeatGrid's environment), as a planner's
QGIS would open the project: each layer loads its default style from the file's
``layer_styles`` table and is drawn alone over white. Prints one JSON object: per layer,
whether the style loaded, the renderer's type and the PNG written.

Usage: python3 qgis_render.py PROJECT.gpkg OUT_DIR LAYER [LAYER ...]
"""

import json
import os
import sys

from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def main(path: str, out_dir: str, layers: list[str]) -> dict:
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    shown = {}
    for name in layers:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        if not layer.isValid():
            shown[name] = {"valid": False}
            continue
        message, loaded = layer.loadDefaultStyle()
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(layer.crs())
        settings.setExtent(layer.extent())
        settings.setOutputSize(QSize(800, 600))
        settings.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        png = f"{out_dir}/{name}.png"
        job.renderedImage().save(png, "png")
        shown[name] = {"valid": True, "loaded": bool(loaded), "message": message,
                       "renderer": layer.renderer().type(), "png": png,
                       "features": layer.featureCount()}
    return shown


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3:])), flush=True)
    # PyQGIS 3.22 can crash while tearing down a standalone application (exitQgis with
    # layers alive): the PNGs and the answer are written, so leave without the teardown.
    os._exit(0)
