"""The cluster executor: ``dask.distributed``, on a scheduler address or a LocalCluster.

Without an address a ``LocalCluster`` of worker *processes* (one thread each) is started and
closed around the run. With ``tcp://HOST:PORT`` the client connects within
:data:`CONNECT_TIMEOUT` seconds or fails with one line; it never hangs. The block function is
scattered to the workers once, then each chunk is a task; results come back as they finish.
Workers need critmin installed (the same version) to unpickle the tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from critmin.errors import CritminError
from critmin.run.blocks import Block
from critmin.run.local import Done, safe_chunk

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

#: Seconds to reach a scheduler before giving up.
CONNECT_TIMEOUT: Final = 5.0
#: Worker processes of a LocalCluster when no count is given (DESIGN: 2-core machines).
LOCAL_WORKERS: Final = 2


def connect(scheduler: str | None = None, workers: int | None = None
            ) -> tuple[Client, LocalCluster | None]:
    """A client on ``scheduler``, or on a new LocalCluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        address = scheduler.strip()
        if "://" not in address:
            raise CritminError(f"scheduler address {scheduler!r} has no protocol; allowed: "
                               "tcp://HOST:PORT (or tls://, inproc://)")
        try:
            return Client(address, timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError, ValueError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CritminError(f"cannot reach the dask scheduler at {address} within "
                               f"{CONNECT_TIMEOUT:g} s ({reason}); check the address and that "
                               "`dask scheduler` runs there") from None
    cluster = LocalCluster(n_workers=workers or LOCAL_WORKERS, threads_per_worker=1,
                           processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    try:
        return Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


def run_dask(fn: Callable[[Block], dict[str, Any]], chunks: Sequence[list[Block]],
             on_done: Done, workers: int | None = None, scheduler: str | None = None) -> None:
    """Run every chunk on a dask cluster; call ``on_done`` here as each one finishes."""
    from distributed import as_completed

    if not chunks:
        return
    client, cluster = connect(scheduler, workers)
    futures: list[Any] = []
    try:
        shared = client.scatter(fn, broadcast=True, hash=False)
        futures = [client.submit(_call, shared, chunk, pure=False) for chunk in chunks]
        for future in as_completed(futures):
            on_done(future.result())
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _call(fn: Callable[[Block], dict[str, Any]], chunk: list[Block]
          ) -> list[tuple[int, dict[str, Any]]]:
    return safe_chunk(fn, chunk)
