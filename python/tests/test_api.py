"""The SDK's names, signatures and plain return values."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest
from conftest import Platform, run

import tenreg
from tenreg import TenantRegistry, TenantResolution


def test_exported_names():
    for name in ("TenantRegistry", "TenantResolution", "TenantHealthState", "TenantValidator",
                 "PlatformFactory"):
        assert name in tenreg.__all__
        assert getattr(tenreg, name) is not None


def test_health_state_is_the_sdk_literal():
    assert typing.get_origin(tenreg.TenantHealthState) is typing.Literal
    assert typing.get_args(tenreg.TenantHealthState) == ("pending", "healthy", "unverified",
                                                         "disabled")


def test_resolution_is_a_frozen_dataclass_of_the_sdk_fields():
    assert dataclasses.is_dataclass(TenantResolution)
    names = [f.name for f in dataclasses.fields(TenantResolution)]
    assert names[:3] == ["tenant_id", "health", "platform"]
    r = TenantResolution("a", "healthy", 1)  # the SDK's positional form
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.health = "disabled"
    # matched is extra and stays out of equality
    assert TenantResolution("a", "healthy", 1, "a.example") == TenantResolution(
        tenant_id="a", health="healthy", platform=1)


def test_constructor_and_method_signatures():
    sig = inspect.signature(TenantRegistry)
    assert list(sig.parameters) == ["validator", "default_serve_options"]
    assert all(p.kind is p.KEYWORD_ONLY and p.default is None for p in sig.parameters.values())
    with pytest.raises(TypeError):
        TenantRegistry(None)  # keyword-only, as in the SDK
    for name in ("register", "register_lazy", "recheck", "resolve", "resolve_by_id"):
        assert inspect.iscoroutinefunction(getattr(TenantRegistry, name)), name
    for name in ("unregister", "health", "resolve_by_host"):
        assert not inspect.iscoroutinefunction(getattr(TenantRegistry, name)), name
    reg = inspect.signature(TenantRegistry.register).parameters
    assert [n for n, p in reg.items() if p.kind is p.KEYWORD_ONLY] == [
        "agent_url", "platform", "await_first_validation"]
    lazy = inspect.signature(TenantRegistry.register_lazy).parameters
    assert [n for n, p in lazy.items() if p.kind is p.KEYWORD_ONLY] == [
        "agent_url", "factory", "await_first_validation"]


def test_serve_options_is_a_copy(make_registry):
    opts = {"port": 8080}
    r = make_registry(default_serve_options=opts)
    got = r.serve_options
    assert got == {"port": 8080} and got is not opts
    got["port"] = 1
    assert r.serve_options == {"port": 8080}
    assert make_registry().serve_options == {}


def test_registered_tenants_is_a_snapshot_frozenset(make_registry):
    r = make_registry()

    async def go():
        await r.register("a", agent_url="https://a.example", platform=Platform("a"))
        await r.register_lazy("b", agent_url="https://b.example", factory=_never)
        snap = r.registered_tenants
        assert isinstance(snap, frozenset) and snap == {"a", "b"}
        r.unregister("a")
        assert snap == {"a", "b"} and r.registered_tenants == {"b"}

    run(go())


async def _never(tenant_id):
    raise AssertionError("factory must not run")


def test_unknown_ids_and_hosts(make_registry):
    r = make_registry()
    r.unregister("nobody")  # a no-op
    assert r.health("nobody") is None
    assert r.resolve_by_host("nobody.example") is None
    assert run(r.resolve("nobody.example")) is None
    assert run(r.resolve_by_id("nobody")) is None
    with pytest.raises(KeyError):
        run(r.recheck("nobody"))
    # not even strings: None, as a dict lookup of the SDK would give
    assert r.health(42) is None and r.resolve_by_host(None) is None


def test_argument_errors(make_registry):
    r = make_registry()
    with pytest.raises(TypeError):
        run(r.register(7, agent_url="https://a.example", platform=1))
    with pytest.raises(ValueError):
        run(r.register("", agent_url="https://a.example", platform=1))
    with pytest.raises(ValueError):
        run(r.register("x" * 256, agent_url="https://a.example", platform=1))
    with pytest.raises(ValueError):
        run(r.register("a\0b", agent_url="https://a.example", platform=1))
    with pytest.raises(TypeError):
        run(r.register_lazy("a", agent_url="https://a.example", factory=None))
    assert r.registered_tenants == frozenset()
    run(r.register("x" * 255, agent_url="https://a.example", platform=1))
    assert r.health("x" * 255) == "pending"


def test_closed_registry(make_registry):
    r = make_registry()
    run(r.register("a", agent_url="https://a.example", platform=1))
    with r:
        assert r.resolve_by_host("a.example").tenant_id == "a"
    assert r.closed
    assert r.resolve_by_host("a.example") is None
    assert r.health("a") is None
    assert r.registered_tenants == frozenset()
    r.unregister("a")  # still a no-op
    with pytest.raises(RuntimeError):
        run(r.register("b", agent_url="https://b.example", platform=1))
    r.close()  # idempotent


def test_async_context_manager(make_registry):
    async def go():
        async with TenantRegistry() as r:
            await r.register("a", agent_url="https://a.example", platform=1)
            assert (await r.resolve("a.example")).platform == 1
        return r

    assert run(go()).closed


def test_library_metadata():
    assert tenreg.library_version == "0.2.0"
    assert tenreg.library_path


def test_raw_lookup_passes_the_length(make_registry):
    """The hot path calls tenreg_resolve_by_host without argtypes, its length
    a Python int (tenreg/_lib.py): the size_t must arrive intact."""
    from tenreg import _lib, _registry

    r = make_registry()
    run(r.register("t", agent_url="https://t.example", platform=1))
    s = _registry._thread_state()
    host = b"t.example.but.longer.example"
    got = []
    for n in (9, len(host), 0, 1, 11):
        _lib.FN["tenreg_read_lock"]()
        try:
            got.append(_lib.RESOLVE_BY_HOST_RAW(r._regv, host, n, s.out_ptr))
        finally:
            _lib.FN["tenreg_read_unlock"]()
    assert got == [_lib.OK, _lib.ENOENT, _lib.EINVAL, _lib.ENOENT, _lib.ENOENT]
