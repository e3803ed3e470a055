"""Shared helpers. Every wait in these tests is bounded: coroutines run under
asyncio.wait_for, threads and events are waited for with timeouts, and a test
that hangs anyway (a deadlock inside C) is killed with a traceback of every
thread by faulthandler."""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import threading
import weakref

import pytest

import tenreg

#: Seconds one test may take before faulthandler kills the run.
TEST_DEADLINE = 60.0
#: Seconds a single awaited operation or event may take.
WAIT = 10.0


@pytest.fixture(autouse=True)
def _deadline():
    faulthandler.dump_traceback_later(TEST_DEADLINE, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def run(coro, timeout: float = WAIT):
    """Run @coro on a fresh event loop, bounded by @timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_event(ev: asyncio.Event, timeout: float = WAIT) -> None:
    await asyncio.wait_for(ev.wait(), timeout)


def join(threads, timeout: float = WAIT) -> None:
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), f"{t.name} did not finish within {timeout} s"


class Platform:
    """A platform object that can be watched: weakly referenced, and its
    release counted and signalled."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Platform {self.name}>"


class Watch:
    """Counts the releases of platforms and lets a test wait for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.released: list[str] = []

    def track(self, p: Platform) -> Platform:
        weakref.finalize(p, self._gone, p.name)
        return p

    def make(self, name: str) -> Platform:
        return self.track(Platform(name))

    def _gone(self, name: str) -> None:
        with self._cond:
            self.released.append(name)
            self._cond.notify_all()

    def wait_released(self, name: str, timeout: float = WAIT) -> bool:
        """True once @name was released (collecting cycles while waiting)."""
        gc.collect()
        with self._cond:
            return self._cond.wait_for(lambda: name in self.released, timeout)

    def count(self, name: str) -> int:
        with self._lock:
            return self.released.count(name)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def make_registry():
    """TenantRegistry factory; every registry made is closed at teardown."""
    made = []

    def make(**kw) -> tenreg.TenantRegistry:
        r = tenreg.TenantRegistry(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def pytest_report_header(config):
    return (f"tenreg package: {tenreg.__file__}; libtenreg {tenreg.library_version} "
            f"({tenreg.library_path})")
