"""ProxyConfig: transform specs, files, environment overrides, schema and errors that name the bad key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from headroom.proxy.config import ProxyConfig, merge_env
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector


def test_seed_configs_work_as_written() -> None:
    config = ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])
    assert [t.name for t in config.transforms] == ["search", "router", "tags"]
    assert [t.name for t in ProxyConfig(transforms=[SearchCompressor(), ContentRouter()]).transforms] == [
        "search",
        "router",
    ]


def test_transforms_from_names_and_dicts_round_trip() -> None:
    config = ProxyConfig.model_validate(
        {"transforms": ["search", {"name": "ContentRouter"}, {"name": "tags"}]}
    )
    assert [type(t) for t in config.transforms] == [SearchCompressor, ContentRouter, TagProtector]
    dumped = json.loads(config.model_dump_json())
    assert [t["name"] for t in dumped["transforms"]] == ["search", "router", "tags"]
    assert ProxyConfig.model_validate(dumped) == config


def test_unknown_transform_and_bad_option_are_named() -> None:
    with pytest.raises(ValidationError, match="unknown transform 'nope'"):
        ProxyConfig.model_validate({"transforms": ["nope"]})
    with pytest.raises(ValidationError, match="not_an_option"):
        ProxyConfig.model_validate({"transforms": [{"name": "search", "not_an_option": 1}]})


def test_bad_keys_are_named_with_their_location() -> None:
    with pytest.raises(ValidationError) as info:
        ProxyConfig.model_validate({"limits": {"deadline_ms": -1, "typo_key": 1}})
    locations = {".".join(map(str, e["loc"])) for e in info.value.errors()}
    assert locations == {"limits.deadline_ms", "limits.typo_key"}


@pytest.mark.parametrize("suffix", [".json", ".toml", ".yaml"])
def test_from_file(tmp_path: Path, suffix: str) -> None:
    texts = {
        ".json": '{"enabled": false, "transforms": [{"name": "search"}], "limits": {"deadline_ms": 250}}',
        ".toml": 'enabled = false\n[[transforms]]\nname = "search"\n[limits]\ndeadline_ms = 250\n',
        ".yaml": "enabled: false\ntransforms:\n  - name: search\nlimits:\n  deadline_ms: 250\n",
    }
    file = tmp_path / f"headroom{suffix}"
    file.write_text(texts[suffix])
    config = ProxyConfig.from_file(file, env={})
    assert (config.enabled, [t.name for t in config.transforms], config.limits.deadline_ms) == (
        False,
        ["search"],
        250,
    )


def test_unknown_file_type_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "headroom.ini"
    file.write_text("x")
    with pytest.raises(ValueError, match="unknown config format"):
        ProxyConfig.from_file(file, env={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    file = tmp_path / "h.toml"
    file.write_text("[limits]\ndeadline_ms = 250\nmin_unit_tokens = 10\n")
    env = {
        "HEADROOM_LIMITS__DEADLINE_MS": "99",
        "HEADROOM_TRANSFORMS": "search,router",
        "HEADROOM_ENABLED": "false",
        "HEADROOM_PATHS": '["/llm/chat/completions"]',
        "HEADROOM_API_KEY": "belongs to something else",
    }
    config = ProxyConfig.from_file(file, env=env)
    assert config.limits.deadline_ms == 99
    assert config.limits.min_unit_tokens == 10
    assert [t.name for t in config.transforms] == ["search", "router"]
    assert config.enabled is False
    assert config.paths == ["/llm/chat/completions"]


def test_from_env_reads_the_config_file_variable(tmp_path: Path) -> None:
    file = tmp_path / "h.json"
    file.write_text('{"telemetry": {"response_headers": false}}')
    config = ProxyConfig.from_env({"HEADROOM_CONFIG": str(file), "HEADROOM_TELEMETRY__LOG_LEVEL": "INFO"})
    assert config.telemetry.response_headers is False
    assert config.telemetry.log_level == "INFO"


def test_a_bad_nested_environment_name_fails_with_its_name() -> None:
    with pytest.raises(ValidationError, match="deadlin_ms"):
        ProxyConfig.model_validate(merge_env({}, {"HEADROOM_LIMITS__DEADLIN_MS": "5"}))


@pytest.mark.parametrize("value", ['{"deadline_ms": 5', "[search, router]"])
def test_malformed_json_in_an_environment_variable_names_the_variable(value: str) -> None:
    key = "HEADROOM_LIMITS" if value.startswith("{") else "HEADROOM_TRANSFORMS"
    with pytest.raises(ValueError, match=f"^{key}: not valid JSON"):
        merge_env({}, {key: value})


@pytest.mark.parametrize("entry", [42, None, 1.5, ["search"]])
def test_a_transform_entry_of_the_wrong_type_is_a_validation_error(entry: object) -> None:
    with pytest.raises(ValidationError, match="entry 1: a transform is an instance, a name or a mapping"):
        ProxyConfig(transforms=["search", entry])  # type: ignore[list-item]


def test_schema_export_is_json_and_covers_every_field() -> None:
    schema = ProxyConfig.json_schema()
    json.dumps(schema)
    assert set(schema["properties"]) == set(ProxyConfig.model_fields)
    assert schema["properties"]["transforms"]["type"] == "array"


def test_path_matching_covers_mount_prefixes() -> None:
    config = ProxyConfig()
    assert config.matches_path("/v1/chat/completions")
    assert config.matches_path("/gateway/v1/messages/")
    assert not config.matches_path("/v1/messages/count_tokens")
    assert not config.matches_path("/healthz")
