"""Status with reasons and counters (docs/design.md §8.2, §8.7), beyond the SDK."""

from __future__ import annotations

import time

import pytest
from conftest import Platform, run

from tenreg import _lib

pytestmark = pytest.mark.skipif(not _lib.HAS_STATUS,
                                reason="this libtenreg has no tenreg_status_of")


class Boom(Exception):
    pass


def test_status_of_an_eager_tenant_through_checks(make_registry):
    answers = []

    def validator(tid, url):
        a = answers.pop(0)
        if isinstance(a, BaseException):
            raise a
        return a

    r = make_registry(validator=validator)
    before = time.time()
    run(r.register("t", agent_url="https://t.example", platform=Platform("t")))
    st = r.status("t")
    assert (st.health, st.verdict, st.failures, st.checked_at, st.lazy, st.built, st.hosts,
            st.reason) == ("pending", "unchecked", 0, None, False, True, 1, "")
    assert before - 1 <= st.registered_at <= time.time() + 1

    answers.append(Boom("jwks unreachable"))
    with pytest.raises(Boom):
        run(r.recheck("t"))
    st = r.status("t")
    assert (st.health, st.verdict, st.failures) == ("disabled", "check_failed", 1)
    assert st.reason == "validator raised: Boom: jwks unreachable"
    assert st.checked_at is not None and st.checked_at >= st.registered_at

    answers.append(False)
    run(r.recheck("t"))
    st = r.status("t")
    assert (st.verdict, st.failures) == ("invalid", 2)

    answers.append(True)
    run(r.recheck("t"))
    st = r.status("t")
    assert (st.health, st.verdict, st.failures, st.reason) == ("healthy", "valid", 0, "")
    assert r.status("nobody") is None and r.status(3) is None


def test_status_of_lazy_builds(make_registry):
    r = make_registry(validator=lambda tid, url: not tid.startswith("bad"))

    async def ok(tid):
        return Platform(tid)

    async def boom(tid):
        raise Boom("no credentials")

    async def go():
        await r.register_lazy("l", agent_url="https://l.example", factory=ok)
        await r.register_lazy("f", agent_url="https://f.example", factory=boom)
        await r.register_lazy("bad", agent_url="https://bad.example", factory=ok)
        st = r.status("l")
        assert (st.lazy, st.built, st.verdict) == (True, False, "unchecked")
        await r.resolve("l.example")
        await r.resolve("f.example")
        await r.resolve("bad.example")

    run(go())
    st = r.status("l")
    assert (st.health, st.lazy, st.built, st.verdict) == ("healthy", True, True, "valid")
    st = r.status("f")
    assert (st.health, st.built, st.verdict, st.failures) == ("disabled", False, "build_failed", 1)
    assert st.reason == "factory raised: Boom: no credentials"
    st = r.status("bad")
    assert (st.health, st.built, st.verdict) == ("disabled", False, "invalid")


def test_status_counts_hosts(make_registry):
    if not _lib.HAS_HOSTS:
        pytest.skip("no tenreg_add_host")
    r = make_registry()
    run(r.register("t", agent_url="https://t.example", platform=1))
    r.add_host("t", "t2.example")
    r.add_host("t", "*.t.example")
    assert r.status("t").hosts == 3


def test_stats(make_registry):
    r = make_registry(validator=lambda tid, url: tid != "sick")

    async def factory(tid):
        if tid == "broken":
            raise Boom("x")
        return Platform(tid)

    async def go():
        await r.register("a", agent_url="https://a.example", platform=1, await_first_validation=True)
        await r.register("sick", agent_url="https://sick.example", platform=2,
                         await_first_validation=True)
        await r.register_lazy("l", agent_url="https://l.example", factory=factory)
        await r.register_lazy("broken", agent_url="https://broken.example", factory=factory)
        await r.register_lazy("cold", agent_url="https://cold.example", factory=factory)
        await r.resolve("l.example")
        await r.resolve("broken.example")

    base = r.stats()
    assert (base.tenants, base.checks, base.builds) == (0, 0, 0)
    run(go())
    s = r.stats()
    assert s.tenants == 5
    assert s.health == {"pending": 1, "healthy": 2, "unverified": 0, "disabled": 2}
    assert s.lazy_unbuilt == 2  # cold, and broken (failed)
    assert s.checks >= 2 and s.checks_failed >= 1
    assert s.builds == 2 and s.builds_failed == 1
    assert s.bytes > 0
    for _ in range(3):  # lookups count nothing
        r.resolve_by_host("a.example")
    assert r.stats().checks == s.checks
    r.close()
    with pytest.raises(RuntimeError):
        r.stats()
