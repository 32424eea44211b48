"""``Project``: the one entry point to a BeatGrid project and every capability.

A project is a set of layers in a store (a GeoPackage file or a PostGIS schema, see
:mod:`beatgrid.gis.io.store`) and a configuration (:class:`~beatgrid.gis.config.Config`,
loaded and validated once). The command line, the HTTP service and the notebooks all
go through a ``Project``:

- ``project.layers`` / ``project.layer(name)`` / ``project.read(names)``: the layers,
  conformed to :mod:`beatgrid.gis.schema` (read once per stored state, then cached);
- ``project.write(layers)``: a transactional, validated write;
- ``project.grids``: basic grids (:class:`~beatgrid.gis.grids.workflow.GridPlanning`:
  generate, check, metrics, editor, save);
- ``project.coverage``: camera coverage (:class:`~beatgrid.gis.coverage.workflow.
  CoverageAnalysis`: analyse, recommend);
- ``project.policing``: beats and staffing (:class:`~beatgrid.gis.policing.workflow.
  Policing`: assess, align, hotspots, beats).

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> len(project.layer("communities")), int(project.layer("buildings")["households"].sum())
(12, 29984)
>>> project.validate().ok
True
>>> Project.open("sample-geodata/ningbo-jiangbei.gpkg", grids={"band": {"min_households": 320}}).config.grids["band"]["min_households"]
320
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from beatgrid.gis.config import Config, Override, default_config
from beatgrid.gis.coverage.workflow import CoverageAnalysis
from beatgrid.gis.errors import NotFoundError
from beatgrid.gis.grids.workflow import GridPlanning
from beatgrid.gis.io.store import Store, open_store
from beatgrid.gis.plans import PlanBook
from beatgrid.gis.policing.workflow import Policing
from beatgrid.gis.sample import generate_district
from beatgrid.gis.workspace import Workspace

#: The committed sample project, when BeatGrid runs from its repository.
SAMPLE_PATH = Path(__file__).resolve().parents[1] / "sample-geodata" / "ningbo-jiangbei.gpkg"


class Project(Workspace):
    """A BeatGrid project: layers in a store, a configuration, the capabilities.

    Parameters
    ----------
    store
        Where the layers are (:func:`~beatgrid.gis.io.store.open_store`).
    config
        Settings and policy (default: the shipped ones).

    Attributes
    ----------
    store : Store
    config : Config
    grids : GridPlanning
    coverage : CoverageAnalysis
    policing : Policing
    plans : PlanBook
        Grid plans with drafts, history and publication.
    accounts : Accounts
        Users, roles and tokens.
    audit : AuditLog
        Every write, who made it and when.
    """

    def __init__(self, store: Store, *, config: Config | None = None) -> None:
        super().__init__(store, config=config)
        self.grids = GridPlanning(self)
        self.coverage = CoverageAnalysis(self)
        self.policing = Policing(self)
        self.plans = PlanBook(self)

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path | Store, *, settings: Override = None,
             config: Config | None = None, schema: str | None = None, create: bool = False,
             **sections: Override) -> Project:
        """Open a project from a GeoPackage path or a ``postgresql://`` URL.

        Parameters
        ----------
        target
            ``P.gpkg``, ``postgresql://user@host/db``, or a store.
        settings
            A settings file (or mapping) with per-section tables (``[grids.band]``...).
        config
            A ready configuration (instead of ``settings``/``sections``).
        schema
            Database schema of the project (PostGIS; default ``beatgrid``).
        create
            Create an empty project when there is none (otherwise a missing project is
            :class:`~beatgrid.gis.errors.NotFoundError`).
        **sections
            Per-section overrides: ``grids=``, ``coverage=``, ``policing=``, ``policy=``,
            ``core=`` (a TOML path or a mapping shaped like that shipped file).

        Returns
        -------
        Project

        Examples
        --------
        >>> Project.open("no-such.gpkg")
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.NotFoundError: project 'no-such.gpkg' does not exist Fix: create it with `beatgrid sample --out` or `beatgrid import`
        """
        base = config if config is not None else default_config()
        config = base.replace(settings, **sections)
        store = open_store(target, schema=schema, settings=config.core)
        if not store.exists():
            if not create:
                raise NotFoundError(
                    f"project {store.location!r} does not exist",
                    fix="create it with `beatgrid sample --out` or `beatgrid import`")
            store.create()
        return cls(store, config=config)

    @classmethod
    def sample(cls, path: str | Path | None = None, *, households: int | None = None,
               seed: int = 0, config: Config | None = None) -> Project:
        """The sample district (Ningbo Jiangbei, synthetic) as a writable project.

        Parameters
        ----------
        path
            Where to write the project (default: a new temporary file).
        households, seed
            Generate a district of this size (default: a copy of the committed
            30,000-household sample, or the same generated when it is not at hand).
        config
            Settings and policy for the opened project.

        Examples
        --------
        >>> p = Project.sample()
        >>> len(p.layer("beats")), len(p.layer("grids"))
        (12, 0)
        """
        target = Path(path) if path is not None else Path(
            tempfile.mkdtemp(prefix="beatgrid-sample-")) / "ningbo-jiangbei.gpkg"
        if households is None and seed == 0 and SAMPLE_PATH.exists():
            shutil.copyfile(SAMPLE_PATH, target)
        else:
            layers = generate_district(households=households or 30_000, seed=seed)
            store = open_store(target)
            store.write_layers(layers)
        return cls(open_store(target, settings=(config or default_config()).core), config=config)

    def with_config(self, settings: Override = None, **sections: Override) -> Project:
        """The same store with some settings overridden (this project is unchanged).

        Examples
        --------
        >>> p = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
        >>> p.with_config(policy={"floating_managers": {"floating_per_manager": 800}}).config.policy[
        ...     "floating_managers"]["floating_per_manager"]
        800
        """
        return Project(self.store, config=self.config.replace(settings, **sections))
