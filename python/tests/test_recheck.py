"""Rechecks: results of a registration that is gone are discarded (no zombie),
and the checks of one registration take turns in arrival order."""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from conftest import Platform, run, wait_event


class GatedValidator:
    """Async validator that waits for a gate; answers[tenant] decides."""

    def __init__(self) -> None:
        self.gate: asyncio.Event | None = None
        self.entered: asyncio.Event | None = None
        self.answer: object = True
        self.active = 0
        self.max_active = 0
        self.order: list[str] = []

    def arm(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, tenant_id: str, agent_url: str):
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.order.append(agent_url)
        try:
            if self.gate is not None:
                self.entered.set()
                await wait_event(self.gate)
            if isinstance(self.answer, BaseException):
                raise self.answer
            return self.answer
        finally:
            self.active -= 1


@pytest.mark.parametrize("answer", [True, False, RuntimeError("check failed")])
def test_unregister_during_an_awaited_recheck(make_registry, answer):
    v = GatedValidator()
    r = make_registry(validator=v)

    async def go():
        await r.register("t", agent_url="https://t.example", platform=Platform("t"))
        v.arm()
        v.answer = answer
        check = asyncio.ensure_future(r.recheck("t"))
        await wait_event(v.entered)
        r.unregister("t")
        v.gate.set()
        return await check  # discarded: no raise, no health written back

    assert run(go()) is None
    assert r.health("t") is None
    assert r.registered_tenants == frozenset()
    assert r.resolve_by_host("t.example") is None


def test_reregister_during_an_awaited_recheck(make_registry):
    v = GatedValidator()
    r = make_registry(validator=v)

    async def go():
        await r.register("t", agent_url="https://t.example", platform=Platform("old"))
        v.arm()
        v.answer = False
        check = asyncio.ensure_future(r.recheck("t"))
        await wait_event(v.entered)
        await r.register("t", agent_url="https://t.example", platform=Platform("new"))
        v.gate.set()
        await check

    run(go())
    # the old registration's verdict does not touch the new one
    assert r.health("t") == "pending"
    assert r.resolve_by_host("t.example").platform.name == "new"


def test_unregister_while_waiting_for_the_turn(make_registry):
    v = GatedValidator()
    r = make_registry(validator=v)

    async def go():
        await r.register("t", agent_url="https://t.example", platform=1)
        v.arm()
        first = asyncio.ensure_future(r.recheck("t"))
        await wait_event(v.entered)
        second = asyncio.ensure_future(r.recheck("t"))  # waits for its turn
        await asyncio.sleep(0)
        r.unregister("t")
        v.gate.set()
        assert await first is None
        with pytest.raises(KeyError):
            await second

    run(go())
    assert v.order == ["https://t.example"]


def test_rechecks_take_turns_in_arrival_order(make_registry):
    who = contextvars.ContextVar("who")
    answers = [True, False, True, False, False]
    order = []
    active = [0, 0]  # now, most at once
    gate = None

    async def validator(tenant_id, agent_url):
        i = who.get()
        order.append(i)
        active[0] += 1
        active[1] = max(active)
        try:
            if i == 0:
                await wait_event(gate)
            return answers[i]
        finally:
            active[0] -= 1

    r = make_registry(validator=validator)
    seen = {}

    async def one(i):
        who.set(i)
        await r.recheck("t")
        seen[i] = r.health("t")

    async def go():
        nonlocal gate
        gate = asyncio.Event()
        await r.register("t", agent_url="https://t.example", platform=1)
        tasks = []
        for i in range(len(answers)):
            tasks.append(asyncio.ensure_future(one(i)))
            await asyncio.sleep(0)  # each arrives before the next
        gate.set()
        await asyncio.gather(*tasks)

    run(go())
    assert order == [0, 1, 2, 3, 4]
    assert active[1] == 1
    assert seen == {0: "healthy", 1: "unverified", 2: "healthy", 3: "unverified",
                    4: "disabled"}


def test_recheck_and_build_of_one_lazy_tenant_take_turns(make_registry):
    v = GatedValidator()
    r = make_registry(validator=v)
    built = []

    async def factory(tid):
        built.append(tid)
        return Platform(tid)

    async def go():
        await r.register_lazy("t", agent_url="https://t.example", factory=factory)
        v.arm()
        check = asyncio.ensure_future(r.recheck("t"))
        await wait_event(v.entered)
        build = asyncio.ensure_future(r.resolve("t.example"))
        for _ in range(50):
            await asyncio.sleep(0)
        assert built == []  # the build waits for the recheck before it
        v.gate.set()
        await check
        return await build

    got = run(go())
    assert got.health == "healthy" and built == ["t"]
    assert v.max_active == 1


def test_recheck_raises_after_updating_health(make_registry):
    v = GatedValidator()
    r = make_registry(validator=v)

    async def go():
        await r.register("t", agent_url="https://t.example", platform=1)
        await r.recheck("t")
        assert r.health("t") == "healthy"
        v.answer = ValueError("jwks down")
        with pytest.raises(ValueError, match="jwks down"):
            await r.recheck("t")
        assert r.health("t") == "unverified"
        with pytest.raises(ValueError):
            await r.recheck("t")
        assert r.health("t") == "disabled"

    run(go())


def test_cancelled_recheck_leaves_health_and_the_turn(make_registry):
    v = GatedValidator()
    r = make_registry(validator=v)

    async def go():
        await r.register("t", agent_url="https://t.example", platform=1)
        v.arm()
        check = asyncio.ensure_future(r.recheck("t"))
        await wait_event(v.entered)
        check.cancel()
        with pytest.raises(asyncio.CancelledError):
            await check
        assert r.health("t") == "pending"
        v.gate.set()
        await asyncio.wait_for(r.recheck("t"), 5)  # the turn was passed on
        assert r.health("t") == "healthy"

    run(go())
