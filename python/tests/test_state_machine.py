"""Every row of the health state machine (docs/design.md §3), through the SDK's
API, with sync and async validators."""

from __future__ import annotations

import pytest
from conftest import Platform, run

VALID, INVALID, RAISE = "valid", "invalid", "raise"


class Boom(Exception):
    pass


class Validator:
    """answers[tenant_id] decides: valid, invalid or raise (default valid)."""

    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async
        self.answers: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []

    def _decide(self, tenant_id: str, agent_url: str):
        self.calls.append((tenant_id, agent_url))
        a = self.answers.get(tenant_id, VALID)
        if a == RAISE:
            raise Boom(tenant_id)
        return a == VALID

    def __call__(self, tenant_id: str, agent_url: str):
        if not self.is_async:
            return self._decide(tenant_id, agent_url)

        async def later():
            return self._decide(tenant_id, agent_url)

        return later()


@pytest.fixture(params=["sync", "async"])
def validator(request) -> Validator:
    return Validator(request.param == "async")


def _to(r, v, tenant, state):
    """Drive @tenant (eager) to @state through the API."""

    async def go():
        await r.register(tenant, agent_url=f"https://{tenant}.example", platform=Platform(tenant))
        if state == "pending":
            return
        if state == "healthy":
            v.answers[tenant] = VALID
            await r.recheck(tenant)
        elif state == "disabled":
            v.answers[tenant] = INVALID
            await r.recheck(tenant)
        elif state == "unverified":
            v.answers[tenant] = VALID
            await r.recheck(tenant)
            v.answers[tenant] = INVALID
            await r.recheck(tenant)

    run(go())
    assert r.health(tenant) == state


def test_register_is_pending_and_replaces(make_registry, validator):
    r = make_registry(validator=validator)
    for state in ("pending", "healthy", "unverified", "disabled"):
        _to(r, validator, "t", state)
        old = r.resolve_by_host("t.example").platform
        new = Platform("new")
        run(r.register("t", agent_url="https://t.example", platform=new))
        got = r.resolve_by_host("t.example")
        assert (got.health, got.platform) == ("pending", new), state
        assert got.platform is not old


@pytest.mark.parametrize("answer,expect", [(VALID, "healthy"), (INVALID, "disabled"),
                                           (RAISE, "disabled")])
def test_register_awaiting_first_validation(make_registry, validator, answer, expect):
    r = make_registry(validator=validator)
    validator.answers["t"] = answer
    p = Platform("t")
    # a raising validator is logged, not raised, as in the SDK
    run(r.register("t", agent_url="https://t.example/rtb", platform=p,
                   await_first_validation=True))
    assert r.health("t") == expect
    assert validator.calls == [("t", "https://t.example/rtb")]
    got = r.resolve_by_host("t.example")  # not gated by health
    assert (got.tenant_id, got.health, got.platform) == ("t", expect, p)


@pytest.mark.parametrize("start", ["pending", "healthy", "unverified", "disabled"])
def test_recheck_valid_makes_healthy(make_registry, validator, start):
    r = make_registry(validator=validator)
    _to(r, validator, "t", start)
    validator.answers["t"] = VALID
    assert run(r.recheck("t")) is None
    assert r.health("t") == "healthy"


@pytest.mark.parametrize("start,expect", [("healthy", "unverified"), ("pending", "disabled"),
                                          ("unverified", "disabled"), ("disabled", "disabled")])
@pytest.mark.parametrize("failure", [INVALID, RAISE])
def test_recheck_failure(make_registry, validator, start, expect, failure):
    r = make_registry(validator=validator)
    _to(r, validator, "t", start)
    validator.answers["t"] = failure
    if failure == RAISE:
        seen = []

        async def go():
            try:
                await r.recheck("t")
            except Boom:
                seen.append(r.health("t"))  # health updated before the raise
                raise

        with pytest.raises(Boom):
            run(go())
        assert seen == [expect]
    else:
        run(r.recheck("t"))
    assert r.health("t") == expect
    assert r.resolve_by_host("t.example").health == expect


def test_no_validator_is_always_valid(make_registry):
    r = make_registry()
    run(r.register("t", agent_url="https://t.example", platform=1, await_first_validation=True))
    assert r.health("t") == "healthy"
    run(r.register("u", agent_url="https://u.example", platform=2))
    run(r.recheck("u"))
    assert r.health("u") == "healthy"


class Factory:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []
        self.made: list[Platform] = []

    async def __call__(self, tenant_id: str):
        self.calls.append(tenant_id)
        if self.fail:
            raise Boom("factory")
        p = Platform(f"{tenant_id}#{len(self.calls)}")
        self.made.append(p)
        return p


def test_lazy_first_resolve_builds_validates_and_caches(make_registry, validator):
    r = make_registry(validator=validator)
    f = Factory()
    run(r.register_lazy("t", agent_url="https://t.example/x", factory=f))
    assert r.health("t") == "pending"
    assert r.resolve_by_host("t.example") is None  # not built yet, never builds
    assert f.calls == [] and validator.calls == []
    got = run(r.resolve("t.example"))
    assert (got.tenant_id, got.health, got.platform) == ("t", "healthy", f.made[0])
    assert validator.calls == [("t", "https://t.example/x")]
    for _ in range(3):
        assert run(r.resolve("T.EXAMPLE:443")).platform is f.made[0]
        assert run(r.resolve_by_id("t")).platform is f.made[0]
        assert r.resolve_by_host("t.example").platform is f.made[0]
    assert f.calls == ["t"]


