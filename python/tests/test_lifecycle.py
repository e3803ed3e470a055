"""close() inside a read section, cancellations of lazy builds, ENOMEM from
recheck, registries made after the exit hook."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import tenreg
from conftest import WAIT, join, run
from tenreg import _lib, _registry


def _run_script(code: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(tenreg.__file__))
    env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_close_from_a_signal_handler_inside_a_lookup():
    # A SIGALRM handler closes the registry while the main thread does
    # lookups: the handler runs inside a read section of that very thread.
    # Before the fix: no grace period for 30 s, then tenreg_free inside the
    # read section (abort). Bounded by the subprocess timeout.
    p = _run_script("""
        import asyncio, signal, threading
        import tenreg
        from tenreg import _registry
        r = tenreg.TenantRegistry()
        asyncio.run(r.register("t", agent_url="t.example", platform=1))
        def h(sig, frame):
            r.close()
        signal.signal(signal.SIGALRM, h)
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        while not r.closed:
            r.resolve_by_host("t.example")
        with _registry._closers_lock:
            closers = list(_registry._closers)
        for t in closers:
            t.join(10)
            assert not t.is_alive()
        assert r._core.wait_released(10)
        print("survived", flush=True)
    """)
    assert p.returncode == 0, p.stderr
    assert "survived" in p.stdout


def test_close_inside_a_simulated_read_section(watch):
    r = tenreg.TenantRegistry()
    run(r.register("t", agent_url="t.example", platform=watch.make("p")))
    done = threading.Event()
    box = []

    def body():
        s = _registry._thread_state()
        s.depth += 1
        _registry._rl()
        try:
            t0 = time.monotonic()
            r.close()  # must not wait for a grace period this thread holds up
            box.append(time.monotonic() - t0)
        finally:
            _registry._ru()
            s.depth -= 1
            done.set()

    t = threading.Thread(target=body, daemon=True)
    t.start()
    assert done.wait(WAIT)
    join([t])
    assert box and box[0] < 5.0, box
    with _registry._closers_lock:
        closers = list(_registry._closers)
    join(closers)
    assert watch.wait_released("p")
    assert r.resolve_by_host("t.example") is None


def test_close_never_frees_before_a_grace_period(monkeypatch, watch):
    # A reader in another thread holds the grace period up past free_wait:
    # close() returns, and tenreg_free waits until the reader is out.
    r = tenreg.TenantRegistry()
    run(r.register("t", agent_url="t.example", platform=watch.make("p")))
    monkeypatch.setattr(_registry._Core, "free_wait", 0.2)
    freed_at = []
    real = _registry._Core._free_now

    def record(self, regp):
        freed_at.append(time.monotonic())
        real(self, regp)

    monkeypatch.setattr(_registry._Core, "_free_now", record)
    inside = threading.Event()
    out_at = []

    def reader():
        s = _registry._thread_state()
        s.depth += 1
        _registry._rl()
        try:
            inside.set()
            time.sleep(1.0)
        finally:
            out_at.append(time.monotonic())
            _registry._ru()
            s.depth -= 1

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    assert inside.wait(WAIT)
    r.close()
    assert not freed_at  # not freed while the reader is inside
    join([t])
    with _registry._closers_lock:
        closers = list(_registry._closers)
    join(closers)
    assert freed_at and out_at and freed_at[0] >= out_at[0]
    assert watch.wait_released("p")


def test_cancel_during_publish_poll_keeps_the_build(make_registry, monkeypatch):
    r = make_registry()

    async def ok(_t):
        return "P"

    run(r.register_lazy("u", agent_url="u.example", factory=ok))
    real = _registry._by_id
    n = [0]

    def lagging(*a):
        rc = real(*a)
        n[0] += 1
        return _lib.EPENDING if n[0] == 2 else rc  # the builder lags once

    monkeypatch.setattr(_registry, "_by_id", lagging)

    async def cancel_in_poll():
        t = asyncio.ensure_future(r.resolve("u.example"))
        while n[0] < 2:
            await asyncio.sleep(0)
        for task in list(r._tasks):
            task.cancel()
        return await t

    got = run(cancel_in_poll())
    assert got is not None and got.platform == "P"
    monkeypatch.setattr(_registry, "_by_id", real)
    assert r.resolve_by_host("u.example").platform == "P"
    by_id = run(r.resolve_by_id("u"))
    assert by_id is not None and by_id.platform == "P" and by_id.health == "healthy"


def test_build_cancelled_by_loop_shutdown_is_retried(make_registry):
    r = make_registry()
    calls = []

    async def factory(_t):
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(WAIT)  # cancelled when its loop shuts down
        return "P"

    run(r.register_lazy("b", agent_url="b.example", factory=factory))
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(r.resolve("b.example"), 0.05))
    assert r.health("b") == "pending"
    got = run(r.resolve("b.example"))
    assert got is not None and got.platform == "P" and got.health == "healthy"
    assert len(calls) == 2
    assert "cancelled" not in r.status("b").reason


def test_waiter_on_another_loop_retries_a_cancelled_build(make_registry):
    r = make_registry()
    calls = []
    started = threading.Event()

    async def factory(_t):
        calls.append(1)
        if len(calls) == 1:
            started.set()
            await asyncio.sleep(WAIT)
        return "P"

    run(r.register_lazy("c", agent_url="c.example", factory=factory))
    got = []
    waiting = threading.Event()

    def other():
        async def go():
            waiting.set()
            return await r.resolve_by_id("c")
        got.append(run(go()))

    async def first():
        await r.resolve("c.example")

    loop = asyncio.new_event_loop()
    t = threading.Thread(target=other, daemon=True)
    try:
        task = loop.create_task(first())
        loop.run_until_complete(asyncio.sleep(0.01))
        assert started.is_set()
        t.start()
        assert waiting.wait(WAIT)
        loop.run_until_complete(asyncio.sleep(0.05))
        task.cancel()
        for pending in asyncio.all_tasks(loop):
            pending.cancel()
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        loop.close()
    join([t])
    assert got and got[0] is not None and got[0].platform == "P"
    assert len(calls) == 2


def test_recheck_raises_memory_error(make_registry, monkeypatch):
    r = make_registry()
    run(r.register("t", agent_url="t.example", platform=1))
    monkeypatch.setitem(_registry.FN, "tenreg_recheck", lambda *_a: _lib.ENOMEM)
    with pytest.raises(MemoryError):
        run(r.recheck("t"))


def test_no_registry_after_the_exit_hook(monkeypatch):
    monkeypatch.setattr(_registry, "_exiting", True)
    with pytest.raises(RuntimeError):
        tenreg.TenantRegistry()
