"""Answers that depend only on the curated data, computed once and served as stored JSON bytes.

The risk table, the catalog, facts queries and the map and Sankey figures are pure functions of
the curated dataset (plus, for facts seen through an overlay, the overlay's rows). Recomputing
them per request cost 5–300 ms of CPU each and made a team's load queue for seconds, so each
answer is kept, rendered, under the key ``(data folder, data edition, endpoint, parameters)``:

* a rebuilt dataset (new ``manifest.json``) or another ``$CRITMIN_DATA_DIR`` is a new key, so a
  stale answer is never served (the manifest is re-read only when its file changes);
* concurrent requests for the same missing key wait for one computation instead of each
  starting their own (single flight), and different keys compute in parallel;
* the store is bounded by bytes and forgets the least recently used answers first; errors are
  never stored (they are cheap, and a fixed dataset may stop raising them).

Each server process keeps its own store; nothing here is shared with the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

#: Bytes of rendered JSON kept per server process. The largest answer, every fact of every
#: edition unfiltered, is ~4 MB; 64 MB holds it with all the usual queries beside it.
MAX_BYTES: Final = 64 * 2**20


def render(content: Any) -> bytes:
    """Compact UTF-8 JSON as FastAPI renders a return value (pydantic's serialiser, NaN and
    infinities as null); ~4× faster than ``json.dumps`` on a long list of objects."""
    return to_json(content, inf_nan_mode="null")


def json_bytes(body: bytes) -> Response:
    """A JSON response of rendered bytes. FastAPI passes a ``Response`` through unchanged,
    skipping the validation and serialisation of the return value against its annotation."""
    return Response(body, media_type="application/json")


def respond(content: Any) -> Response:
    """``content`` rendered now (for large uncached answers such as a long scenario list)."""
    return json_bytes(render(content))


_editions: dict[str, tuple[tuple[int, int, int] | None, str]] = {}
_editions_lock = threading.Lock()


def edition_key() -> tuple[str, str]:
    """(data folder, data edition) of the curated data as read now.

    The manifest is parsed again only when its file changes (one ``stat`` per request), so a
    dataset rebuilt in place is noticed at the next request.
    """
    from critmin.data import store

    folder = store.data_dir()
    try:
        info = (folder / store.MANIFEST).stat()
        stamp: tuple[int, int, int] | None = (info.st_mtime_ns, info.st_size, info.st_ino)
    except OSError:
        stamp = None
    with _editions_lock:
        known = _editions.get(str(folder))
    if known is not None and stamp is not None and known[0] == stamp:
        return str(folder), known[1]
    edition = store.data_edition()  # a missing manifest raises the usual CritminError
    with _editions_lock:
        _editions[str(folder)] = (stamp, edition)
    return str(folder), edition


@dataclass
class ReadCache:
    """Rendered answers per (data edition, endpoint, parameters); safe across request threads."""

    max_bytes: int = MAX_BYTES
    _store: OrderedDict[Hashable, bytes] = field(default_factory=OrderedDict)
    _flights: dict[Hashable, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    size: int = 0
    #: Answers computed per endpoint name (a test checks "computed once" with it).
    computed: dict[str, int] = field(default_factory=dict)
    hits: int = 0

    def _lookup(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._store.get(key)
            if body is not None:
                self._store.move_to_end(key)
                self.hits += 1
            return body

    def _keep(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            if len(body) > self.max_bytes // 4 or key in self._store:
                return
            self._store[key] = body
            self.size += len(body)
            while self.size > self.max_bytes:
                _, old = self._store.popitem(last=False)
                self.size -= len(old)

    def body(self, name: str, params: Hashable, build: Callable[[], Any]) -> bytes:
        """The rendered answer of ``build()`` for this endpoint and parameters on the current
        data edition; ``build`` runs at most once per key while the answer stays stored."""
        return self._body((*edition_key(), name, params), name, build)

    def _body(self, key: Hashable, name: str, build: Callable[[], Any]) -> bytes:
        found = self._lookup(key)
        if found is not None:
            return found
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        try:
            with flight:  # one computation per key; the others wait here and then read it
                found = self._lookup(key)
                if found is not None:
                    return found
                body = render(build())
                with self._lock:
                    self.computed[name] = self.computed.get(name, 0) + 1
                self._keep(key, body)
                return body
        finally:
            with self._lock:
                if self._flights.get(key) is flight and not flight.locked():
                    del self._flights[key]

    async def serve(self, name: str, params: Hashable, build: Callable[[], Any]) -> Response:
        """:meth:`body` as a JSON response, for ``async`` routes: a stored answer is sent from
        the event loop at once; only a computation goes to the thread pool."""
        key = (*edition_key(), name, params)
        found = self._lookup(key)
        if found is None:
            found = await run_in_threadpool(self._body, key, name, build)
        return json_bytes(found)

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self.size = 0
