"""Dependencies of the HTTP routes: the project, the result cache, query checks.

State lives in ``app.state`` (set by :func:`beatgrid.api.service.create_app`), never
in module globals, so two apps in one process share nothing:

- ``app.state.project``: the :class:`~beatgrid.gis.project.Project` served;
- ``app.state.cache``: a :class:`~beatgrid.api.cache.ResultCache` of computed results;
- capability state set up by a route module's ``setup(app)`` (grid editing sessions).

Routes take them as parameters: ``project: ProjectDep``, ``cache: CacheDep``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from beatgrid.api.cache import ResultCache
from beatgrid.api.params import reject_unknown
from beatgrid.gis.project import Project


def get_project(request: Request) -> Project:
    """The project the app serves."""
    project: Project = request.app.state.project
    return project


def get_cache(request: Request) -> ResultCache:
    """The app's result cache."""
    cache: ResultCache = request.app.state.cache
    return cache


ProjectDep = Annotated[Project, Depends(get_project)]
CacheDep = Annotated[ResultCache, Depends(get_cache)]


def known_params(*allowed: str, none_hint: str = "no parameters") -> Callable[[Request], None]:
    """A dependency refusing query parameters other than ``allowed`` (a typo is an error).

    Examples
    --------
    >>> check = known_params("bbox", "limit")
    >>> callable(check)
    True
    """

    def check(request: Request) -> None:
        reject_unknown(request, allowed, none_hint=none_hint)

    return check
