"""Police beats and their staff: ``project.policing`` (:mod:`.workflow`).

Modules, from the settings up to the one orchestration:

- :mod:`.settings` (the ``policing`` section: ``gis/defaults/policing.toml``) and
  :mod:`.policy` (the ``policy`` section, a city's staffing rules:
  ``gis/defaults/staffing.toml``), both checked by :mod:`.value_checks`;
- :mod:`.location`: the polygon holding each point (incidents just outside snapped and
  counted), neighbouring polygons, clean ids and their natural order;
- :mod:`.beats`: resolve, derive and summarise beats; :mod:`.areas`: responsibility
  areas (region growing); :mod:`.beat_plan`: both, planned for a project;
- :mod:`.workload`: the workload model; :mod:`.rules`: the rules, severity levels and
  what missing data leaves unjudged; :mod:`.staffing`: requirements, gaps, severity;
  :mod:`.rollups`: per responsibility area and station; :mod:`.rooms`: police rooms;
- :mod:`.alignment`: governance grids against beats; :mod:`.hotspots`: kernel
  density, Gi*, period-on-period change;
- :mod:`.workflow`: :class:`~.workflow.Policing` (``assess``, ``align``, ``hotspots``,
  ``beats``), the one orchestration the command line, the service and the notebooks
  call.

Examples
--------
>>> from beatgrid.gis import Project
>>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess()
>>> len(res.understaffed), len(res.not_judged), len(res.gaps)
(7, 0, 12)
"""
