"""TenantRegistry: the AdCP Python SDK's registry, backed by libtenreg.

How the SDK's asyncio semantics map onto tenreg (python/README.md, "Design"):

* **Hosts, health, platform ownership are tenreg's.** Every registration is
  a tenreg registration: resolve_by_host is one wait-free tenreg lookup;
  health() reads tenreg's health; the health state machine (docs/design.md
  §3) is tenreg's, driven by tenreg_recheck; platforms are owned by tenreg
  and released through its platform_free after a grace period.
* **Platforms cross the FFI as integer handles.** The ``void *platform``
  tenreg stores is a key of ``_Core.handles`` (handles are never reused);
  the entry keeps the Python object alive while tenreg owns it and is
  dropped, exactly once, by the platform_free callback (liburcu's call_rcu
  thread, or a builder thread for a platform a failed validation discards).
* **Validators and factories run on the caller's event loop, never inside
  tenreg.** tenreg calls its validator and factory on its own threads (a
  builder thread, or the admin thread that asked), and a Python coroutine
  cannot be awaited there without parking that thread on an event loop: the
  builder pool is small (a slow factory would hold up every other tenant's
  build), tenreg_free joins the builders (it would hang on a loop that has
  stopped), and an awaited first build runs in the calling thread, the very
  loop it would wait for. So the registry awaits the adopter's callable on
  the caller's loop first, and then lets tenreg apply the outcome: the C
  validator and factory are trampolines that hand back a verdict or a
  platform handle prepared in advance and never wait. tenreg's state machine,
  its "stale results are discarded" rules and its exactly-once build stay in
  charge; the trampolines only feed them.
* **Exactly once across loops and threads.** Each lazy registration has a
  once-cell (``_Cell``): the first resolve moves it EMPTY -> BUILDING under a
  thread lock and starts the build as a task on its own loop; every caller,
  on any loop, awaits the cell's concurrent.futures.Future. The build then
  commits into tenreg: a by-id resolve with TENREG_NOWAIT hands tenreg's
  own (once-only) build to its builder thread, whose factory trampoline
  returns the handle, whose validator trampoline returns the verdict, and
  whose outcome tenreg publishes (HEALTHY with the platform, or DISABLED and
  the platform freed). A failed build is never retried; register_lazy
  again makes a new registration with a new cell. A build cancelled before
  it handed its outcome to tenreg (its loop shut down) is no outcome: the
  cell goes back to EMPTY and the next caller starts a new build.
* **Per-registration turns.** Rechecks, awaited first validations and lazy
  builds of one registration take turns (``_sync.Turnstile``), like the
  SDK's per-tenant lock and tenreg's turnstile, so tenreg never has to make
  an admin call wait behind another.
* **No zombies.** A registration replaced or unregistered while its recheck
  or build was awaited is marked removed (under the registry lock, together
  with the tenreg call); the result is then discarded, as tenreg discards
  it, and a platform built for it is released.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import ctypes
import inspect
import itertools
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from . import _lib
from ._lib import FN, HEALTH_NAMES
from ._sync import Turnstile
from ._sync import wait as _wait

logger = logging.getLogger("tenreg")

#: Per-tenant health state, as in the SDK.
TenantHealthState = Literal["pending", "healthy", "unverified", "disabled"]

#: Validator: ``(tenant_id, agent_url) -> bool``, sync or async. An
#: exception counts as a failed validation.
TenantValidator = Callable[[str, str], Union[bool, Awaitable[bool]]]

#: Lazy platform factory: ``async (tenant_id) -> platform``.
PlatformFactory = Callable[[str], Awaitable[Any]]


@dataclass(frozen=True)
class TenantResolution:
    """What a resolve answers: the tenant, its health, its platform.

    :param tenant_id: the tenant's id.
    :param health: its health when it was looked up; gate traffic on it
        (typically 503 for ``pending`` and ``disabled``).
    :param platform: the tenant's platform object.
    :param matched: beyond the SDK: the host key or ``*.NAME`` pattern that
        decided a by-host lookup (docs/design.md §8.1); ``None`` for
        :meth:`TenantRegistry.resolve_by_id`. Not part of equality, so a
        resolution still compares equal to the SDK's three fields.
    """

    tenant_id: str
    health: TenantHealthState
    platform: Any
    matched: str | None = field(default=None, compare=False)


#: What the last check or build of a tenant concluded (tenreg_verdict).
TenantVerdict = Literal["unchecked", "valid", "invalid", "check_failed", "build_failed"]


@dataclass(frozen=True)
class TenantStatus:
    """A tenant's status (docs/design.md §8.2), beyond the SDK.

    :param health: as :meth:`TenantRegistry.health`.
    :param verdict: of the last check or build: ``valid``, ``invalid`` (the
        validator answered false), ``check_failed`` (it raised),
        ``build_failed`` (the lazy factory raised or returned None), or
        ``unchecked``.
    :param failures: consecutive failed checks and builds (0 after a valid one).
    :param checked_at: when the last check or build ended (seconds since the
        epoch), or ``None``.
    :param registered_at: when this registration was made (seconds since the epoch).
    :param lazy: registered with ``register_lazy``.
    :param built: has a platform (eager, or lazy and built).
    :param hosts: host keys and patterns, the agent URL's own included.
    :param reason: what the last failure said (``"validator raised: Type:
        message"``...), ``""`` after a valid check.
    """

    health: TenantHealthState
    verdict: TenantVerdict
    failures: int
    checked_at: float | None
    registered_at: float
    lazy: bool
    built: bool
    hosts: int
    reason: str


@dataclass(frozen=True)
class RegistryStats:
    """The registry's counters (docs/design.md §8.7), beyond the SDK.

    ``health`` maps each health state to its number of tenants; ``checks``
    and ``builds`` count validator and factory calls that ended (lookups are
    never counted: the hot path writes no shared memory); ``deferred`` is
    what waits for a grace period; ``bytes`` is tenreg's own memory.
    """

    tenants: int
    hosts: int
    patterns: int
    health: dict[str, int]
    lazy_unbuilt: int
    checks: int
    checks_failed: int
    builds: int
    builds_failed: int
    events: int
    events_dropped: int
    deferred: int
    bytes: int


class HostConflictError(ValueError):
    """The host already belongs to another tenant (tenreg's TENREG_EEXIST).

    Difference from the SDK, which silently moves the host to the tenant
    registered last: tenreg refuses, and nothing changes.
    """

    def __init__(self, host: str, tenant_id: str, holder: str | None) -> None:
        self.host = host
        self.tenant_id = tenant_id
        self.holder = holder
        owner = f"tenant {holder!r}" if holder is not None else "another tenant"
        super().__init__(f"host {host!r} of tenant {tenant_id!r} already belongs to {owner}")


# ---- per-thread state -------------------------------------------------------

_tls = threading.local()
_rl = FN["tenreg_read_lock"]
_ru = FN["tenreg_read_unlock"]
_rbh = FN["tenreg_resolve_by_host"]
_rbh_raw = _lib.RESOLVE_BY_HOST_RAW
_RAW_LEN_MAX = _lib.RAW_LEN_MAX
_health_of = FN["tenreg_health_of"]
_by_id = FN["tenreg_resolve_by_id"]
_normalize = FN["tenreg_normalize_host"]


class _ThreadState:
    """A reader thread's tenreg registration and its reusable out-structs."""

    __slots__ = ("out", "out_addr", "out_ptr", "health", "health_addr", "key", "key_len",
                 "depth")

    def __init__(self) -> None:
        # With the GIL released (CDLL): liburcu takes its registry mutex.
        # After this, read sections of this thread never wait, so the hot
        # path calls them with the GIL held.
        FN["tenreg_thread_register"]()
        self.out = _lib.Resolution()
        self.out_addr = ctypes.addressof(self.out)
        self.out_ptr = ctypes.c_void_p(self.out_addr)  # for _rbh_raw
        self.health = ctypes.c_int()
        self.health_addr = ctypes.addressof(self.health)
        self.key = ctypes.create_string_buffer(_lib.HOST_KEY_MAX + 1)
        self.key_len = ctypes.c_size_t()
        # Read sections this thread is in, counted around _rl() .. _ru() (a
        # little wider than the section itself): a close() that runs inside
        # one (a signal handler, a __del__ run by the GC) must not wait for a
        # grace period on this thread, which cannot end before it returns.
        self.depth = 0


def _thread_state() -> _ThreadState:
    """This thread's state, registering it as a tenreg reader on first use.

    The registration ends when the thread exits (tenreg's thread-exit
    destructor), so nothing needs to undo it.
    """
    try:
        return _tls.s
    except AttributeError:
        s = _tls.s = _ThreadState()
        return s


def _in_callback() -> bool:
    return getattr(_tls, "cb", 0) > 0


def _in_read_section() -> bool:
    s = getattr(_tls, "s", None)
    return s is not None and s.depth > 0


# ---- host keys and ids -------------------------------------------------------

def _as_bytes(value: Any) -> bytes | None:
    if value.__class__ is str or isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


def normalize_host(host: str | bytes) -> str | None:
    """tenreg's host key of a Host header value or URL (docs/design.md §4).

    ``None`` when it does not normalize (tenreg answers TENREG_EINVAL): an
    empty host, a control byte or space anywhere, a bad port, a bare IPv6
    address, a non-ASCII name, ... ``https://Bid.Example.COM.:443/x`` gives
    ``bid.example.com``; ``[2001:DB8::0:1]:443`` gives ``2001:db8::1``.
    """
    b = _as_bytes(host)
    if b is None:
        return None
    s = _thread_state()
    if _normalize(b, len(b), s.key, len(s.key), ctypes.addressof(s.key_len)) != _lib.OK:
        return None
    return s.key.raw[: s.key_len.value].decode("ascii")


def _tenant_id_bytes(tenant_id: Any) -> bytes:
    if not isinstance(tenant_id, str):
        raise TypeError(f"tenant_id must be a str, not {type(tenant_id).__name__}")
    b = tenant_id.encode("utf-8", "surrogatepass")
    if not 1 <= len(b) <= _lib.ID_MAX or b"\0" in b:
        raise ValueError(f"tenant_id {tenant_id!r}: tenreg ids are 1..{_lib.ID_MAX} "
                         f"UTF-8 bytes without NUL")
    return b


def _agent_url(agent_url: Any) -> tuple[bytes, str]:
    if not isinstance(agent_url, str):
        raise TypeError(f"agent_url must be a str, not {type(agent_url).__name__}")
    key = normalize_host(agent_url)
    if key is None:
        raise ValueError(f"agent_url {agent_url!r} has no host that tenreg can normalize "
                         f"(docs/design.md §4)")
    return agent_url.encode("utf-8", "surrogatepass"), key


# ---- registrations, platforms, once-cells -----------------------------------

class _Slot:
    """A platform tenreg owns: the value behind one handle.

    Caches the (frozen, so shareable) resolutions it answers, per health.
    Holds no reference to its registration, so that once tenreg frees the
    handle, refcounting alone releases the platform.
    """

    __slots__ = ("tenant_id", "platform", "host", "host_b", "by_host", "by_id", "by_match")

    def __init__(self, tenant_id: str, platform: Any, host: str) -> None:
        self.tenant_id = tenant_id
        self.platform = platform
        self.host = host
        self.host_b = host.encode("ascii")
        self.by_host: list[TenantResolution | None] = [None] * 4
        self.by_id: list[TenantResolution | None] = [None] * 4
        self.by_match: dict[tuple[int, bytes], TenantResolution] = {}

    def answer(self, h: int, matched: bytes | None) -> TenantResolution | None:
        if matched is None or matched == self.host_b:
            r = self.by_host[h]
            if r is None and self.platform is not None:
                r = self.by_host[h] = TenantResolution(self.tenant_id, HEALTH_NAMES[h],
                                                       self.platform, self.host)
            return r
        r = self.by_match.get((h, matched))
        if r is None and self.platform is not None:
            r = TenantResolution(self.tenant_id, HEALTH_NAMES[h], self.platform,
                                 matched.decode("ascii"))
            if len(self.by_match) < 256:
                self.by_match[(h, matched)] = r
        return r

    def answer_by_id(self, h: int) -> TenantResolution | None:
        r = self.by_id[h]
        if r is None and self.platform is not None:
            r = self.by_id[h] = TenantResolution(self.tenant_id, HEALTH_NAMES[h], self.platform)
        return r


class _Barrier:
    """A sentinel platform: its platform_free tells that a grace period passed."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


_EMPTY, _BUILDING, _DONE = 0, 1, 2
_RETRY = object()  # a build attempt's result when it was cancelled before handing over


class _Cell:
    """The Python once-cell of one lazy registration (see the module doc)."""

    __slots__ = ("id", "lock", "state", "done", "outcome", "revoked", "waker", "reason")

    def __init__(self, cell_id: int) -> None:
        self.id = cell_id
        self.reason: bytes | None = None  # why the Python build failed (tenreg_set_reason)
        self.lock = threading.Lock()
        self.state = _EMPTY
        self.done: concurrent.futures.Future = concurrent.futures.Future()
        self.outcome: tuple[Any, int] | None = None  # (platform, verdict) for the trampoline
        self.revoked = False
        self.waker: tuple[asyncio.AbstractEventLoop, asyncio.Future] | None = None

    def take(self) -> tuple[Any, int] | None:
        with self.lock:
            got, self.outcome = self.outcome, None
            return None if self.revoked else got

    def revoke(self) -> None:
        with self.lock:
            self.revoked = True
            dropped, self.outcome = self.outcome, None
        self.signal()
        del dropped  # the platform of a build nobody wants, released here

    def signal(self) -> None:
        """Wake the build task that committed (from any thread)."""
        w = self.waker
        if w is None:
            return
        loop, fut = w
        try:
            loop.call_soon_threadsafe(_set_none, fut)
        except RuntimeError:
            pass  # its loop is closed; the build task is gone with it


def _set_none(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


_set_reason = FN.get("tenreg_set_reason") or (lambda _reason: None)


def _reason(what: str, exc: BaseException) -> bytes:
    """tenreg_status.reason of a failure: "what: Type: message" (tenreg cuts
    it at TENREG_REASON_MAX bytes and replaces control bytes)."""
    text = f"{what}: {type(exc).__name__}"
    msg = str(exc)
    if msg:
        text += f": {msg}"
    return text.encode("utf-8", "replace")


class _Reg:
    """One registration (register or register_lazy) of a tenant id."""

    __slots__ = ("tenant_id", "tid_b", "agent_url", "host", "factory", "cell", "slot",
                 "turn", "removed")

    def __init__(self, tenant_id: str, tid_b: bytes, agent_url: str, host: str) -> None:
        self.tenant_id = tenant_id
        self.tid_b = tid_b
        self.agent_url = agent_url
        self.host = host
        self.factory: PlatformFactory | None = None
        self.cell: _Cell | None = None
        self.slot: _Slot | None = None
        self.turn = Turnstile()
        self.removed = False


class _Core:
    """The C registry and what its callbacks reach.

    Kept apart from TenantRegistry so that the callbacks (ctypes thunks, which
    must outlive every call tenreg makes) hold no reference to the registry
    object: dropping the last reference to a TenantRegistry then runs its
    __del__ at once, without waiting for the cycle collector.
    """

    def __init__(self, has_validator: bool) -> None:
        self.handles: dict[int, Any] = {}
        self.cells: dict[int, _Cell] = {}
        # Verdicts prepared for the C validator, per thread:
        # (verdict, cell of the build or None, reason or None).
        self.verdicts: dict[int, tuple[int, _Cell | None, bytes | None]] = {}
        self.next_id = itertools.count(1).__next__
        self.stats = threading.Condition(threading.Lock())
        self.frees = 0
        self.bad_frees = 0
        self.has_validator = has_validator
        self.factory_fn = _lib.FACTORY_FN(self._factory)
        self.free_fn = _lib.FREE_FN(self._free)
        self.validator_fn = _lib.VALIDATOR_FN(self._validate) if has_validator else None
        cfg = _lib.Config()
        if self.validator_fn is not None:
            cfg.validator = self.validator_fn
        cfg.platform_free = self.free_fn
        cfg.builder_threads = 1  # the trampolines never wait: one builder is plenty
        out = ctypes.c_void_p()
        rc = FN["tenreg_new"](ctypes.byref(cfg), ctypes.byref(out))
        if rc != _lib.OK:
            raise MemoryError(f"tenreg_new: {_lib.strerror(rc)}")
        self.regp: int = out.value

    # -- callbacks (tenreg's threads; ctypes takes the GIL) --

    def _validate(self, _ctx, _tid, _url) -> int:
        _tls.cb = getattr(_tls, "cb", 0) + 1
        try:
            got = self.verdicts.pop(threading.get_ident(), None)
            if got is None:
                logger.error("tenreg: validator called with no verdict prepared; failing it")
                return -1
            verdict, cell, reason = got
            if reason is not None:
                _set_reason(reason)
            if cell is not None:
                cell.signal()
            return verdict
        except BaseException:  # noqa: BLE001 - a callback must not raise into C
            return -1
        finally:
            _tls.cb -= 1

    def _factory(self, ctx, _tid, out) -> int:
        _tls.cb = getattr(_tls, "cb", 0) + 1
        try:
            cell = self.cells.get(ctx or 0)
            if cell is None:
                return -1  # the registration is gone: tenreg discards the build
            got = cell.take()
            if got is None:
                if cell.reason is not None:
                    _set_reason(cell.reason)
                cell.signal()
                return -1  # the Python factory failed (or the build was revoked)
            platform, verdict, reason, tenant_id, host = got
            h = self.next_id()
            self.handles[h] = _Slot(tenant_id, platform, host)
            del platform, got
            if self.has_validator:
                self.verdicts[threading.get_ident()] = (verdict, cell, reason)
            else:
                cell.signal()
            out[0] = h
            return 0
        except BaseException:  # noqa: BLE001
            logger.exception("tenreg: factory trampoline failed")
            return -1
        finally:
            _tls.cb -= 1

    def _free(self, _ctx, h) -> None:
        _tls.cb = getattr(_tls, "cb", 0) + 1
        try:
            slot = self.handles.pop(h or 0, None)
            unknown = slot is None
            if unknown:
                logger.error("tenreg: platform_free of unknown handle %r", h)
            elif slot.__class__ is _Barrier:
                slot.event.set()
            del slot  # the platform is released here, after the grace period
            with self.stats:
                if unknown:
                    self.bad_frees += 1
                else:
                    self.frees += 1
                self.stats.notify_all()
        except BaseException:  # noqa: BLE001
            pass
        finally:
            _tls.cb -= 1

    def wait_released(self, timeout: float) -> bool:
        """Tests: wait until tenreg has freed every handle (bounded)."""
        with self.stats:
            return self.stats.wait_for(lambda: not self.handles, timeout)

    # -- teardown --

    def start_grace_period(self, regp: int) -> threading.Event | None:
        """Start a grace period: the event is set once every read section
        that began before the call has ended (``None``: it could not start).

        tenreg exports no synchronize_rcu; an eager sentinel registered and
        unregistered at once has its platform freed after a grace period.
        """
        b = _Barrier()
        h = self.next_id()
        self.handles[h] = b
        tag = os.urandom(8).hex()
        tid = f"tenreg.grace-period.{tag}".encode()
        url = f"grace-{tag}.tenreg.invalid".encode()
        if FN["tenreg_register"](regp, tid, url, h, 0) != _lib.OK:
            self.handles.pop(h, None)
            return None
        FN["tenreg_unregister"](regp, tid)
        return b.event

    def grace_period(self, regp: int, timeout: float) -> bool:
        """Wait (at most @timeout) for a grace period; False if none passed."""
        ev = self.start_grace_period(regp)
        return ev is not None and ev.wait(timeout)

    #: Seconds free() waits in the calling thread before it hands the wait on.
    free_wait = 30.0

    def free(self, regp: int) -> None:
        """tenreg_free @regp, once a grace period confirms that no reader
        still uses it; never before (that would be a use-after-free).

        Readers that loaded the old pointer did so inside a read section
        that began before TenantRegistry.close() cleared it: once those
        sections are over nobody uses @regp, as tenreg_free requires. Waits
        free_wait seconds here; after that a daemon thread keeps waiting and
        frees then (if the interpreter exits first, the registry is leaked).
        """
        ev = self.start_grace_period(regp)
        if ev is None:
            logger.warning("tenreg: could not start a grace period at close "
                           "(out of memory); the C registry is leaked, not freed")
            return
        if ev.wait(self.free_wait):
            self._free_now(regp)
            return
        logger.warning("tenreg: no grace period within %.0f s at close (a reader "
                       "is still inside a lookup); freeing once it ends", self.free_wait)
        _spawn_closer(self._free_after, (regp, ev))

    def _free_after(self, regp: int, ev: threading.Event) -> None:
        ev.wait()
        self._free_now(regp)

    def _free_now(self, regp: int) -> None:
        FN["tenreg_free"](regp)
        for cell in list(self.cells.values()):
            cell.revoke()
        self.cells.clear()


def _spawn_closer(target: Callable[..., None], args: tuple) -> None:
    """Run target(*args) on a daemon thread that _close_all joins (bounded)."""
    def run() -> None:
        try:
            target(*args)
        finally:
            with _closers_lock:
                _closers.discard(threading.current_thread())

    t = threading.Thread(target=run, name="tenreg-close", daemon=True)
    with _closers_lock:
        _closers.add(t)
    t.start()


# ---- the registry ------------------------------------------------------------

_live: weakref.WeakSet = weakref.WeakSet()
_closers: set[threading.Thread] = set()
_closers_lock = threading.Lock()
_exiting = False  # _close_all ran: no new registries (nothing would free them)


def _close_all() -> None:
    """atexit: free every registry while the interpreter can still run the
    platform_free callbacks (after finalization begins they could not).
    Registries cannot be made afterwards (TenantRegistry raises RuntimeError)."""
    global _exiting
    _exiting = True
    for reg in list(_live):
        try:
            reg.close()
        except Exception:  # noqa: BLE001
            pass
    with _closers_lock:
        pending = list(_closers)
    for t in pending:
        t.join(30.0)


atexit.register(_close_all)


def _raise_for(rc: int, what: str) -> None:
    if rc == _lib.ENOMEM:
        raise MemoryError(f"{what}: {_lib.strerror(rc)}")
    if rc == _lib.EINVAL:
        raise ValueError(f"{what}: {_lib.strerror(rc)}")
    if rc == _lib.ENOENT:
        raise KeyError(what)
    raise RuntimeError(f"{what}: {_lib.err_name(rc)} ({_lib.strerror(rc)})")


class TenantRegistry:
    """Multi-tenant registry with health tracking: the AdCP SDK's, on tenreg.

    Drop-in for ``adcp.server.TenantRegistry``: the same constructor,
    methods, return values and health state machine. Host lookups are
    tenreg's wait-free lookups; health and platform ownership are tenreg's.

    Differences from the SDK (python/README.md lists them all):

    * a host another tenant holds raises :class:`HostConflictError`
      (a ``ValueError``) instead of silently moving to the new tenant;
    * hosts are normalized by tenreg (docs/design.md §4): a host that does
      not normalize is ``None`` on lookup and ``ValueError`` at registration;
    * ``register``/``register_lazy``/``unregister`` never wait for a recheck
      or build of the same tenant in flight; its result is discarded (the
      SDK's register waits on the tenant's lock);
    * a resolve that is cancelled does not cancel the lazy build it started;
      a build cancelled because its event loop shut down is not a failure:
      the next resolve starts it again (a build that finished, even with a
      failure, is never retried). A build in progress runs on the loop that
      started it: resolves on other loops wait for that loop to get on.

    Beyond the SDK: :meth:`add_host`, :meth:`remove_host`, :meth:`hosts`
    (extra hosts and ``*.NAME`` wildcards), :attr:`TenantResolution.matched`,
    :meth:`status` (with the reason of the last failure), :meth:`stats`,
    :func:`normalize_host`, :meth:`close` and the context managers. Every
    thread that resolves is registered with tenreg on first use.

    Thread-safe: any mix of event loops (one per thread) and plain threads may
    use one registry. Factories and validators are awaited on the event loop
    of the call that runs them (the first resolve of a lazy tenant, the
    recheck, the awaited registration), never on tenreg's threads; a sync
    validator is called on that loop's thread, as in the SDK.
    """

    def __init__(self, *, validator: TenantValidator | None = None,
                 default_serve_options: dict[str, Any] | None = None) -> None:
        self._closed = True  # until the C registry exists (__del__ checks it)
        if _exiting:
            raise RuntimeError("TenantRegistry: the interpreter is exiting (tenreg's "
                               "atexit hook already ran; nothing would free a new registry)")
        self._validator = validator
        self._default_serve_options: dict[str, Any] = default_serve_options or {}
        self._core = _Core(validator is not None)
        self._handles = self._core.handles
        self._regp: int | None = self._core.regp
        self._regv: ctypes.c_void_p | None = ctypes.c_void_p(self._core.regp)  # for _rbh_raw
        self._lock = threading.RLock()
        self._regs: dict[str, _Reg] = {}
        self._tasks: set[asyncio.Task] = set()
        self._extra_hosts = False  # any add_host yet: lookups then read out.matched
        self._closed = False
        _live.add(self)
        if _exiting:  # the atexit hook ran meanwhile and may have missed us
            self.close()
            raise RuntimeError("TenantRegistry: the interpreter is exiting")

    # ---- internals ----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("TenantRegistry is closed")

    def _holder_of(self, host_b: bytes) -> str | None:
        s = _thread_state()
        s.depth += 1
        _rl()
        try:
            rc = _rbh(self._regp, host_b, len(host_b), s.out_addr)
            tid = s.out.tenant_id if rc not in (_lib.ENOENT, _lib.EINVAL) else None
        finally:
            _ru()
            s.depth -= 1
        return tid.decode("utf-8", "surrogatepass") if tid is not None else None

    def _retire(self, reg: _Reg) -> None:
        """Under self._lock, with the tenreg call that replaced or removed it."""
        reg.removed = True
        cell = reg.cell
        if cell is not None:
            self._core.cells.pop(cell.id, None)
            cell.revoke()

    def _install(self, reg: _Reg, call: Callable[[], int]) -> None:
        with self._lock:
            self._check_open()
            rc = call()
            if rc == _lib.EEXIST:
                raise HostConflictError(reg.host, reg.tenant_id,
                                        self._holder_of(reg.host.encode("ascii")))
            if rc != _lib.OK:
                _raise_for(rc, f"register {reg.tenant_id!r}")
            old = self._regs.get(reg.tenant_id)
            self._regs[reg.tenant_id] = reg
            if old is not None:
                self._retire(old)

    async def _run_validator(self, reg: _Reg) -> bool:
        v = self._validator
        if v is None:
            return True
        result = v(reg.tenant_id, reg.agent_url)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    def _apply_check(self, reg: _Reg, verdict: int, reason: bytes | None = None) -> bool:
        """Let tenreg apply a verdict to @reg (tenreg_recheck, whose validator
        trampoline returns it, with @reason). False when @reg is gone:
        discarded."""
        with self._lock:
            if reg.removed or self._closed:
                return False
            me = threading.get_ident()
            if self._core.has_validator:
                self._core.verdicts[me] = (verdict, None, reason)
            try:
                rc = FN["tenreg_recheck"](self._regp, reg.tid_b)
            finally:
                self._core.verdicts.pop(me, None)
            if rc == _lib.ENOMEM:
                raise MemoryError(f"recheck {reg.tenant_id!r}: {_lib.strerror(rc)}")
            return rc in (_lib.OK, _lib.EVALIDATOR)

    def _poll_by_id(self, reg: _Reg, flags: int) -> tuple[int, _Slot | None, int]:
        """tenreg_resolve_by_id of @reg, under self._lock (so that the id is
        still @reg's and no other registration's build can be started)."""
        s = _thread_state()
        s.depth += 1
        _rl()
        try:
            rc = _by_id(self._regp, reg.tid_b, flags, s.out_addr)
            slot = self._handles.get(s.out.platform) if rc == _lib.OK else None
            h = s.out.health
        finally:
            _ru()
            s.depth -= 1
        return rc, slot, h

    async def _await_build(self, reg: _Reg) -> TenantResolution | None:
        cell = reg.cell
        while True:
            with cell.lock:
                start = cell.state == _EMPTY
                if start:
                    cell.state = _BUILDING
                done = cell.done
            if start:
                task = asyncio.get_running_loop().create_task(self._build(reg, done))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            got = await _wait(done)
            if got is not _RETRY:
                return got
            # That attempt was cancelled before it finished (its loop shut
            # down): not a result. Start (or await) the next one.
            if reg.removed or self._closed:
                return None

    async def _build(self, reg: _Reg, done: concurrent.futures.Future) -> None:
        """One build attempt of a lazy registration: a task on the loop of
        the call that started it, so that cancelling that call cancels
        nothing. An attempt cancelled before its factory and validator
        finished (its loop shut down) hands nothing to tenreg: the cell goes
        back to EMPTY and its waiters start or await the next attempt."""
        cell = reg.cell
        out: list = [None, False]  # [result, handed to tenreg]
        try:
            turn = await reg.turn.enter()
            try:
                await self._build_in_turn(reg, out)
            finally:
                reg.turn.leave(turn)
        finally:
            if out[1] or reg.removed or self._closed:
                with cell.lock:
                    cell.state = _DONE
                done.set_result(out[0])
            else:
                with cell.lock:
                    cell.state = _EMPTY
                    cell.reason = None
                    cell.done = concurrent.futures.Future()
                done.set_result(_RETRY)

    async def _build_in_turn(self, reg: _Reg, out: list) -> None:
        if reg.removed or self._closed:
            return
        platform = None
        verdict = -1
        reason: bytes | None = None
        made = None
        try:
            made = reg.factory(reg.tenant_id)
            platform = await made if inspect.isawaitable(made) else made
            if platform is None:
                reason = b"factory returned None"
                logger.warning("TenantRegistry.resolve: factory returned None for tenant %r; "
                               "health=disabled", reg.tenant_id)
        except Exception as e:
            reason = _reason("factory raised", e)
            logger.warning("TenantRegistry.resolve: factory raised for tenant %r; "
                           "health=disabled", reg.tenant_id, exc_info=True)
        if platform is not None:
            try:
                verdict = 1 if await self._run_validator(reg) else 0
            except Exception as e:
                reason = _reason("validator raised", e)
                logger.warning("TenantRegistry.resolve: validator raised for tenant %r; "
                               "health=disabled", reg.tenant_id, exc_info=True)
        # A CancelledError above leaves: nothing was handed to tenreg.
        reg.cell.reason = reason
        # Nothing of this frame may keep the platform alive once tenreg owns
        # it (a logged traceback holds the frame): it travels in a box.
        box = [platform]
        platform = made = None
        await self._commit(reg, box, verdict, reason, out)

    async def _commit(self, reg: _Reg, box: list, verdict: int, reason: bytes | None,
                      out: list) -> None:
        """Hand the build's outcome to tenreg and wait until it is published;
        the result goes to out[0], and out[1] tells that tenreg has it.

        tenreg runs its own build of the registration on its builder thread;
        the trampolines answer it at once (no GIL-holding wait, nothing that
        waits for a loop), so the only wait is for the builder to get there,
        and the registry lock is never held across it. Once the outcome is
        handed over, a cancellation no longer interrupts: the rest of the
        commit finishes without awaiting, and the cancellation is raised
        after the result is recorded.
        """
        cell = reg.cell
        loop = asyncio.get_running_loop()
        woken = loop.create_future()
        platform = box.pop()
        with self._lock:
            if reg.removed or self._closed:
                return
            with cell.lock:
                if cell.revoked:
                    return
                cell.outcome = ((platform, verdict, reason, reg.tenant_id, reg.host)
                                if platform is not None else None)
                cell.waker = (loop, woken)
            platform = None  # the cell holds it until the trampoline takes it
            out[1] = True  # from here on, this is the build's one outcome
            rc, _, _ = self._poll_by_id(reg, _lib.NOWAIT)
        cancelled: BaseException | None = None
        if rc != _lib.EPENDING:
            logger.error("tenreg: build hand-off of %r answered %s", reg.tenant_id,
                         _lib.err_name(rc))
        else:
            try:
                await woken
            except asyncio.CancelledError as e:
                cancelled = e  # finish without awaiting, then raise it
        # The trampolines have answered (or the build was revoked); tenreg
        # publishes right after them. Poll for that, never under a wait.
        delay = 0.0
        while True:
            with self._lock:
                if reg.removed or self._closed:
                    break
                rc, slot, h = self._poll_by_id(reg, _lib.NOWAIT)
            if rc != _lib.EPENDING:
                if rc == _lib.OK and slot is not None:
                    reg.slot = slot
                    out[0] = slot.answer_by_id(h)
                break
            if cancelled is not None:
                time.sleep(delay)
            else:
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError as e:
                    cancelled = e
            delay = min(0.01, delay * 2 if delay else 1e-4)
        if cancelled is not None:
            raise cancelled

    # ---- the SDK's API --------------------------------------------------------

    async def register(self, tenant_id: str, *, agent_url: str, platform: Any,
                       await_first_validation: bool = False) -> None:
        """Register (or re-register) a tenant with a pre-built platform.

        Health starts ``pending``. With ``await_first_validation=True`` the
        validator is awaited and the tenant is ``healthy`` or ``disabled``
        when the call returns (a validator that raises leaves it
        ``disabled``; the exception is logged, not raised).

        Re-registering replaces the platform (the old one is released after
        tenreg's grace period) and moves the tenant's host if the URL changed.

        :raises HostConflictError: the host belongs to another tenant
            (difference from the SDK: nothing changes).
        :raises ValueError: ``agent_url`` does not normalize (tenreg §4), or
            the id is not 1..255 UTF-8 bytes without NUL.
        :raises RuntimeError: the registry is closed.
        """
        tid_b = _tenant_id_bytes(tenant_id)
        url_b, host = _agent_url(agent_url)
        reg = _Reg(tenant_id, tid_b, agent_url, host)
        slot = reg.slot = _Slot(tenant_id, platform, host)
        core = self._core

        def call() -> int:
            h = core.next_id()
            core.handles[h] = slot
            rc = FN["tenreg_register"](self._regp, tid_b, url_b, h, 0)
            if rc != _lib.OK:
                core.handles.pop(h, None)  # still the caller's
            return rc

        self._install(reg, call)
        if await_first_validation:
            await self._first_validation(reg, "register")

    async def _first_validation(self, reg: _Reg, what: str) -> None:
        turn = await reg.turn.enter()
        try:
            if reg.removed:
                return
            reason = None
            try:
                verdict = 1 if await self._run_validator(reg) else 0
            except Exception as e:
                logger.warning("TenantRegistry.%s: validator raised for tenant %r; "
                               "health=disabled", what, reg.tenant_id, exc_info=True)
                verdict, reason = -1, _reason("validator raised", e)
            self._apply_check(reg, verdict, reason)
        finally:
            reg.turn.leave(turn)

    async def register_lazy(self, tenant_id: str, *, agent_url: str, factory: PlatformFactory,
                            await_first_validation: bool = False) -> None:
        """Register (or re-register) a tenant whose platform is built on first use.

        The factory is awaited at most once for this registration, on the
        event loop of the first :meth:`resolve` / :meth:`resolve_by_id` that
        reaches the tenant (or here, with ``await_first_validation=True``),
        then validated: ``healthy`` with the platform cached, or ``disabled``
        without one, never retried (register_lazy again to retry). A build
        cancelled before it finished (its event loop shut down) is no result:
        the next resolve calls the factory again, on its own loop.
        :meth:`resolve_by_host` answers ``None`` until the platform is built.

        :raises HostConflictError, ValueError, RuntimeError: as :meth:`register`.
        """
        if not callable(factory):
            raise TypeError("factory must be callable")
        tid_b = _tenant_id_bytes(tenant_id)
        url_b, host = _agent_url(agent_url)
        reg = _Reg(tenant_id, tid_b, agent_url, host)
        reg.factory = factory
        cell = reg.cell = _Cell(self._core.next_id())
        core = self._core

        def call() -> int:
            core.cells[cell.id] = cell
            rc = FN["tenreg_register_lazy"](self._regp, tid_b, url_b, core.factory_fn, cell.id, 0)
            if rc != _lib.OK:
                core.cells.pop(cell.id, None)
            return rc

        self._install(reg, call)
        if await_first_validation:
            await self._await_build(reg)

    def unregister(self, tenant_id: str) -> None:
        """Remove a tenant; a no-op for an unknown id.

        Later lookups miss at once; the platform is released after tenreg's
        grace period (resolutions already handed out stay usable). A recheck
        or build in flight for it has its result discarded.
        """
        if not isinstance(tenant_id, str):
            return
        with self._lock:
            if self._closed:
                return
            reg = self._regs.pop(tenant_id, None)
            if reg is None:
                return
            FN["tenreg_unregister"](self._regp, reg.tid_b)
            self._retire(reg)

    async def recheck(self, tenant_id: str) -> None:
        """Run the validator again and update health (tenreg's state machine).

        Valid: ``healthy``. Invalid or raised: ``healthy`` becomes
        ``unverified``, anything else ``disabled``. On an unbuilt lazy tenant
        only health changes.

        :raises KeyError: the tenant is not registered.
        :raises MemoryError: tenreg ran out of memory (TENREG_ENOMEM); health
            is unchanged.
        :raises Exception: what the validator raised, after health was updated
            (unless the tenant was unregistered meanwhile: then the result is
            discarded and nothing is raised, as in the SDK).
        """
        reg = self._regs.get(tenant_id) if isinstance(tenant_id, str) else None
        if reg is None:
            raise KeyError(f"Tenant {tenant_id!r} is not registered")
        while True:
            turn = await reg.turn.enter()
            current = self._regs.get(tenant_id)
            if current is reg:
                break
            reg.turn.leave(turn)
            if current is None:
                raise KeyError(f"Tenant {tenant_id!r} is not registered")
            reg = current  # re-registered while we waited: check the new one
        try:
            try:
                ok = await self._run_validator(reg)
            except Exception as e:
                if self._apply_check(reg, -1, _reason("validator raised", e)):
                    logger.warning("TenantRegistry.recheck: validator raised for tenant %r; "
                                   "health=%s", tenant_id, self.health(tenant_id), exc_info=True)
                    raise
                return
            self._apply_check(reg, 1 if ok else 0)
        finally:
            reg.turn.leave(turn)

    def health(self, tenant_id: str) -> TenantHealthState | None:
        """The tenant's current health, or ``None`` if it is not registered."""
        if not isinstance(tenant_id, str):
            return None
        h = self._health_code(tenant_id.encode("utf-8", "surrogatepass"))
        return HEALTH_NAMES[h] if h is not None else None

    def _health_code(self, tid_b: bytes) -> int | None:
        s = _thread_state()
        s.depth += 1
        _rl()
        try:
            rc = _health_of(self._regp, tid_b, s.health_addr)
        finally:
            _ru()
            s.depth -= 1
        return s.health.value if rc == _lib.OK else None

    def resolve_by_host(self, host: str) -> TenantResolution | None:
        """Synchronous lookup of a Host header value or URL: one wait-free
        tenreg lookup.

        ``None`` for an unknown host, a host that does not normalize, or a
        lazy tenant not built yet. Not gated by health: the caller checks
        ``result.health``.
        """
        try:
            s = _tls.s
        except AttributeError:
            s = _thread_state()
        try:
            host = host.encode()
        except AttributeError:
            if not isinstance(host, bytes):
                return None
        except UnicodeEncodeError:
            return None  # lone surrogates: not a host tenreg normalizes
        n = len(host)
        if n > _RAW_LEN_MAX:
            return None  # no host (tenreg's keys are at most 253 bytes), and no int for _rbh_raw
        out = s.out
        s.depth += 1
        _rl()
        try:
            if _rbh_raw(self._regv, host, n, s.out_ptr):
                return None
            # Inside the read section: the handle cannot be freed yet.
            slot = self._handles.get(out.platform)
            h = out.health
            m = out.matched if self._extra_hosts else None
        finally:
            _ru()
            s.depth -= 1
        if slot is None:
            return None
        if m is None:
            r = slot.by_host[h]
            return r if r is not None else slot.answer(h, None)
        return slot.answer(h, m)

    async def resolve(self, host: str) -> TenantResolution | None:
        """Lookup by Host value or URL that builds a lazy platform on first use.

        Exactly one factory call across every concurrent caller, on any loop
        or thread; the others await it. ``None`` for an unknown host, or when
        the build failed (now or earlier: never retried). Not gated by health.
        A build in progress runs on the loop that started it; a resolve on
        another loop waits for that loop to make progress. If the build is
        cancelled (its loop shut down), the waiters start a new one.
        """
        b = _as_bytes(host)
        if b is None:
            return None
        s = _thread_state()
        s.depth += 1
        _rl()
        try:
            rc = _rbh(self._regp, b, len(b), s.out_addr)
            if rc == _lib.OK:
                slot = self._handles.get(s.out.platform)
                h = s.out.health
                m = s.out.matched if self._extra_hosts else None
            elif rc == _lib.EPENDING:
                tid = s.out.tenant_id
        finally:
            _ru()
            s.depth -= 1
        if rc == _lib.OK:
            return slot.answer(h, m) if slot is not None else None
        if rc != _lib.EPENDING:
            return None
        reg = self._regs.get(tid.decode("utf-8", "surrogatepass"))
        if reg is None or reg.cell is None:
            return None
        built = await self._await_build(reg)
        if built is None:
            return None
        # Built: answer as a lookup now would (health, matched), if it still can.
        again = self.resolve_by_host(b)
        return again if again is not None and again.platform is built.platform else built

    async def resolve_by_id(self, tenant_id: str) -> TenantResolution | None:
        """As :meth:`resolve`, keyed by tenant id (``matched`` is ``None``)."""
        reg = self._regs.get(tenant_id) if isinstance(tenant_id, str) else None
        if reg is None:
            return None
        slot = reg.slot
        if slot is None:
            if reg.cell is None or reg.cell.state == _DONE:
                return None
            built = await self._await_build(reg)
            if built is None:
                return None
            slot = reg.slot
            if slot is None:
                return built
        h = self._health_code(reg.tid_b)
        return slot.answer_by_id(h) if h is not None else None

    @property
    def serve_options(self) -> dict[str, Any]:
        """A shallow copy of ``default_serve_options`` (``{}`` if none)."""
        return dict(self._default_serve_options)

    @property
    def registered_tenants(self) -> frozenset[str]:
        """Snapshot of the registered tenant ids."""
        with self._lock:
            return frozenset(self._regs)

    # ---- beyond the SDK: hosts and patterns (docs/design.md §8.1) ------------

    def _host_call(self, name: str, tenant_id: str, host: str) -> int:
        if not _lib.HAS_HOSTS:
            raise NotImplementedError(f"{_lib.PATH} has no {name} (tenreg < §8.1)")
        tid_b = _tenant_id_bytes(tenant_id)
        host_b = _as_bytes(host)
        if host_b is None:
            raise TypeError(f"host must be a str, not {type(host).__name__}")
        with self._lock:
            self._check_open()
            if tenant_id not in self._regs:
                raise KeyError(f"Tenant {tenant_id!r} is not registered")
            if name == "tenreg_add_host":
                self._extra_hosts = True  # before the host is visible
            return FN[name](self._regp, tid_b, host_b)

    def add_host(self, tenant_id: str, host: str) -> None:
        """Give a tenant one more host, or a wildcard pattern ``*.NAME``.

        The host answers exactly what the tenant's own host does. Lookups:
        an exact host wins, else the longest matching pattern (``*.s``
        matches ``x.s`` and ``x.y.s``, never ``s`` itself). Extra hosts are
        not validated; a new registration of the id drops them. Idempotent.

        :raises KeyError: unknown tenant.
        :raises HostConflictError: another tenant holds it.
        :raises ValueError: not a host or pattern tenreg normalizes, or the
            tenant holds the most hosts tenreg allows (TENREG_HOSTS_MAX, 64).
        """
        rc = self._host_call("tenreg_add_host", tenant_id, host)
        if rc == _lib.OK:
            return
        if rc == _lib.EEXIST:
            raise HostConflictError(str(host), tenant_id, None)
        if rc == _lib.ENOSPC:
            raise ValueError(f"tenant {tenant_id!r} already holds the most hosts tenreg "
                             f"allows (TENREG_HOSTS_MAX)")
        if rc == _lib.EINVAL:
            raise ValueError(f"host {host!r} is neither a host tenreg normalizes nor a "
                             f"'*.NAME' pattern")
        _raise_for(rc, f"add_host {tenant_id!r} {host!r}")

    def remove_host(self, tenant_id: str, host: str) -> None:
        """Take an extra host or pattern away from a tenant.

        :raises KeyError: unknown tenant, or it does not hold @host.
        :raises ValueError: @host is the agent URL's own host (re-register to
            move it), or not a host or pattern at all.
        """
        rc = self._host_call("tenreg_remove_host", tenant_id, host)
        if rc == _lib.OK:
            return
        if rc == _lib.ENOENT:
            raise KeyError(f"tenant {tenant_id!r} does not hold host {host!r}")
        if rc == _lib.EINVAL:
            raise ValueError(f"host {host!r}: not removable (the agent URL's own host, or "
                             f"not a host or pattern)")
        _raise_for(rc, f"remove_host {tenant_id!r} {host!r}")

    def hosts(self, tenant_id: str) -> tuple[str, ...]:
        """The tenant's host keys and patterns: the agent URL's host first,
        then the others in the order they were added.

        :raises KeyError: unknown tenant.
        """
        if not _lib.HAS_HOSTS:
            reg = self._regs.get(tenant_id)
            if reg is None:
                raise KeyError(f"Tenant {tenant_id!r} is not registered")
            return (reg.host,)
        tid_b = _tenant_id_bytes(tenant_id)
        got: list[str] = []

        def each(_ctx, text) -> int:
            got.append(text.decode("ascii"))
            return 0

        fn = _lib.FOREACH_HOST_FN(each)
        with self._lock:
            self._check_open()
            rc = FN["tenreg_foreach_host"](self._regp, tid_b, fn, None)
        if rc == _lib.ENOENT:
            raise KeyError(f"Tenant {tenant_id!r} is not registered")
        if rc != _lib.OK:
            _raise_for(rc, f"hosts {tenant_id!r}")
        return tuple(got)

    # ---- beyond the SDK: status, reasons and counters (§8.2, §8.7) -------------

    def status(self, tenant_id: str) -> TenantStatus | None:
        """The tenant's status (health, verdict and reason of the last check
        or build, consecutive failures, times, hosts), or ``None`` if it is
        not registered. Not a hot-path call (tenreg takes its write lock).
        """
        if not _lib.HAS_STATUS:
            raise NotImplementedError(f"{_lib.PATH} has no tenreg_status_of (tenreg < §8.2)")
        if not isinstance(tenant_id, str):
            return None
        st = _lib.Status()
        with self._lock:
            if self._closed:
                return None
            rc = FN["tenreg_status_of"](self._regp, tenant_id.encode("utf-8", "surrogatepass"),
                                        ctypes.byref(st))
        if rc != _lib.OK:
            return None
        return TenantStatus(
            health=HEALTH_NAMES[st.health],
            verdict=_lib.VERDICT_NAMES[st.verdict],
            failures=st.failures,
            checked_at=st.checked_at_ns / 1e9 if st.checked_at_ns else None,
            registered_at=st.registered_at_ns / 1e9,
            lazy=bool(st.lazy),
            built=bool(st.built),
            hosts=st.hosts,
            reason=st.reason.decode("utf-8", "replace"),
        )

    def stats(self) -> RegistryStats:
        """The registry's counters (exact once the admin calls that changed
        them have returned)."""
        if not _lib.HAS_STATUS:
            raise NotImplementedError(f"{_lib.PATH} has no tenreg_stats_of (tenreg < §8.7)")
        st = _lib.Stats()
        with self._lock:
            self._check_open()
            rc = FN["tenreg_stats_of"](self._regp, ctypes.byref(st))
        if rc != _lib.OK:
            _raise_for(rc, "stats")
        return RegistryStats(
            tenants=st.tenants, hosts=st.hosts, patterns=st.patterns,
            health={name: st.health[i] for i, name in enumerate(HEALTH_NAMES)},
            lazy_unbuilt=st.lazy_unbuilt, checks=st.checks, checks_failed=st.checks_failed,
            builds=st.builds, builds_failed=st.builds_failed, events=st.events,
            events_dropped=st.events_dropped, deferred=st.deferred, bytes=st.bytes)

    # ---- lifecycle --------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Free the C registry; idempotent. Beyond the SDK.

        Lookups answer ``None`` afterwards and admin calls raise
        ``RuntimeError``. Waits until readers in other threads are out of
        their lookups (a grace period), lets tenreg's builds in flight finish
        and releases every platform. Called at interpreter exit and when the
        registry is garbage-collected, if not before.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            regp, self._regp = self._regp, None
            self._regv = None  # a NULL registry: lookups answer EINVAL
            regs, self._regs = list(self._regs.values()), {}
            for reg in regs:
                self._retire(reg)
        _live.discard(self)
        core = self._core
        if _in_callback() or _in_read_section():
            # From a tenreg callback (a platform's __del__ on the call_rcu
            # thread, say) tenreg_free would wait for that very thread; from
            # inside a read section of this thread (a signal handler, or a
            # __del__ the GC runs in a lookup) the grace period cannot end
            # before this call returns. Another thread frees it.
            _spawn_closer(core.free, (regp,))
            return
        core.free(regp)

    def __enter__(self) -> TenantRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> TenantRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_closed", True) or sys.is_finalizing():
                return
            self.close()
        except Exception:  # noqa: BLE001
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._regs)} tenants"
        return f"<tenreg.TenantRegistry {state}>"


__all__ = [
    "HostConflictError",
    "PlatformFactory",
    "RegistryStats",
    "TenantHealthState",
    "TenantRegistry",
    "TenantResolution",
    "TenantStatus",
    "TenantValidator",
    "TenantVerdict",
    "normalize_host",
]
