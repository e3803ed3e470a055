"""Extra hosts and wildcard patterns (docs/design.md §8.1), beyond the SDK."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Platform, run

from tenreg import HostConflictError, _lib

pytestmark = pytest.mark.skipif(not _lib.HAS_HOSTS,
                                reason="this libtenreg has no tenreg_add_host")


@pytest.fixture
def r(make_registry):
    r = make_registry()

    async def go():
        await r.register("acme", agent_url="https://bid.acme.example/rtb", platform=Platform("acme"))
        await r.register("beta", agent_url="https://beta.example", platform=Platform("beta"))

    run(go())
    return r


def _who(r, host):
    got = r.resolve_by_host(host)
    return None if got is None else (got.tenant_id, got.matched)


def test_extra_host_answers_like_the_own_host(r):
    assert _who(r, "bid.acme.example") == ("acme", "bid.acme.example")
    r.add_host("acme", "https://Acme.Example:8443/x")
    r.add_host("acme", "acme.example")  # idempotent
    assert _who(r, "ACME.example.") == ("acme", "acme.example")
    assert _who(r, "bid.acme.example") == ("acme", "bid.acme.example")
    assert r.hosts("acme") == ("bid.acme.example", "acme.example")
    got = r.resolve_by_host("acme.example")
    assert got.platform.name == "acme" and got.health == "pending"
    assert run(r.resolve("acme.example")).matched == "acme.example"
    assert run(r.resolve_by_id("acme")).matched is None


def test_patterns_and_precedence(r):
    r.add_host("acme", "*.acme.example")
    r.add_host("beta", "*.sub.acme.example")  # another tenant's longer pattern
    r.add_host("beta", "exact.acme.example")  # and an exact host under acme's pattern
    assert _who(r, "x.acme.example") == ("acme", "*.acme.example")
    assert _who(r, "x.y.acme.example") == ("acme", "*.acme.example")
    assert _who(r, "x.sub.acme.example") == ("beta", "*.sub.acme.example")
    assert _who(r, "exact.acme.example") == ("beta", "exact.acme.example")
    assert _who(r, "bid.acme.example") == ("acme", "bid.acme.example")  # exact wins
    assert _who(r, "acme.example") is None  # a pattern needs one more label
    assert _who(r, "sub.acme.example") == ("acme", "*.acme.example")
    r.remove_host("beta", "*.sub.acme.example")
    assert _who(r, "x.sub.acme.example") == ("acme", "*.acme.example")  # falls through


def test_conflicts_and_errors(r):
    with pytest.raises(HostConflictError):
        r.add_host("beta", "bid.acme.example")
    r.add_host("acme", "*.shared.example")
    with pytest.raises(HostConflictError):
        r.add_host("beta", "*.shared.example")
    with pytest.raises(KeyError):
        r.add_host("nobody", "x.example")
    for bad in ("*.", "*a.example", "**.example", "*.exa mple", "", "https://*.x.example"):
        with pytest.raises(ValueError):
            r.add_host("acme", bad)
    with pytest.raises(ValueError):
        r.remove_host("acme", "bid.acme.example")  # the agent URL's own host
    with pytest.raises(KeyError):
        r.remove_host("acme", "never.example")
    with pytest.raises(KeyError):
        r.remove_host("nobody", "x.example")
    with pytest.raises(KeyError):
        r.hosts("nobody")
    assert r.hosts("beta") == ("beta.example",)


def test_ipv6_keys_never_match_patterns(make_registry):
    r = make_registry()
    run(r.register("v6", agent_url="https://[2001:db8::1]/", platform=1))
    r.add_host("v6", "*.db8")
    assert r.resolve_by_host("[2001:db8::2]") is None
    assert r.resolve_by_host("[2001:db8::1]").tenant_id == "v6"


def test_reregistration_and_unregister_drop_extra_hosts(r):
    r.add_host("acme", "acme.example")
    r.add_host("acme", "*.acme.example")
    run(r.register("acme", agent_url="https://bid.acme.example", platform=Platform("acme2")))
    assert r.hosts("acme") == ("bid.acme.example",)
    assert _who(r, "acme.example") is None and _who(r, "x.acme.example") is None
    r.add_host("beta", "acme.example")  # free again
    r.unregister("beta")
    assert _who(r, "acme.example") is None


def test_a_lazy_tenant_is_built_once_through_any_of_its_hosts(make_registry):
    r = make_registry()
    calls = []

    async def factory(tid):
        calls.append(tid)
        await asyncio.sleep(0)
        return Platform(tid)

    async def go():
        await r.register_lazy("l", agent_url="https://l.example", factory=factory)
        r.add_host("l", "*.l.example")
        r.add_host("l", "other.example")
        assert r.resolve_by_host("a.l.example") is None  # not built
        got = await asyncio.gather(*[r.resolve(h) for h in
                                     ("a.l.example", "other.example", "l.example") * 10])
        return got

    got = run(go())
    assert calls == ["l"]
    assert {g.matched for g in got} == {"*.l.example", "other.example", "l.example"}
    assert len({id(g.platform) for g in got}) == 1


def test_host_limit(make_registry):
    r = make_registry()
    run(r.register("t", agent_url="https://t.example", platform=1))
    for i in range(_lib_hosts_max() - 1):
        r.add_host("t", f"h{i}.example")
    with pytest.raises(ValueError, match="most hosts"):
        r.add_host("t", "one-too-many.example")
    assert len(r.hosts("t")) == _lib_hosts_max()


def _lib_hosts_max() -> int:
    return 64  # TENREG_HOSTS_MAX (include/tenreg.h)
