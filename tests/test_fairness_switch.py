"""One switch turns every fairness measure off; each measure also has its own setting."""

from __future__ import annotations

from booking import create_app
from booking.config import load_config
from booking.fairness import MEASURES, measure_on


def test_every_measure_is_on_by_default_in_development(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["ANTI_ABUSE"] is True
    assert all(config[f"{name}_ENABLED"] for name in MEASURES)


def test_anti_abuse_off_turns_every_measure_off(app_config):
    app = create_app({**app_config, "ANTI_ABUSE": False, "ALTCHA_ENABLED": True})
    assert not any(app.config[f"{name}_ENABLED"] for name in MEASURES)
    assert not measure_on(app.config, "ALTCHA")


def test_one_measure_can_be_switched_off_alone(tmp_path):
    config = load_config(str(tmp_path), {"EMAIL_CAP_ENABLED": "0"})
    assert config["ANTI_ABUSE"] and not config["EMAIL_CAP_ENABLED"]
    assert config["ALTCHA_ENABLED"] and measure_on(config, "ALTCHA")
    assert not measure_on(config, "EMAIL_CAP")
