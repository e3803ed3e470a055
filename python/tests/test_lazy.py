"""Lazy builds: exactly once, on the caller's loop, no zombie after unregister,
eager <-> lazy re-registration."""

from __future__ import annotations

import asyncio
import threading

import pytest
from conftest import WAIT, Platform, join, run, wait_event


class GatedFactory:
    """A factory that blocks (asynchronously) until released, counting calls
    and recording the loop and thread it ran on."""

    def __init__(self, watch=None, prefix: str = "") -> None:
        self.prefix = prefix
        self.calls = 0
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.release = threading.Event()
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.threads: list[int] = []
        self.watch = watch

    async def __call__(self, tenant_id: str):
        with self.lock:
            self.calls += 1
        self.loops.append(asyncio.get_running_loop())
        self.threads.append(threading.get_ident())
        self.started.set()
        # Await the gate without blocking the loop.
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
            None, self.release.wait, WAIT), WAIT + 1)
        p = Platform(f"{self.prefix}{tenant_id}#{self.calls}")
        return self.watch.track(p) if self.watch else p


def test_gather_of_50_resolves_builds_once(make_registry):
    r = make_registry(validator=lambda tid, url: True)
    f = GatedFactory()

    async def go():
        await r.register_lazy("t", agent_url="https://t.example", factory=f)
        tasks = [asyncio.ensure_future(r.resolve("t.example")) for _ in range(25)]
        tasks += [asyncio.ensure_future(r.resolve_by_id("t")) for _ in range(25)]
        await asyncio.sleep(0)
        f.release.set()
        got = await asyncio.gather(*tasks)
        return got, asyncio.get_running_loop()

    got, loop = run(go())
    assert f.calls == 1
    assert len({id(g.platform) for g in got}) == 1
    assert {g.health for g in got} == {"healthy"}
    assert f.loops == [loop]  # awaited on the caller's loop
    assert f.threads == [threading.get_ident()]


def test_loop_keeps_running_during_a_build(make_registry):
    r = make_registry()
    f = GatedFactory()

    async def go():
        await r.register_lazy("t", agent_url="https://t.example", factory=f)
        pending = asyncio.ensure_future(r.resolve("t.example"))
        ticks = 0
        while not f.started.is_set() or ticks < 20:  # the loop is free meanwhile
            ticks += 1
            await asyncio.sleep(0)
            assert ticks < 100000
        assert not pending.done()
        assert r.resolve_by_host("t.example") is None  # a sync lookup meanwhile
        f.release.set()
        return await pending

    assert run(go()).platform.name == "t#1"


def test_exactly_once_across_loops_in_threads(make_registry):
    r = make_registry()
    f = GatedFactory()
    run(r.register_lazy("t", agent_url="https://t.example", factory=f))
    n = 6
    barrier = threading.Barrier(n + 1, timeout=WAIT)
    results: list = [None] * n
    errors: list = []

    def worker(i):
        async def go():
            barrier.wait()
            return await asyncio.gather(*[r.resolve("t.example") for _ in range(10)])

        try:
            results[i] = run(go())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    assert f.started.wait(WAIT)
    f.release.set()
    join(threads)
    assert not errors
    assert f.calls == 1
    platforms = {id(x.platform) for batch in results for x in batch}
    assert len(platforms) == 1


def test_cancelled_first_resolve_does_not_cancel_the_build(make_registry):
    r = make_registry()
    f = GatedFactory()

    async def go():
        await r.register_lazy("t", agent_url="https://t.example", factory=f)
        first = asyncio.ensure_future(r.resolve("t.example"))
        while not f.started.is_set():
            await asyncio.sleep(0.001)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        second = asyncio.ensure_future(r.resolve("t.example"))
        f.release.set()
        return await second

    got = run(go())
    assert got.platform.name == "t#1" and f.calls == 1


