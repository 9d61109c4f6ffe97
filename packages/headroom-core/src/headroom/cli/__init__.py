"""The ``headroom`` command: ``headroom compress [FILE|-]`` and ``headroom config schema``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig


def _load_config(path: str | None) -> ProxyConfig:
    return ProxyConfig.from_file(path) if path else ProxyConfig.from_env()


def _compress(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    result = Engine(config).compress(raw, path=args.path)
    out = result.body if isinstance(result.body, bytes) else str(result.body).encode()
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    print(json.dumps(result.summary(), indent=None if args.compact else 2), file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(ProxyConfig.json_schema(), indent=2))
    return 0


def _show(args: argparse.Namespace) -> int:
    print(_load_config(args.config).model_dump_json(indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headroom", description="Compress the tool output in LLM requests.")
    sub = parser.add_subparsers(dest="command", required=True)

    compress = sub.add_parser("compress", help="compress one request body; stats go to stderr")
    compress.add_argument("file", nargs="?", default="-", help="a JSON request body, or - for stdin")
    compress.add_argument("--config", help="a ProxyConfig file (JSON, TOML, YAML); default: HEADROOM_*")
    compress.add_argument("--path", help="the HTTP path the body is posted to, e.g. /v1/messages")
    compress.add_argument("--compact", action="store_true", help="stats on one line")
    compress.set_defaults(func=_compress)

    config = sub.add_parser("config", help="configuration helpers")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    schema = config_sub.add_parser("schema", help="print ProxyConfig's JSON schema")
    schema.set_defaults(func=_schema)
    show = config_sub.add_parser("show", help="print the effective configuration")
    show.add_argument("--config", help="a ProxyConfig file")
    show.set_defaults(func=_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"headroom: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
