"""Basic grids (基础网格): communities split into contiguous grids of 300-500 households.

Reached through a project: ``project.grids`` is a
:class:`~beatgrid.gis.grids.workflow.GridPlanning` (generate, rebalance, check, metrics,
editor, save, move_buildings). The modules, from the bottom up: :mod:`.band` (the
household band), :mod:`.geometry`, :mod:`.cells`, :mod:`.blocks` and :mod:`.units` (atomic
units), :mod:`.unit_graph` and :mod:`.trees` (the unit graph, rooted spanning trees),
:mod:`.search` and :mod:`.forest` (the spanning-tree searches: region by region, and
level by level for big communities), :mod:`.grow` (the exhaustive grid-by-grid search),
:mod:`.feasibility` and :mod:`.exact` (proofs by counting, the HiGHS model),
:mod:`.repair` (local moves), :mod:`.solve` (one part of a community: proofs, searches,
exact model, closest plan), :mod:`.community` and :mod:`.partition` (the plan of one
community, of all), :mod:`.settings_checks` (the values of the ``grids`` settings),
:mod:`.plan` (:class:`~beatgrid.gis.grids.plan.GridPlan` and the reasons), :mod:`.codes`,
:mod:`.checks`, :mod:`.metrics`, :mod:`.editing` (the map editor's operations),
:mod:`.apply` (writing a plan back), :mod:`.sessions` and :mod:`.workflow`.

Examples
--------
>>> from beatgrid.gis import Project
>>> plan = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.generate(
...     communities=["C05"])
>>> len(plan.grids), plan.ok
(5, True)
"""

# the value checks of the grids settings run whenever the section is loaded
from beatgrid.gis.grids import settings_checks as _settings_checks  # noqa: E402,F401
