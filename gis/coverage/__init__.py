"""Camera coverage: what the cameras see, where they do not, and where new ones should go.

One module per concern (see ``docs/coverage.md``): field of view (:mod:`.fov`),
occlusion (:mod:`.raycast`, :mod:`.visibility`), the seen-index engine (:mod:`.seen`),
zones and metric layers (:mod:`.zones`, :mod:`.inputs`), the measures (:mod:`.stats`,
:mod:`.blind_spots`, :mod:`.risk`), the analysis in one pass (:mod:`.analysis`),
placement (:mod:`.candidates`, :mod:`.solvers`, :mod:`.placement`) and the one
orchestration on a project, ``project.coverage`` (:mod:`.workflow`).

Examples
--------
>>> from beatgrid.gis import Project
>>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.views(["CAM298"]).views[
...     "status"].iloc[0]
'blocked'
"""