@pytest.mark.parametrize("how", ["unregister", "reregister_eager", "reregister_lazy"])
def test_unregister_or_replace_during_a_build(make_registry, watch, how):
    r = make_registry(validator=lambda tid, url: True)
    f = GatedFactory(watch)
    f2 = GatedFactory(watch, prefix="second-")
    f2.release.set()

    async def go():
        await r.register_lazy("t", agent_url="https://t.example", factory=f)
        waiters = [asyncio.ensure_future(r.resolve("t.example")) for _ in range(5)]
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
            None, f.started.wait, WAIT), WAIT)
        if how == "unregister":
            r.unregister("t")
        elif how == "reregister_eager":
            await r.register("t", agent_url="https://t.example", platform=Platform("eager"))
        else:
            await r.register_lazy("t", agent_url="https://t.example", factory=f2)
        f.release.set()
        return await asyncio.gather(*waiters)

    got = run(go())
    assert got == [None] * 5  # the build of a registration that is gone
    assert f.calls == 1
    assert watch.wait_released("t#1")  # its platform was discarded
    if how == "unregister":  # no zombie
        assert r.health("t") is None
        assert r.registered_tenants == frozenset()
        assert r.resolve_by_host("t.example") is None
        assert run(r.resolve("t.example")) is None
    elif how == "reregister_eager":
        assert r.health("t") == "pending"
        assert r.resolve_by_host("t.example").platform.name == "eager"
    else:
        assert r.health("t") == "pending"  # the old build did not touch it
        assert r.resolve_by_host("t.example") is None
        assert run(r.resolve("t.example")).platform.name == "second-t#1"
        assert f2.calls == 1
    assert watch.count("t#1") == 1


def test_eager_to_lazy_and_back(make_registry, watch):
    r = make_registry()
    calls = []

    async def factory(tid):
        calls.append(tid)
        return watch.make(f"lazy{len(calls)}")

    async def go():
        await r.register("t", agent_url="https://t.example", platform=watch.make("eager1"))
        assert r.resolve_by_host("t.example").platform.name == "eager1"
        # eager -> lazy: the platform goes, the factory is used on first resolve
        await r.register_lazy("t", agent_url="https://t2.example", factory=factory)
        assert r.resolve_by_host("t.example") is None  # the host moved
        assert r.resolve_by_host("t2.example") is None  # not built yet
        assert r.health("t") == "pending"
        assert (await r.resolve("t2.example")).platform.name == "lazy1"
        # lazy (built) -> eager: the built platform goes, the factory is dropped
        await r.register("t", agent_url="https://t2.example", platform=watch.make("eager2"))
        assert r.resolve_by_host("t2.example").platform.name == "eager2"
        assert (await r.resolve_by_id("t")).platform.name == "eager2"
        # lazy (never built) -> eager: the factory never runs
        await r.register_lazy("t", agent_url="https://t2.example", factory=factory)
        await r.register("t", agent_url="https://t2.example", platform=watch.make("eager3"))
        assert (await r.resolve("t2.example")).platform.name == "eager3"

    run(go())
    assert calls == ["t"]
    for name in ("eager1", "lazy1", "eager2"):
        assert watch.wait_released(name), name
    assert "eager3" not in watch.released


def test_unregister_from_inside_the_factory(make_registry):
    r = make_registry()

    async def factory(tid):
        r.unregister(tid)
        return Platform(tid)

    run(r.register_lazy("t", agent_url="https://t.example", factory=factory))
    assert run(r.resolve("t.example")) is None
    assert r.health("t") is None and r.registered_tenants == frozenset()


def test_factory_may_use_the_registry(make_registry):
    r = make_registry()

    async def factory(tid):
        # a factory that registers another tenant and looks one up
        await r.register(f"{tid}-sidecar", agent_url=f"https://{tid}-sidecar.example", platform=1)
        assert (await r.resolve(f"{tid}-sidecar.example")).platform == 1
        return Platform(tid)

    run(r.register_lazy("t", agent_url="https://t.example", factory=factory))
    assert run(r.resolve("t.example")).platform.name == "t"
    assert r.registered_tenants == {"t", "t-sidecar"}


def test_many_lazy_tenants_build_concurrently(make_registry):
    """A slow factory does not hold up other tenants' builds (they all run on
    the loop at once, none on tenreg's one builder thread)."""
    r = make_registry()
    n = 20
    arrived = 0
    all_in = asyncio.Event

    async def go():
        nonlocal arrived
        gate = all_in()

        async def factory(tid):
            nonlocal arrived
            arrived += 1
            if arrived == n:
                gate.set()
            await wait_event(gate)  # every factory is in flight at once
            return Platform(tid)

        for i in range(n):
            await r.register_lazy(f"t{i}", agent_url=f"https://t{i}.example", factory=factory)
        got = await asyncio.gather(*[r.resolve(f"t{i}.example") for i in range(n)])
        return [g.platform.name for g in got]

    assert run(go()) == [f"t{i}" for i in range(n)]
