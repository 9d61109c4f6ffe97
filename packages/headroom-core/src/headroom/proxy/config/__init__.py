"""ProxyConfig: what Headroom does, validated by pydantic, loadable from JSON/TOML/YAML and ``HEADROOM_*``."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from headroom.transforms import ContentRouter, SearchCompressor, TagProtector, Transform, create_transform

ENV_PREFIX = "HEADROOM_"
CONFIG_FILE_ENV = "HEADROOM_CONFIG"

DEFAULT_PATHS = ("/v1/chat/completions", "/chat/completions", "/v1/messages", "/v1/responses", "/responses")
DEFAULT_PASTED_TAGS = (
    "returncode",
    "output",
    "stdout",
    "stderr",
    "tool_output",
    "function_results",
    "bash-stdout",
    "bash-stderr",
)
"""mini-swe-agent's and other harnesses' wrappers, and Claude Code's ``!`` shell mode (the user runs a
command: ``<bash-input>`` holds it, ``<bash-stdout>``/``<bash-stderr>`` its output)."""


def _resolve_transforms(value: Any) -> Any:
    if isinstance(value, str | Mapping | Transform):
        value = [value]
    if isinstance(value, list | tuple):
        transforms = []
        for i, item in enumerate(value):
            try:
                transforms.append(create_transform(item))
            except TypeError as exc:  # pydantic reports ValueErrors only: a TypeError would escape it raw
                raise ValueError(f"entry {i}: {exc}") from exc
        return transforms
    return value


_TRANSFORM_ITEM_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "description": "a transform name: search, router, tags, or a plugin's"},
        {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": True,
            "description": "a transform name and its options",
        },
    ]
}

Transforms = Annotated[
    list[Transform],
    BeforeValidator(_resolve_transforms),
    PlainSerializer(lambda ts: [t.spec() for t in ts], return_type=list[dict[str, Any]]),
    WithJsonSchema({"type": "array", "items": _TRANSFORM_ITEM_SCHEMA}),
]


def _default_transforms() -> list[Transform]:
    return [SearchCompressor(), ContentRouter(), TagProtector()]


class Limits(BaseModel):
    """Bounds on the work Headroom does for one request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0, description="larger bodies pass through unread")
    max_decoded_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="cap on a content-encoded body once decoded (bombs pass through)"
    )
    min_unit_tokens: int = Field(64, ge=0, description="units with fewer tokens are left alone")
    min_tokens_saved: int = Field(
        8, ge=1, description="a unit is rewritten only if it saves this many tokens"
    )
    deadline_ms: int = Field(
        1000, gt=0, description="per-request time budget; past it, the rest passes as is"
    )
    offload_bytes: int = Field(
        32 * 1024, ge=0, description="bodies at least this large are compressed in a worker thread"
    )
    max_concurrency: int = Field(
        1,
        gt=0,
        description="worker threads compressing at once, per engine; compression is CPU-bound Python, so "
        "more threads add little throughput and lengthen event-loop stalls (GIL contention)",
    )
    memo_entries: int = Field(8192, ge=0, description="memoized unit results kept (LRU)")


