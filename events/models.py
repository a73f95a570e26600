"""Events of exemplary models ("Dân vận khéo"): registered by a unit for a year, reported on,
commended."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from events.assignments import Metrics
from events.catalog import Event, catalog

ModelKind = Literal["individual", "collective"]
CommendationLevel = Literal["grassroots", "district", "provincial", "national"]


@catalog.register()
class ModelRegistered(Event, frozen=True, kw_only=True):
    model_id: UUID
    unit_id: UUID
    year: int
    field: str
    kind: ModelKind
    title: str
    effective_at: datetime


@catalog.register()
class ModelReported(Event, frozen=True, kw_only=True):
    model_id: UUID
    report_id: UUID
    text: str
    metrics: Metrics = msgspec.field(default_factory=dict)
    effective_at: datetime


@catalog.register()
class ModelCommended(Event, frozen=True, kw_only=True):
    model_id: UUID
    level: CommendationLevel
    by_unit_id: UUID
    citation: str
    effective_at: datetime