@pytest.mark.parametrize("how", ["factory", INVALID, RAISE])
def test_lazy_failed_build_is_disabled_and_never_retried(make_registry, validator, watch, how):
    r = make_registry(validator=validator)
    f = Factory(fail=how == "factory")
    if how != "factory":
        validator.answers["t"] = how
    made = []

    async def factory(tid):
        p = await f(tid)
        f.made.clear()  # keep no reference: the release is watched
        made.append(p.name)
        return watch.track(p)

    run(r.register_lazy("t", agent_url="https://t.example", factory=factory))
    assert run(r.resolve("t.example")) is None
    assert r.health("t") == "disabled"
    for _ in range(3):
        assert run(r.resolve("t.example")) is None
        assert run(r.resolve_by_id("t")) is None
        assert r.resolve_by_host("t.example") is None
    assert f.calls == ["t"]
    if made:  # a platform the validator refused is discarded (released)
        assert watch.wait_released(made[0])
    # recheck alone cannot build it: healthy, still no platform
    validator.answers["t"] = VALID
    run(r.recheck("t"))
    assert r.health("t") == "healthy"
    assert run(r.resolve("t.example")) is None and f.calls == ["t"]
    # register_lazy again recovers
    f.fail = False
    run(r.register_lazy("t", agent_url="https://t.example", factory=factory))
    assert run(r.resolve("t.example")).health == "healthy"
    assert f.calls == ["t", "t"]


@pytest.mark.parametrize("answer,expect", [(VALID, "healthy"), (INVALID, "disabled"),
                                           (RAISE, "disabled")])
def test_lazy_awaiting_first_validation_builds_now(make_registry, validator, answer, expect):
    r = make_registry(validator=validator)
    validator.answers["t"] = answer
    f = Factory()
    run(r.register_lazy("t", agent_url="https://t.example", factory=f,
                        await_first_validation=True))
    assert f.calls == ["t"] and r.health("t") == expect
    got = r.resolve_by_host("t.example")
    if expect == "healthy":
        assert got.platform is f.made[0]
    else:
        assert got is None
    run(r.resolve("t.example"))
    assert f.calls == ["t"]


def test_lazy_factory_failure_awaiting(make_registry):
    r = make_registry()
    f = Factory(fail=True)
    run(r.register_lazy("t", agent_url="https://t.example", factory=f,
                        await_first_validation=True))
    assert r.health("t") == "disabled" and run(r.resolve("t.example")) is None
    assert f.calls == ["t"]


def test_recheck_of_unbuilt_lazy_changes_health_only(make_registry, validator):
    r = make_registry(validator=validator)
    f = Factory()
    run(r.register_lazy("t", agent_url="https://t.example", factory=f))
    run(r.recheck("t"))
    assert r.health("t") == "healthy"
    assert r.resolve_by_host("t.example") is None and f.calls == []
    assert run(r.resolve("t.example")).platform is f.made[0]


def test_lazy_disabled_by_recheck_is_still_built(make_registry, validator):
    r = make_registry(validator=validator)
    f = Factory()
    run(r.register_lazy("t", agent_url="https://t.example", factory=f))
    validator.answers["t"] = INVALID
    run(r.recheck("t"))
    assert r.health("t") == "disabled"
    validator.answers["t"] = VALID
    got = run(r.resolve("t.example"))  # its build's validation decides
    assert got.health == "healthy" and r.health("t") == "healthy"


def test_factory_returning_none_is_a_failed_build(make_registry):
    r = make_registry()

    async def none(tid):
        return None

    run(r.register_lazy("t", agent_url="https://t.example", factory=none))
    assert run(r.resolve("t.example")) is None
    assert r.health("t") == "disabled"


def test_sync_factory_is_accepted(make_registry):
    r = make_registry()
    run(r.register_lazy("t", agent_url="https://t.example", factory=lambda tid: Platform(tid)))
    assert run(r.resolve_by_id("t")).platform.name == "t"


@pytest.mark.parametrize("state", ["pending", "healthy", "unverified", "disabled"])
def test_unregister_from_any_state(make_registry, validator, state):
    r = make_registry(validator=validator)
    _to(r, validator, "t", state)
    r.unregister("t")
    assert r.health("t") is None
    assert r.resolve_by_host("t.example") is None
    assert "t" not in r.registered_tenants
    with pytest.raises(KeyError):
        run(r.recheck("t"))


def test_resolve_is_not_gated_by_health(make_registry, validator):
    r = make_registry(validator=validator)
    _to(r, validator, "t", "disabled")
    got = r.resolve_by_host("t.example")
    assert got.health == "disabled" and got.platform.name == "t"
    assert run(r.resolve("t.example")).health == "disabled"
    assert run(r.resolve_by_id("t")).health == "disabled"
