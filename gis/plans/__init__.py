"""Grid plans with drafts, recorded steps, undo, comparison and publication.

``project.plans`` (:class:`~beatgrid.gis.plans.book.PlanBook`) is the entry point;
:mod:`~beatgrid.gis.plans.ledger` keeps plans and steps in the store,
:mod:`~beatgrid.gis.plans.replay` rebuilds a plan's state from its steps and
:mod:`~beatgrid.gis.plans.exchange` compares plans and reads and writes assignment CSVs.
"""

from beatgrid.gis.plans.book import PlanBook
from beatgrid.gis.plans.view import PlanView

__all__ = ["PlanBook", "PlanView"]
