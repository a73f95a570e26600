"""Who may commend, decided without I/O: a unit above the model's unit, at its tier's level."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import get_args

import pytest

from events.models import ModelCommended, ModelRegistered
from events.organisation import UnitKind
from services.domain import model
from services.domain.refusal import Refused
from services.domain.unit import Unit

NOW = datetime(2022, 10, 17, 9, tzinfo=UTC)


def test_every_unit_kind_has_a_tier() -> None:
    assert set(model.TIER_OF_KIND) == set(get_args(UnitKind))
    assert "national" not in model.TIER_OF_KIND.values()


def unit(kind: str, parent: Unit | None = None) -> Unit:
    return Unit(uuid.uuid4(), "active", kind, kind.upper(), kind, parent.id if parent else None)


@pytest.mark.parametrize(
    ("by", "level", "refusal"),
    [
        ("cell", "grassroots", None),
        ("district", "district", None),
        ("province", "provincial", None),
        ("group", "grassroots", "commender-not-above"),
        ("sibling", "grassroots", "commender-not-above"),
        ("cell", "national", "level-not-of-tier"),
        ("province", "district", "level-not-of-tier"),
    ],
)
def test_commend(by: str, level: model.CommendationLevel, refusal: str | None) -> None:
    province = unit("party_committee")
    district = unit("district", province)
    cell = unit("party_cell", district)
    group = unit("party_group", cell)
    units = {
        "province": province,
        "district": district,
        "cell": cell,
        "group": group,
        "sibling": unit("party_cell", district),
    }
    registered = model.evolve(
        model.initial(uuid.uuid4()),
        ModelRegistered(
            model_id=uuid.uuid4(),
            unit_id=group.id,
            year=2022,
            field="Dân vận khéo",
            kind="collective",
            title="Mô hình",
            effective_at=NOW,
        ),
    )
    command = model.CommendModel(registered.id, level, units[by].id, "Tuyên dương", NOW, NOW)
    context = model.Context(units[by], (group, cell, district, province))
    if refusal is None:
        (commended,) = model.decide(command, registered, context).events
        assert isinstance(commended, ModelCommended) and commended.level == level
    else:
        with pytest.raises(Refused) as refused:
            model.decide(command, registered, context)
        assert refused.value.code == refusal
