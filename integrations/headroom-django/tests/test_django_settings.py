"""settings.HEADROOM: the forms it takes, and the system-check errors that name what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from headroom_django_testing.squeeze import Squeeze

from headroom.engine import Engine
from headroom.integrations.django import HeadroomConfigError, get_config, get_engine, load_config
from headroom.proxy.config import ProxyConfig


def messages_for(value: object) -> list[checks.CheckMessage]:
    with override_settings(HEADROOM=value):
        return checks.run_checks(tags=["headroom"])


def test_dict_setting_is_validated_into_a_config() -> None:
    config = load_config({"transforms": ["test-squeeze"], "limits": {"deadline_ms": 250}}, env={})
    assert isinstance(config.transforms[0], Squeeze)
    assert config.limits.deadline_ms == 250


def test_proxyconfig_setting_is_used_as_is() -> None:
    config = ProxyConfig(enabled=False)
    assert load_config(config, env={"HEADROOM_ENABLED": "true"}) is config


def test_file_setting_and_environment_overrides(tmp_path: Path) -> None:
    file = tmp_path / "headroom.toml"
    file.write_text('paths = ["/llm/chat"]\n[limits]\ndeadline_ms = 300\n')
    assert load_config(str(file), env={}).paths == ["/llm/chat"]
    assert load_config(file, env={"HEADROOM_LIMITS__DEADLINE_MS": "90"}).limits.deadline_ms == 90
    assert load_config({"enabled": True}, env={"HEADROOM_ENABLED": "false"}).enabled is False


def test_unset_setting_reads_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "h.json"
    file.write_text(json.dumps({"paths": ["/only/this"]}))
    assert load_config(None, env={"HEADROOM_CONFIG": str(file)}).paths == ["/only/this"]
    assert load_config(None, env={}) == ProxyConfig()


def test_valid_setting_passes_the_checks() -> None:
    assert messages_for({"transforms": ["test-squeeze", "tags"]}) == []
    with override_settings(HEADROOM={"enabled": True}):
        call_command("check", tags=["headroom"], verbosity=0)


@pytest.mark.parametrize(
    ("value", "where", "words"),
    [
        ({"limits": {"deadline_ms": 0}}, "HEADROOM['limits']['deadline_ms']", "greater than 0"),
        ({"limits": {"deadline": 5}}, "HEADROOM['limits']['deadline']", "unknown key"),
        ({"telemetry": {"log_level": "LOUD"}}, "HEADROOM['telemetry']['log_level']", "'LOUD'"),
        ({"enabeld": False}, "HEADROOM['enabeld']", "unknown key"),
        ({"paths": "/v1/chat"}, "HEADROOM['paths']", "valid list"),
        ({"transforms": ["search", "zip-it"]}, "HEADROOM['transforms'][1]", "unknown transform 'zip-it'"),
        ({"transforms": [{"name": "tags", "bogus": 1}]}, "HEADROOM['transforms'][0]['bogus']", "unknown"),
        ({"transforms": ["search", 42]}, "HEADROOM['transforms'][1]", "not int"),
        ({"transforms": ("tags", None)}, "HEADROOM['transforms'][1]", "not NoneType"),
        (42, "HEADROOM", "not int"),
    ],
)
def test_bad_setting_is_a_check_error_naming_the_key(value: object, where: str, words: str) -> None:
    found = messages_for(value)
    assert found, "a bad HEADROOM setting must fail the checks"
    assert all(m.is_serious() and m.id and m.id.startswith("headroom.E") for m in found)
    text = "\n".join(m.msg for m in found)
    assert where + ":" in text
    assert words.lower() in text.lower()


def test_transform_entry_of_the_wrong_type_stops_the_app_naming_it() -> None:
    # A TypeError from the transforms validator is not a pydantic ValidationError: it must still become
    # the check error (not a traceback from `manage.py check`) and the start-up error.
    with override_settings(HEADROOM={"transforms": ["search", 42]}):
        with pytest.raises(SystemCheckError, match=r"HEADROOM\['transforms'\]\[1\]"):
            call_command("check", tags=["headroom"])
        with pytest.raises(HeadroomConfigError, match=r"HEADROOM\['transforms'\]\[1\]: .*not int"):
            get_config()


def test_several_problems_are_reported_together() -> None:
    found = messages_for({"limits": {"deadline_ms": -1, "max_concurrency": 0}, "encodng": "x"})
    assert {m.msg.split(":")[0] for m in found} == {
        "HEADROOM['limits']['deadline_ms']",
        "HEADROOM['limits']['max_concurrency']",
        "HEADROOM['encodng']",
    }
    assert {m.id for m in found} == {"headroom.E002"}


def test_manage_py_check_fails_with_the_message(tmp_path: Path) -> None:
    with (
        override_settings(HEADROOM={"limits": {"max_body_bytes": "lots"}}),
        pytest.raises(SystemCheckError) as err,
    ):
        call_command("check")
    assert "HEADROOM['limits']['max_body_bytes']" in str(err.value)
    assert "headroom.E002" in str(err.value)


def test_unreadable_config_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path, id_ in ((missing, "headroom.E003"), (bad, "headroom.E003")):
        [message] = messages_for(str(path))
        assert message.id == id_
        assert str(path) in message.msg
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"limits": {"min_tokens_saved": 0}}))
    [message] = messages_for(str(wrong))
    assert message.msg.startswith(f"HEADROOM ({wrong})['limits']['min_tokens_saved']:")


def test_invalid_setting_stops_the_app_at_startup() -> None:
    with (
        override_settings(HEADROOM={"limits": {"deadline_ms": "soon"}}),
        pytest.raises(HeadroomConfigError) as err,
    ):
        get_config()
    assert "HEADROOM['limits']['deadline_ms']" in str(err.value)


def test_engine_is_shared_and_follows_the_setting() -> None:
    with override_settings(HEADROOM={"transforms": ["test-squeeze"], "limits": {"deadline_ms": 321}}):
        engine = get_engine()
        assert isinstance(engine, Engine)
        assert get_engine() is engine
        assert engine.config.limits.deadline_ms == 321
    assert get_engine() is not engine


def test_problem_from_the_environment_names_the_variable() -> None:
    env = {"HEADROOM_LIMITS__DEADLINE_MS": "0", "HEADROOM_TRANSFORMS": "search,zip-it"}
    with pytest.raises(HeadroomConfigError) as err:
        load_config({"transforms": ["search"]}, env=env)
    problems = {p.where: p.message for p in err.value.problems}
    assert "HEADROOM_LIMITS__DEADLINE_MS" in problems["HEADROOM['limits']['deadline_ms']"]
    assert "HEADROOM_TRANSFORMS" in problems["HEADROOM['transforms'][1]"]


def test_malformed_json_in_an_environment_variable_names_the_variable() -> None:
    env = {"HEADROOM_LIMITS": '{"deadline_ms": 5', "HEADROOM_ENABLED": "true", "HEADROOM_OTHER_TOOL": "{"}
    for value in ({"transforms": ["search"]}, None):
        with pytest.raises(HeadroomConfigError) as err:
            load_config(value, env=env)
        [problem] = err.value.problems
        assert problem.id == "headroom.E002"  # not E003, whose hint is about a config file there is none of
        assert str(problem).startswith("the environment variable HEADROOM_LIMITS: not valid JSON")
