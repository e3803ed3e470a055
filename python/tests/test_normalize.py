"""Host keys are tenreg's (docs/design.md §4); collisions raise."""

from __future__ import annotations

import pytest
from conftest import Platform, run

import tenreg
from tenreg import HostConflictError

HITS = {
    "https://Bid.Acme.Example/openrtb": [
        "bid.acme.example", "BID.ACME.EXAMPLE:443", "bid.acme.example.", "bid.acme.example:",
        "https://user:pw@bid.acme.example:8443/x?y#z", " \tbid.acme.example \t",
        "wss://bid.acme.example", "bid.acme.example:0080", "bid.acme.example/path",
    ],
    "https://[2001:DB8::0:1]:443/rtb": [
        "[2001:db8::1]", "[2001:0db8:0:0:0:0:0:1]:80", "http://[2001:DB8::1]/",
    ],
    "http://127.0.0.1:8080": ["127.0.0.1", "127.0.0.1:1"],
    "beta.example:8443": ["https://beta.example", "beta.example"],
}

MISSES = [
    "", "   ", "bad host", "bid.acme.example\r\n", "a\0b", "a..b", ".a", "a.example..",
    "bid.acme.example:99999", "bid.acme.example:12a", "/path/only", "[::1%eth0]", "2001:db8::1",
    "b\u00fccher.example", "x" * 64 + ".example", "[zz::1]", "[::1]x", "a|b.example",
]


@pytest.fixture
def loaded(make_registry):
    r = make_registry()

    async def go():
        for i, url in enumerate(HITS):
            await r.register(f"t{i}", agent_url=url, platform=Platform(url))

    run(go())
    return r


@pytest.mark.parametrize("url,host", [(u, h) for u, hs in HITS.items() for h in hs])
def test_every_form_of_a_host_finds_its_tenant(loaded, url, host):
    got = loaded.resolve_by_host(host)
    assert got is not None and got.platform.name == url
    assert run(loaded.resolve(host)).platform.name == url
    assert loaded.resolve_by_host(host.encode()).platform.name == url  # bytes too


@pytest.mark.parametrize("host", MISSES)
def test_a_host_that_does_not_normalize_is_none(loaded, host):
    assert tenreg.normalize_host(host) is None
    assert loaded.resolve_by_host(host) is None
    assert run(loaded.resolve(host)) is None


@pytest.mark.parametrize("url", ["", "not a host", "https://[zz]/", "https://a..b/",
                                 "https:///path", "https://bid.acme.example:70000/"])
def test_a_url_that_does_not_normalize_raises_at_registration(make_registry, url):
    r = make_registry()
    with pytest.raises(ValueError):
        run(r.register("t", agent_url=url, platform=1))
    with pytest.raises(ValueError):
        run(r.register_lazy("t", agent_url=url, factory=lambda tid: 1))
    assert r.registered_tenants == frozenset() and r.health("t") is None


def test_normalize_host():
    assert tenreg.normalize_host("https://Bid.Example.COM.:443/x") == "bid.example.com"
    assert tenreg.normalize_host("[2001:DB8::0:1]:443") == "2001:db8::1"
    assert tenreg.normalize_host("[::ffff:7f00:1]") == "::ffff:127.0.0.1"
    assert tenreg.normalize_host(b"A.B") == "a.b"
    assert tenreg.normalize_host("127.1") == "127.1"  # not rewritten
    assert tenreg.normalize_host(None) is None
    assert tenreg.normalize_host("a" * 63 + ".b") == "a" * 63 + ".b"


def test_host_collision_raises_and_changes_nothing(make_registry, watch):
    r = make_registry()

    async def go():
        await r.register("a", agent_url="https://shared.example/a", platform=Platform("a"))
        with pytest.raises(HostConflictError) as e:
            await r.register("b", agent_url="https://SHARED.example:443/b",
                             platform=watch.make("b"))
        assert isinstance(e.value, ValueError)
        assert (e.value.host, e.value.tenant_id, e.value.holder) == ("shared.example", "b", "a")
        with pytest.raises(HostConflictError):
            await r.register_lazy("b", agent_url="https://shared.example", factory=_no)

    run(go())
    assert r.registered_tenants == {"a"}
    assert r.resolve_by_host("shared.example").tenant_id == "a"
    assert watch.wait_released("b")  # a refused platform is still the caller's: not kept


async def _no(tid):
    raise AssertionError


def test_collision_with_a_lazy_tenant_and_after_unregister(make_registry):
    r = make_registry()

    async def go():
        await r.register_lazy("a", agent_url="https://lazy.example", factory=_no)
        with pytest.raises(HostConflictError) as e:
            await r.register("b", agent_url="https://lazy.example", platform=1)
        assert e.value.holder == "a"
        r.unregister("a")
        await r.register("b", agent_url="https://lazy.example", platform=1)
        assert r.resolve_by_host("lazy.example").tenant_id == "b"

    run(go())


def test_a_failed_reregistration_keeps_the_old_one(make_registry):
    r = make_registry()

    async def go():
        await r.register("a", agent_url="https://a.example", platform=Platform("a"),
                         await_first_validation=True)
        await r.register("b", agent_url="https://b.example", platform=Platform("b"))
        with pytest.raises(HostConflictError):
            await r.register("a", agent_url="https://b.example", platform=Platform("a2"))

    run(go())
    got = r.resolve_by_host("a.example")
    assert (got.tenant_id, got.health, got.platform.name) == ("a", "healthy", "a")


def test_reregistering_with_a_new_url_moves_the_host(make_registry):
    r = make_registry()

    async def go():
        await r.register("a", agent_url="https://old.example", platform=1)
        await r.register("a", agent_url="https://new.example", platform=2)
        await r.register("b", agent_url="https://old.example", platform=3)  # free again

    run(go())
    assert r.resolve_by_host("new.example").platform == 2
    assert r.resolve_by_host("old.example").tenant_id == "b"
