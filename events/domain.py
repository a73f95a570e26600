"""Every event type of the domain, registered in the catalogue by importing this module.

A process that reads the store imports it once, so that no event type is unknown to it.
"""

from events import assignments, deadlines, models, organisation, plans, subscriptions
from events.catalog import catalog

__all__ = [
    "assignments",
    "catalog",
    "deadlines",
    "models",
    "organisation",
    "plans",
    "subscriptions",
]
