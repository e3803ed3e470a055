"""Platforms stay alive while tenreg owns them and are released exactly once,
after its grace period; nothing leaks."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

from conftest import WAIT, Platform, join, run

import tenreg
from tenreg import _registry


def _core(r):
    return r._core


def test_alive_while_owned_released_once_after_unregister(make_registry, watch):
    r = make_registry()
    p = watch.make("p")
    ref = weakref.ref(p)
    run(r.register("t", agent_url="https://t.example", platform=p))
    del p
    gc.collect()
    assert ref() is not None  # the registry owns it: alive with no other reference
    assert r.resolve_by_host("t.example").platform is ref()
    frees = _core(r).frees
    r.unregister("t")
    assert watch.wait_released("p")
    assert ref() is None
    assert watch.count("p") == 1
    assert _core(r).frees == frees + 1 and _core(r).bad_frees == 0
    assert _core(r).handles == {}


def test_a_resolution_keeps_its_platform_usable_after_unregister(make_registry, watch):
    r = make_registry()
    run(r.register("t", agent_url="https://t.example", platform=watch.make("p")))
    held = r.resolve_by_host("t.example")
    r.unregister("t")
    gc.collect()
    # tenreg released it (its handle is gone), the caller's reference remains
    assert held.platform.name == "p"
    assert "p" not in watch.released
    del held
    assert watch.wait_released("p")


def test_refcount_returns_to_baseline(make_registry):
    r = make_registry()
    p = Platform("p")
    base = sys.getrefcount(p)
    run(r.register("t", agent_url="https://t.example", platform=p))
    assert sys.getrefcount(p) > base
    got = r.resolve_by_host("t.example")
    assert got.platform is p
    del got
    r.unregister("t")
    assert r._core.wait_released(WAIT)  # platform_free ran, after a grace period
    gc.collect()
    assert sys.getrefcount(p) == base


def test_replaced_platform_is_released(make_registry, watch):
    r = make_registry()

    async def go():
        await r.register("t", agent_url="https://t.example", platform=watch.make("v1"))
        await r.register("t", agent_url="https://t.example", platform=watch.make("v2"))

    run(go())
    assert watch.wait_released("v1")
    assert "v2" not in watch.released
    assert r.resolve_by_host("t.example").platform.name == "v2"


def test_one_object_for_two_tenants(make_registry, watch):
    r = make_registry()
    async def go(shared):
        await r.register("a", agent_url="https://a.example", platform=shared)
        await r.register("b", agent_url="https://b.example", platform=shared)

    run(go(watch.make("shared")))
    r.unregister("a")
    gc.collect()
    assert r.resolve_by_host("b.example").platform.name == "shared"
    r.unregister("b")
    assert watch.wait_released("shared") and watch.count("shared") == 1
    assert r._core.bad_frees == 0


def test_close_releases_everything(make_registry, watch):
    r = make_registry()

    async def factory(tid):
        return watch.make(f"lazy-{tid}")

    async def go():
        for i in range(20):
            await r.register(f"e{i}", agent_url=f"https://e{i}.example", platform=watch.make(f"e{i}"))
            await r.register_lazy(f"l{i}", agent_url=f"https://l{i}.example", factory=factory)
        for i in range(10):
            await r.resolve(f"l{i}.example")

    run(go())
    r.close()
    gc.collect()
    # tenreg_free returned after every platform_free: no waiting needed
    assert sorted(watch.released) == sorted([f"e{i}" for i in range(20)] +
                                            [f"lazy-l{i}" for i in range(10)])
    assert r._core.handles == {} and r._core.cells == {}
    assert r._core.bad_frees == 0


def test_del_is_a_safety_net(watch):
    r = tenreg.TenantRegistry()
    run(r.register("t", agent_url="https://t.example", platform=watch.make("p")))
    core = r._core
    del r  # no close(): __del__ frees the C registry
    assert watch.wait_released("p")
    assert core.handles == {} and core.bad_frees == 0


def test_register_unregister_churn_leaks_nothing(make_registry):
    r = make_registry(validator=lambda tid, url: tid != "bad")

    async def factory(tid):
        return Platform(tid)

    async def churn(n):
        for i in range(n):
            tid = "bad" if i % 7 == 0 else f"t{i % 13}"
            if i % 2:
                await r.register(tid, agent_url=f"https://{tid}.example", platform=Platform(tid),
                                 await_first_validation=i % 3 == 0)
            else:
                await r.register_lazy(tid, agent_url=f"https://{tid}.example", factory=factory)
                await r.resolve(f"{tid}.example")
            if i % 5 == 0:
                await r.recheck(tid)
            if i % 3 == 0:
                r.unregister(tid)

    run(churn(300))  # warm up caches and lazy imports
    for t in list(r.registered_tenants):
        r.unregister(t)
    gc.collect()
    before = len(gc.get_objects())
    run(churn(600))
    for t in list(r.registered_tenants):
        r.unregister(t)
    core = r._core
    assert core.wait_released(WAIT)  # platform_free runs after a grace period
    gc.collect()
    assert core.handles == {} and core.cells == {} and core.verdicts == {}
    assert core.bad_frees == 0
    assert r._tasks == set()
    assert len(gc.get_objects()) - before < 200


def test_a_platform_whose_release_calls_the_registry(make_registry):
    """platform_free runs on liburcu's thread; a platform whose __del__ uses
    the registry (even closes another one) must not deadlock."""
    r = make_registry()
    other = make_registry()
    run(other.register("x", agent_url="https://x.example", platform=1))
    released = threading.Event()

    class Reentrant:
        def __del__(self):
            r.unregister("t2")  # an admin call from the callback
            other.close()  # deferred to a thread: tenreg_free cannot run here
            released.set()

    async def go():
        await r.register("t1", agent_url="https://t1.example", platform=Reentrant())
        await r.register("t2", agent_url="https://t2.example", platform=2)

    run(go())
    r.unregister("t1")
    assert released.wait(WAIT)
    assert r.health("t2") is None
    assert other.closed
    with _registry._closers_lock:
        closers = list(_registry._closers)
    join(closers)  # the deferred tenreg_free finished


def test_close_while_other_threads_resolve(watch):
    r = tenreg.TenantRegistry()
    run(r.register("t", agent_url="https://t.example", platform=watch.make("p")))
    stop = threading.Event()
    going = [threading.Event() for _ in range(4)]

    def reader(i):
        n = 0
        while not stop.is_set():
            if r.resolve_by_host("t.example") is not None:
                n += 1
                if n == 200:
                    going[i].set()
            r.health("t")

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(4)]
    try:
        for t in threads:
            t.start()
        for ev in going:
            assert ev.wait(WAIT)
        r.close()  # readers still running: they get None from now on
        assert r.resolve_by_host("t.example") is None
    finally:
        stop.set()  # even when an assertion failed: the readers must end
    join(threads)
    assert watch.count("p") == 1
