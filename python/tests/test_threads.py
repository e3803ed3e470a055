"""Plain threads and several event loops on one registry at once."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter

from conftest import WAIT, Platform, join, run

ITERS = int(os.environ.get("TENREG_PY_STRESS_ITERS", "150"))
STATES = {"pending", "healthy", "unverified", "disabled"}


def test_readers_and_two_loops_together(make_registry):
    async def validator(tid, url):
        await asyncio.sleep(0)
        return not tid.endswith("3")

    r = make_registry(validator=validator)
    builds = Counter()  # (tenant, generation) -> factory calls
    builds_lock = threading.Lock()
    errors: list[BaseException] = []
    stop = threading.Event()
    eager = [f"e{i}" for i in range(8)]
    lazy = [f"l{i}" for i in range(8)]
    reads = Counter()

    def factory_for(tid, gen):
        async def factory(t):
            assert t == tid
            with builds_lock:
                builds[(tid, gen)] += 1
            await asyncio.sleep(0)
            return Platform(f"{tid}@{gen}")
        return factory

    def check(res, tid):
        if res is None:
            return
        assert res.tenant_id == tid, (res, tid)
        assert res.health in STATES
        assert res.platform.name.split("@")[0] == tid

    def reader():
        try:
            i = 0
            while not stop.is_set():
                tid = (eager + lazy)[i % 16]
                check(r.resolve_by_host(f"{tid}.example:443"), tid)
                assert r.health(tid) in STATES | {None}
                assert r.registered_tenants <= set(eager + lazy)
                i += 1
            reads[threading.get_ident()] = i
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def admin_loop():
        async def go():
            for it in range(ITERS):
                tid = eager[it % 8]
                await r.register(tid, agent_url=f"https://{tid}.example/a",
                                 platform=Platform(f"{tid}@{it}"),
                                 await_first_validation=it % 2 == 0)
                try:
                    await r.recheck(eager[(it + 3) % 8])
                except KeyError:
                    pass  # not registered (yet, or any more)
                if it % 5 == 0:
                    r.unregister(eager[(it + 1) % 8])
        try:
            run(go(), timeout=WAIT * 3)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    gens = Counter()

    def lazy_loop(me):
        async def go():
            for it in range(ITERS):
                tid = lazy[it % 8]
                if me == 0 and it % 3 == 0:
                    with builds_lock:
                        gens[tid] += 1
                        gen = gens[tid]
                    await r.register_lazy(tid, agent_url=f"https://{tid}.example/l",
                                          factory=factory_for(tid, gen))
                got = await asyncio.gather(r.resolve(f"{tid}.example"), r.resolve_by_id(tid),
                                           r.resolve(f"https://{tid}.example/x"))
                for g in got:
                    check(g, tid)
                if me == 1 and it % 11 == 0:
                    r.unregister(tid)
        try:
            run(go(), timeout=WAIT * 3)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    readers = [threading.Thread(target=reader, name=f"reader{i}", daemon=True)
               for i in range(3)]
    loops = [threading.Thread(target=admin_loop, name="admin-loop", daemon=True),
             threading.Thread(target=lazy_loop, args=(0,), name="lazy-loop0", daemon=True),
             threading.Thread(target=lazy_loop, args=(1,), name="lazy-loop1", daemon=True)]
    try:
        for t in readers + loops:
            t.start()
        join(loops, WAIT * 4)
    finally:
        stop.set()  # even when an assertion failed: the readers must end
    join(readers)
    assert not errors, errors
    assert all(n <= 1 for n in builds.values()), builds  # exactly once per registration
    assert sum(builds.values()) > 0
    assert len(reads) == 3 and all(n > 0 for n in reads.values())
    # The registry's own bookkeeping is consistent with tenreg's.
    assert r._core.bad_frees == 0
    assert r.registered_tenants == {t for t in eager + lazy if r.health(t) is not None}


def test_a_build_started_on_one_loop_is_awaited_on_others(make_registry):
    r = make_registry()
    entered = threading.Event()
    release = threading.Event()
    calls = []

    async def factory(tid):
        calls.append(threading.current_thread().name)
        entered.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait, WAIT)
        return Platform(tid)

    run(r.register_lazy("t", agent_url="https://t.example", factory=factory))
    results = {}

    def on_loop(name):
        async def go():
            return await r.resolve_by_id("t")
        results[name] = run(go())

    first = threading.Thread(target=on_loop, args=("first",), name="first")
    first.start()
    assert entered.wait(WAIT)
    others = [threading.Thread(target=on_loop, args=(f"o{i}",), name=f"o{i}") for i in range(3)]
    for t in others:
        t.start()
    # a plain thread meanwhile: the sync lookup answers None (not built)
    assert r.resolve_by_host("t.example") is None
    release.set()
    join([first] + others)
    assert calls == ["first"]  # awaited on the loop of the call that started it
    assert len({id(v.platform) for v in results.values()}) == 1


def test_thread_registration_is_per_thread(make_registry):
    """Each new thread is registered with tenreg on its first lookup (and
    unregistered by tenreg when it exits): many short-lived threads work."""
    r = make_registry()
    run(r.register("t", agent_url="https://t.example", platform=1))
    ok = []

    def once():
        ok.append(r.resolve_by_host("t.example").platform == 1)

    for _ in range(10):
        batch = [threading.Thread(target=once) for _ in range(8)]
        for t in batch:
            t.start()
        join(batch)
    assert ok == [True] * 80
