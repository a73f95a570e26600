from __future__ import annotations

import pytest

from services.runtime.config import ConfigError, load_settings


def test_defaults_need_nothing_set() -> None:
    settings = load_settings({})
    assert settings.database_url is None and settings.port == 8000
    assert settings.data_dir.name == ".data"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HTTP_PORT", "eighty", "not an integer"),
        ("HTTP_PORT", "70000", "outside"),
        ("LOG_FORMAT", "xml", "json or console"),
        ("LOG_LEVEL", "loud", "debug"),
        ("MAX_BODY_BYTES", "10", "outside"),
    ],
)
def test_bad_values_are_named_clearly(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({name: value})
