"""BeatGrid's spatial core: pure computation on GeoDataFrames behind one entry point.

:class:`Project` opens a project (a GeoPackage file or a PostGIS schema) and reaches
every capability: ``project.grids``, ``project.coverage``, ``project.policing``.
Capabilities live in packages (:mod:`beatgrid.gis.grids`, :mod:`beatgrid.gis.coverage`,
:mod:`beatgrid.gis.policing`), file and database access in :mod:`beatgrid.gis.io`,
layers and their columns in :mod:`beatgrid.gis.schema`, settings in
:mod:`beatgrid.gis.config`.

Examples
--------
>>> from beatgrid.gis import Project
>>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").validate().ok
True
"""

from beatgrid.gis.config import Config, default_config
from beatgrid.gis.errors import (BeatGridError, ConflictError, CRSError, InputError,
                                 NotFoundError, PolicyError, ValidationError)
from beatgrid.gis.project import Project

__all__ = ["BeatGridError", "CRSError", "Config", "ConflictError", "InputError",
           "NotFoundError", "PolicyError", "Project", "ValidationError", "default_config"]
