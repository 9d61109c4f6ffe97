"""``settings.HEADROOM``: read it, validate it, say what is wrong with it, share one engine per config.

``HEADROOM`` may be:

* absent or ``None``: :meth:`ProxyConfig.from_env` (the file named by ``HEADROOM_CONFIG``, ``HEADROOM_*``);
* a dict in :class:`ProxyConfig`'s schema (``HEADROOM_*`` environment variables override it, as they
  override a config file, so ``HEADROOM_ENABLED=false`` is a kill switch whatever the settings say);
* a path (``str`` or ``os.PathLike``) to a JSON, TOML or YAML config file (:meth:`ProxyConfig.from_file`);
* a :class:`ProxyConfig`, used as it is.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from pydantic import ValidationError

from headroom.engine import Engine
from headroom.proxy.config import CONFIG_FILE_ENV, ENV_PREFIX, ProxyConfig, merge_env, read_config_file
from headroom.transforms import create_transform

SETTING = "HEADROOM"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with ``settings.HEADROOM``: where (as Python would index it) and what."""

    where: str
    message: str
    id: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class HeadroomConfigError(ImproperlyConfigured):  # type: ignore[misc]  # (Django ships no types)
    """``settings.HEADROOM`` does not make a valid :class:`ProxyConfig`."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid settings.HEADROOM:\n" + "\n".join(f"  {p}" for p in self.problems))


def load_config(value: Any, *, env: Mapping[str, str] | None = None) -> ProxyConfig:
    """The :class:`ProxyConfig` a ``HEADROOM`` setting describes; :class:`HeadroomConfigError` if none."""
    env = os.environ if env is None else env
    if isinstance(value, ProxyConfig):
        return value
    file: str | os.PathLike[str] | None
    if value is None:
        where, file = f"{SETTING} (unset: from HEADROOM_CONFIG / HEADROOM_*)", env.get(CONFIG_FILE_ENV)
    elif isinstance(value, Mapping):
        where, file = SETTING, None
    elif isinstance(value, str | os.PathLike):
        where, file = f"{SETTING} ({os.fspath(value)})", value
    else:
        kind = type(value).__name__
        message = f"expected a dict, a ProxyConfig or a path to a config file, not {kind}"
        raise HeadroomConfigError([Problem(SETTING, message, "headroom.E001")])
    # what ProxyConfig.from_file / from_env do, keeping the merged data to explain errors with
    try:
        raw = read_config_file(file) if file else dict(value or {})
    except (OSError, ValueError) as exc:  # unreadable or malformed file
        raise HeadroomConfigError([Problem(where, str(exc), "headroom.E003")]) from exc
    try:
        data = merge_env(raw, env)
    except ValueError as exc:  # a HEADROOM_* variable holding malformed JSON
        problems = list(_env_json_problems(env))
        raise HeadroomConfigError(problems or [Problem(where, str(exc), "headroom.E002")]) from exc
    try:
        return ProxyConfig.model_validate(data)
    except ValidationError as exc:
        raise HeadroomConfigError(list(_validation_problems(exc, where, data, env))) from exc
    except TypeError as exc:  # a transform entry of the wrong type (pydantic lets TypeError through)
        problems = list(_transform_entry_problems(data, where, env))
        raise HeadroomConfigError(problems or [Problem(where, str(exc), "headroom.E002")]) from exc


def _env_json_problems(env: Mapping[str, str]) -> Iterable[Problem]:
    """The ``HEADROOM_*`` variables :func:`merge_env` reads whose value looks like JSON (``[...]``,
    ``{...}``) but is not (it ignores those naming no config field: other tools share the prefix)."""
    for name in sorted(env):
        text = env[name].strip()
        field = name[len(ENV_PREFIX) :].lower().split("__")[0]
        if name.startswith(ENV_PREFIX) and field in ProxyConfig.model_fields and text.startswith(("[", "{")):
            try:
                json.loads(text)
            except ValueError as exc:
                yield Problem(f"the environment variable {name}", f"not valid JSON: {exc}", "headroom.E002")


def _validation_problems(
    exc: ValidationError, where: str, data: Mapping[str, Any], env: Mapping[str, str]
) -> Iterable[Problem]:
    by_entry = list(_transform_entry_problems(data, where, env))
    yield from by_entry
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if by_entry and loc[:1] == ("transforms",):
            continue
        message = _message(error, "not in ProxyConfig's schema") + _from_env(loc, env)
        yield Problem(_index(where, loc), message, "headroom.E002")


def _transform_entry_problems(
    data: Mapping[str, Any], where: str, env: Mapping[str, str]
) -> Iterable[Problem]:
    # The transforms list is resolved by one validator, which loses the index of the entry at fault:
    # validate the entries one by one to name the entry and its option.
    items = data.get("transforms")
    return _transform_problems(list(items), where, env) if isinstance(items, list | tuple) else ()


def _from_env(loc: Sequence[str | int], env: Mapping[str, str]) -> str:
    """Names the ``HEADROOM_*`` variable a bad value came from, if any."""
    names = [f"{ENV_PREFIX}{loc[0]}".upper()] if loc else []
    if len(loc) > 1:
        names.append(f"{ENV_PREFIX}{loc[0]}__{loc[1]}".upper())
    found = [name for name in names if name in env]
    return f" [set by the environment variable {found[-1]}]" if found else ""


def _transform_problems(items: list[Any], where: str, env: Mapping[str, str]) -> Iterable[Problem]:
    origin = _from_env(("transforms",), env)
    for i, item in enumerate(items):
        try:
            create_transform(item)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = ("transforms", i, *error["loc"])
                message = _message(error, f"not an option of transform {exc.title!r}") + origin
                yield Problem(_index(where, loc), message, "headroom.E002")
        except (TypeError, ValueError) as exc:
            yield Problem(_index(where, ("transforms", i)), str(exc) + origin, "headroom.E002")


def _message(error: Any, unknown: str) -> str:
    """pydantic's message for one error, in the words of a settings file, with the bad value if short."""
    if error["type"] == "extra_forbidden":
        return f"unknown key ({unknown}; see `headroom config schema`)"
    if error["type"] == "missing":
        return "required key is missing"
    shown = repr(error.get("input"))
    return error["msg"] if "input" not in error or len(shown) > 80 else f"{error['msg']} (got {shown})"


