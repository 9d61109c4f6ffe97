"""Headroom as pure ASGI middleware: compresses the tool output in LLM requests on their way into an app.

```python
from headroom.integrations.asgi import HeadroomASGIMiddleware
app.add_middleware(HeadroomASGIMiddleware, config=config)  # or wrap: HeadroomASGIMiddleware(app, config)
```
"""

from __future__ import annotations

from headroom.integrations.asgi._decode import supported_encodings
from headroom.integrations.asgi.lookup import find_engine, find_middleware, request_record, scope_engine
from headroom.integrations.asgi.middleware import ENGINE_KEY, STATE_KEY, HeadroomASGIMiddleware, RequestRecord

__all__ = [
    "ENGINE_KEY",
    "STATE_KEY",
    "HeadroomASGIMiddleware",
    "RequestRecord",
    "find_engine",
    "find_middleware",
    "request_record",
    "scope_engine",
    "supported_encodings",
]
