"""Headroom's sessions: lint, typecheck, tests (the adapter x transform x version matrix), packaging, bench.

``nox -l`` lists every cell; ``nox -s tests`` runs them all; one cell runs alone by its name, e.g.
``nox -s "tests(django-5.2-seed)"``, or a slice by tag: ``nox -t django``, ``nox -t router``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests", "packaging"]

PYTHON = "3.11"
ROOT = Path(__file__).parent
CORE = "packages/headroom-core"
META = "packages/headroom"
ASGI = "integrations/headroom-asgi"
FASTAPI = "integrations/headroom-fastapi"
LITELLM = "integrations/headroom-litellm"
DJANGO = "integrations/headroom-django"
DISTRIBUTIONS = [CORE, ASGI, FASTAPI, LITELLM, DJANGO, META]
ENVS = ROOT / ".nox" / "_envs"
LITELLM_WHEEL = "litellm>=1.94,!=1.82.7,!=1.82.8"
TIKTOKEN_FILES = ("--no-deps", LITELLM_WHEEL)
"""LiteLLM's wheel carries tiktoken's o200k_base and cl100k_base files; installed without its dependencies
it is only that: exact token counts with no download at run time."""

# LiteLLM otherwise spends seconds at import retrying a network fetch of its model cost map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def group(path: str, name: str = "test") -> list[str]:
    """A dependency group of one distribution's pyproject.toml."""
    return list(nox.project.dependency_groups(nox.project.load_toml(f"{path}/pyproject.toml"), name))


@dataclass(frozen=True)
class Adapter:
    """One adapter of the matrix: what it installs, its own tests, its contract client, its versions."""

    name: str
    distributions: tuple[str, ...]
    tests: tuple[str, ...]
    client: str | None
    versions: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"latest": ()})
    extra: tuple[str, ...] = ()
    no_deps: tuple[str, ...] = ()
    """Installed without their dependencies (LiteLLM's wheel, for the tiktoken files it ships)."""

    def requirements(self, version: str) -> list[str]:
        reqs = group(CORE)
        for dist in self.distributions[1:]:
            reqs += group(dist)
        return [*reqs, *self.extra, *self.versions[version]]


ADAPTERS = {
    a.name: a
    for a in [
        Adapter(  # with tiktoken's files, so the exact-count tests (o200k, cl100k) run too
            "core",
            (CORE,),
            (f"{CORE}/tests", "tests/contract/test_suite_itself.py"),
            None,
            extra=("pyyaml",),
            no_deps=(LITELLM_WHEEL,),
        ),
        Adapter("asgi", (CORE, ASGI), (f"{ASGI}/tests",), f"{ASGI}/tests/contract_client.py"),
        Adapter(
            "starlette",
            (CORE, ASGI),
            (),
            f"{FASTAPI}/tests/contract_client_starlette.py",
            extra=("starlette",),
        ),
        Adapter(
            "fastapi",
            (CORE, ASGI, FASTAPI),
            (f"{FASTAPI}/tests",),
            f"{FASTAPI}/tests/contract_client.py",
            versions={"oldest": ("fastapi==0.110.*",), "newest": ()},
        ),
        Adapter(
            "litellm",
            (CORE, LITELLM),
            (f"{LITELLM}/tests",),
            f"{LITELLM}/tests/contract_client.py",
            versions={"1.94": ("litellm[proxy]==1.94.0",), "newest": ()},
        ),
        Adapter(
            "django",
            (CORE, ASGI, DJANGO),
            (f"{DJANGO}/tests",),
            f"{DJANGO}/tests/contract_client.py",
            versions={"4.2": ("django~=4.2.0",), "5.2": ("django~=5.2.0",)},
        ),
    ]
}

TRANSFORM_SETS = ("search", "router", "tags", "seed")
"""Each transform alone, and the seed's full config; the contract suite builds them (tests/contract)."""


def cells() -> list[nox.param]:  # type: ignore[name-defined]
    out = []
    for a in ADAPTERS.values():
        for version in a.versions:
            for transforms in TRANSFORM_SETS if a.client else ("all",):
                cell_id = f"{a.name}-{version}-{transforms}"
                out.append(nox.param(a.name, version, transforms, id=cell_id, tags=[a.name, transforms]))
    return out


def adapter_env(session: nox.Session, adapter: Adapter, version: str) -> Path:
    """A venv per (adapter, version), shared by its transform cells; rebuilt when its inputs change."""
    env = ENVS / f"{adapter.name}-{version}"
    reqs = adapter.requirements(version)
    editable = [arg for dist in adapter.distributions for arg in ("-e", dist)]
    inputs = [
        *reqs,
        *editable,
        *adapter.no_deps,
        *(Path(d, "pyproject.toml").read_text() for d in adapter.distributions),
    ]
    stamp = hashlib.sha256("\n".join(inputs).encode()).hexdigest()
    stamp_file = env / ".headroom-stamp"
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        shutil.rmtree(env, ignore_errors=True)
        session.run("uv", "venv", "--quiet", "--python", PYTHON, str(env), external=True)
        session.run("uv", "pip", "install", "--quiet", "--python", str(env), *editable, *reqs, external=True)
        if adapter.no_deps:
            session.run(
                "uv",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--python",
                str(env),
                *adapter.no_deps,
                external=True,
            )
        stamp_file.write_text(stamp)
    return env


