"""_sync - waiting across threads and event loops without blocking any loop.

A registry may be used by several event loops (one per thread) and by plain
threads at once, so nothing here is bound to one loop: the shared state is a
``concurrent.futures.Future`` (thread-safe), and each waiter awaits it on its
own running loop through :func:`wait`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading


def _settle(fut: asyncio.Future, src: concurrent.futures.Future) -> None:
    if fut.done():
        return  # the waiter was cancelled
    exc = src.exception()
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(src.result())


def wait(src: concurrent.futures.Future):
    """An awaitable of @src on the running loop.

    Unlike asyncio.wrap_future, cancelling the awaiting task never cancels
    @src: other loops may be waiting on it too, and it belongs to whoever
    completes it.
    """
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    if src.done():
        _settle(fut, src)
        return fut

    def on_done(_):
        try:
            loop.call_soon_threadsafe(_settle, fut, src)
        except RuntimeError:
            pass  # that loop is closed: nobody is left to wake

    src.add_done_callback(on_done)
    return fut


class Turnstile:
    """First-come, first-served turns across loops and threads.

    The per-registration counterpart of the SDK's per-tenant asyncio.Lock (and
    of tenreg's own turnstile): rechecks, awaited first validations and lazy
    builds of one registration run one at a time, in arrival order. Each
    holder's turn is a Future that completes when it leaves; the next one in
    line awaits it.
    """

    __slots__ = ("_lock", "_tail")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tail: concurrent.futures.Future | None = None

    async def enter(self) -> concurrent.futures.Future:
        mine: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            prev, self._tail = self._tail, mine
        if prev is not None and not prev.done():
            try:
                await wait(prev)
            except BaseException:
                # Cancelled in line: our turn passes on once the one before
                # us is done, so that nobody behind us waits forever.
                prev.add_done_callback(lambda _f: mine.set_result(None))
                raise
        return mine

    @staticmethod
    def leave(turn: concurrent.futures.Future) -> None:
        turn.set_result(None)