class Telemetry(BaseModel):
    """What Headroom reports about itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    response_headers: bool = Field(True, description="add x-headroom-* headers to responses")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_content: bool = Field(False, description="allow prompt text in debug logs")


class Aging(BaseModel):
    """Opt-in: outline file views once newer tool outputs have followed them (off by default).

    Tool outputs are tool results and output a user text wraps in one of ``pasted_output_tags`` (a large
    paste without a tag never ages). The newest ``keep_recent`` of a request are never aged. Older ones
    are aged in whole steps of ``step`` outputs: when a request has ``n`` tool outputs, the oldest
    ``(n - keep_recent) // step * step`` are. An aged file view (a part the router types as code) keeps
    its definition lines, decorators, error lines and the lines naming what the request asks about; the
    other runs of lines go, counted by markers. An aged unit's text depends only on itself, the units
    before it and the config, so it changes once, when it ages, and then stays.

    Cost: aging rewrites a message already sent. On a turn where a step ages more outputs, the provider's
    prompt cache misses from the first newly aged output on: the rest of that prompt is read at the full
    input price once (every ``step`` tool outputs). With aging on, the dedupe step no longer folds lines
    against earlier code (an aged view may no longer show them). docs/transforms.md has the measured
    savings and cache cost on the dev corpus.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_recent: int = Field(6, ge=1, description="the newest tool outputs, never aged")
    step: int = Field(6, ge=1, description="outputs age in steps of this many (one cache miss per step)")

    def aged(self, outputs: int) -> int:
        """How many of a request's ``outputs`` tool outputs, the oldest first, are aged."""
        return max(0, (outputs - self.keep_recent) // self.step * self.step)


class ProxyConfig(BaseModel):
    """Headroom's configuration: transforms, intercepted paths, limits and telemetry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    transforms: Transforms = Field(default_factory=_default_transforms)
    paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PATHS),
        description="request paths compressed (matched as a suffix, so mount prefixes work)",
    )
    pasted_output_tags: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PASTED_TAGS),
        description="a user text wrapping output in one of these tags is tool output, not a person's words",
    )
    pasted_output_min_chars: int | None = Field(
        16384,
        gt=0,
        description="a user text at least this long is pasted output even without a wrapper tag; in it, "
        "only machine output (diffs, logs, JSON, search results, test runs) is rewritten; null turns it off",
    )
    encoding: str = Field("o200k_base", description="tiktoken encoding used to count tokens when available")
    limits: Limits = Field(default_factory=Limits)
    telemetry: Telemetry = Field(default_factory=Telemetry)
    aging: Aging | None = Field(
        None, description="opt-in: outline older file views (rewrites messages already sent; see Aging)"
    )

    def matches_path(self, path: str) -> bool:
        """True when ``path`` is one of the configured LLM endpoints (also under a mount prefix)."""
        path = path.rstrip("/") or "/"
        return any(path == p.rstrip("/") or path.endswith(p.rstrip("/")) for p in self.paths)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Self:
        """Load JSON, TOML or YAML (with PyYAML installed); ``HEADROOM_*`` in ``env`` override the file.

        ``env`` defaults to ``os.environ``; pass ``{}`` to ignore the environment.
        """
        data = read_config_file(path)
        return cls.model_validate(merge_env(data, os.environ if env is None else env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """The file named by ``HEADROOM_CONFIG`` (if set) with ``HEADROOM_*`` overrides, else defaults."""
        env = os.environ if env is None else env
        file = env.get(CONFIG_FILE_ENV)
        data = read_config_file(file) if file else {}
        return cls.model_validate(merge_env(data, env))

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return cls.model_json_schema(mode="validation")


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A config file's top-level mapping."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    suffix = file.suffix.lower()
    data: Any
    if suffix == ".toml":
        data = tomllib.loads(text)
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise ValueError(f"{file}: YAML configs need PyYAML (pip install 'headroom-core[yaml]')") from exc
        data = yaml.safe_load(text)
    elif suffix == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"{file}: unknown config format {suffix!r} (use .json, .toml, .yaml)")
    if not isinstance(data, dict):
        raise ValueError(f"{file}: a config file holds a mapping at the top level")
    return data


def _env_value(key: str, raw: str, *, is_list: bool) -> Any:
    text = raw.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{key}: not valid JSON ({exc})") from exc
    if is_list:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def merge_env(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with ``HEADROOM_<FIELD>`` and ``HEADROOM_<SECTION>__<FIELD>`` variables applied.

    Variables whose first part names no ProxyConfig field are ignored (other tools share the prefix);
    a bad nested name fails validation with its name.
    """
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    fields = ProxyConfig.model_fields
    for key in sorted(env):
        if not key.startswith(ENV_PREFIX) or key == CONFIG_FILE_ENV:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if parts[0] not in fields:
            continue
        if len(parts) == 1:
            annotation = str(fields[parts[0]].annotation)
            merged[parts[0]] = _env_value(key, env[key], is_list="list" in annotation)
        else:
            section = merged.setdefault(parts[0], {})
            if isinstance(section, dict):
                section["__".join(parts[1:])] = _env_value(key, env[key], is_list=False)
    return merged


__all__ = ["DEFAULT_PATHS", "Aging", "Limits", "ProxyConfig", "Telemetry", "merge_env", "read_config_file"]
