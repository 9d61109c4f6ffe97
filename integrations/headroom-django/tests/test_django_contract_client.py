"""The contract client drives the real get_asgi_application() stack (smoke test; the suite runs from nox)."""

from __future__ import annotations

import gzip

from contract_client import contract_client
from headroom_django_testing.bodies import CHAT, all_formats, build_log, chat, encode
from headroom_django_testing.squeeze import squeeze_config

from headroom.engine import Engine


def test_delivers_what_the_engine_makes() -> None:
    config = squeeze_config()
    engine = Engine(config)
    with contract_client(config) as client:
        assert client.raw_bytes
        for path, body in all_formats():
            delivery = client.deliver(path, body)
            want = engine.compress(body, path=path)
            assert delivery.status == 200
            assert delivery.body == want.body
            assert len(delivery.body or b"") < len(body)
            assert delivery.response_headers["x-headroom-tokens-saved"] == str(want.tokens_saved)
        plain = encode(chat(build_log()))
        off = client.deliver(CHAT, plain, {"x-headroom-mode": "off"})
        assert off.body == plain
        assert not [h for h in off.headers if h.startswith("x-headroom-")]
        zipped = client.deliver(CHAT, gzip.compress(plain), {"content-encoding": "gzip"})
        assert zipped.body == engine.compress(plain, path=CHAT).body
        assert client.deliver("/v1/embeddings", plain).body == plain