@nox.session(python=PYTHON, tags=["lint"])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install(*nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, tags=["typecheck"])
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every distribution's source."""
    groups = nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "typecheck")
    session.install(*groups, *[a for d in DISTRIBUTIONS[:-1] for a in ("-e", d)])
    sources = [f"{d}/src" for d in DISTRIBUTIONS[:-1]]
    session.run("mypy", *sources)


@nox.session(venv_backend="none", tags=["tests"])
@nox.parametrize(("adapter", "version", "transforms"), cells())
def tests(session: nox.Session, adapter: str, version: str, transforms: str) -> None:
    """One matrix cell: adapter x framework version x transform set.

    The contract suite runs in every cell; the adapter's own tests run in its ``seed`` cell.
    """
    spec = ADAPTERS[adapter]
    env = adapter_env(session, spec, version)
    paths = list(spec.tests) if transforms in ("seed", "all") else []
    args = []
    if spec.client:
        paths.append("tests/contract/test_contract.py")
        args = [f"--contract-client={spec.client}", f"--contract-transforms={transforms}"]
    session.run(
        str(env / "bin" / "python"),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *paths,
        *args,
        *session.posargs,
        external=True,
    )


NAMESPACES = ("headroom/__init__.py", "headroom/integrations/__init__.py", "headroom/proxy/__init__.py")


def check_namespace(session: nox.Session, wheels: list[Path]) -> None:
    """PEP 420: no wheel may own a namespace __init__.py, and no two wheels may ship the same file."""
    owners: dict[str, str] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if ".dist-info/" in name:
                    continue
                if name in NAMESPACES:
                    session.error(f"{wheel.name} ships {name}: headroom is a PEP 420 namespace")
                if name in owners:
                    session.error(f"{name} is in both {owners[name]} and {wheel.name}")
                owners[name] = wheel.name


PUBLIC_MODULES = {
    "": ["headroom.engine", "headroom.transforms", "headroom.proxy.config", "headroom.cli"],
    "asgi": ["headroom.integrations.asgi", "headroom.proxy.extensions"],
    "fastapi": ["headroom.integrations.fastapi", "headroom.proxy.extensions"],
    "litellm": ["headroom.integrations.litellm"],
    "django": [
        "headroom.integrations.django",
        "headroom.integrations.django.apps",
        "headroom.integrations.django.asgi",
        "headroom.integrations.django.middleware",
        "headroom.integrations.django.checks",
    ],
}
PUBLIC_MODULES["all"] = [m for mods in PUBLIC_MODULES.values() for m in mods]


@nox.session(venv_backend="none", tags=["packaging"])
def packaging(session: nox.Session) -> None:
    """Build every wheel, install headroom[<extra>] from them into fresh venvs, import the public paths."""
    dist = ROOT / ".nox" / "_dist"
    shutil.rmtree(dist, ignore_errors=True)
    for d in DISTRIBUTIONS:
        session.run("uv", "build", "--quiet", "--wheel", "--out-dir", str(dist), d, external=True)
    check_namespace(session, sorted(dist.glob("*.whl")))
    # Install the meta wheel by path: an unrelated project holds the name "headroom" on PyPI.
    (meta,) = dist.glob("headroom-*.whl")
    for extra, modules in PUBLIC_MODULES.items():
        env = ROOT / ".nox" / f"_pkg-{extra or 'bare'}"
        shutil.rmtree(env, ignore_errors=True)
        session.run("uv", "venv", "--quiet", "--python", PYTHON, str(env), external=True)
        target = f"{meta}[{extra}]" if extra else str(meta)
        install = ["uv", "pip", "install", "--quiet", "--python", str(env), "--find-links", str(dist), target]
        session.run(*install, external=True)
        code = "; ".join(f"import {m}" for m in modules)
        session.run(str(env / "bin" / "python"), "-c", code, external=True)
        session.run(str(env / "bin" / "headroom"), "config", "schema", external=True, silent=True)
        shutil.rmtree(env, ignore_errors=True)


@nox.session(python=PYTHON, tags=["demo"])
def demo(session: nox.Session) -> None:
    """The main job: a FastAPI gateway with Headroom before a local fake provider, fed examples/requests."""
    session.install("-e", CORE, "-e", ASGI, "-e", FASTAPI, "uvicorn>=0.30", "httpx>=0.27")
    session.install(*TIKTOKEN_FILES)
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=PYTHON, tags=["bench"])
def bench(session: nox.Session) -> None:
    """Benchmarks: compression on the dev corpus (``nox -s bench -- --corpus PATH``), token estimator error,
    and the ASGI middleware under load."""
    session.install("-e", CORE, "-e", ASGI, "uvicorn>=0.30", "httpx>=0.27")
    session.install(*TIKTOKEN_FILES)
    session.run("python", "benchmarks/compression.py", *session.posargs, env={"PYTHONHASHSEED": "0"})
    session.run("python", "benchmarks/token_estimator.py")
    session.run("python", "benchmarks/asgi_load.py")