def _index(where: str, loc: Sequence[str | int]) -> str:
    """``HEADROOM['limits']['deadline_ms']``: the key as it is written in settings.py."""
    return where + "".join(f"[{part!r}]" for part in loc)


# -- the process-wide config and engine ---------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, Any] = {}


def get_config() -> ProxyConfig:
    """The validated config of ``settings.HEADROOM``, fitted to Django's limits (cached until they change)."""
    with _lock:
        config = _cache.get("config")
        if config is None:
            config = _cache["config"] = fit_to_django(load_config(getattr(settings, SETTING, None)))
        assert isinstance(config, ProxyConfig)
        return config


def fit_to_django(config: ProxyConfig) -> ProxyConfig:
    """``config`` reading no body Django would refuse: ``max_body_bytes`` <= ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

    So a body over Django's limit reaches Django as it came and fails the way Django fails it
    (``RequestDataTooBig``, a 400), instead of slipping under the limit once compressed.
    """
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if django_limit is None or config.limits.max_body_bytes <= django_limit:
        return config
    limits = config.limits.model_copy(update={"max_body_bytes": max(int(django_limit), 1)})
    return config.model_copy(update={"limits": limits})


def get_engine() -> Engine:
    """The engine for ``settings.HEADROOM``, shared by the ASGI wrapper and the middleware of this process.

    Its ``stats.snapshot()`` covers every request compressed under the current settings.
    """
    config = get_config()
    with _lock:
        engine = _cache.get("engine")
        if not isinstance(engine, Engine) or engine.config is not config:
            engine = _cache["engine"] = Engine(config)
        return engine


def _reset(*, setting: str, **kwargs: Any) -> None:
    """Forget the cached config when a test changes the settings it depends on (``override_settings``)."""
    if setting in (SETTING, "DATA_UPLOAD_MAX_MEMORY_SIZE"):
        with _lock:
            _cache.clear()


setting_changed.connect(_reset)


__all__ = [
    "SETTING",
    "HeadroomConfigError",
    "Problem",
    "fit_to_django",
    "get_config",
    "get_engine",
    "load_config",
]
