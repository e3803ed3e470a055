"""_lib - loads libtenreg.so with ctypes and declares its functions.

Two handles on the same shared object:

* ``C`` (``ctypes.CDLL``) releases the GIL around the call. Every call that
  can wait goes through it: tenreg_new/tenreg_free, the admin calls (they take
  the registry's write lock, which a builder thread may hold; recheck runs the
  validator), thread registration (liburcu's registry mutex), the by-id
  resolve of a build hand-off.
* ``PY`` (``ctypes.PyDLL``) keeps the GIL. Only the wait-free calls of an
  already registered reader thread go through it: tenreg_read_lock/unlock,
  tenreg_resolve_by_host, tenreg_health_of and tenreg_normalize_host. Dropping
  and retaking the GIL around a 30 ns lookup would cost more than the lookup,
  and with several threads it turns every lookup into a GIL hand-off.

The library is found through TENREG_LIBRARY=/path/libtenreg.so when set,
else through the dynamic loader's normal search path (libtenreg.so.0, then
libtenreg.so). Only the memb flavor is accepted: a QSBR reader must announce
quiescent states itself, which Python threads that sleep in arbitrary code
cannot promise (an idle online thread would stall every platform release).
"""

from __future__ import annotations

import ctypes
import os

ENV_VAR = "TENREG_LIBRARY"
_LOADER_NAMES = ("libtenreg.so.0", "libtenreg.so")

# Error codes (include/tenreg.h; pinned values).
OK = 0
ENOENT = -1
EINVAL = -2
ENOMEM = -3
EPENDING = -4
EVALIDATOR = -5
EFACTORY = -6
EDISABLED = -7
ENOSPC = -8
EEXIST = -9

AWAIT_FIRST_VALIDATION = 1
NOWAIT = 2

ID_MAX = 255
HOST_KEY_MAX = 253

HEALTH_NAMES = ("pending", "healthy", "unverified", "disabled")


class TenregLibraryError(ImportError):
    """libtenreg.so could not be loaded, or is not a usable one."""


class Resolution(ctypes.Structure):
    """struct tenreg_resolution (include/tenreg.h)."""

    _fields_ = [
        ("tenant_id", ctypes.c_char_p),
        ("health", ctypes.c_int),
        ("platform", ctypes.c_void_p),
        ("matched", ctypes.c_char_p),
    ]


VALIDATOR_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
FACTORY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.POINTER(ctypes.c_void_p))
FREE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
FOREACH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
FOREACH_HOST_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)


class Config(ctypes.Structure):
    """struct tenreg_config, followed by zeroed room.

    tenreg_config carries no size field and only ever grows at its end, so a
    newer library reads its new fields from past the end of an older
    caller's struct. The padding makes those reads land on zeroes, which is
    every new field's documented default.
    """

    _fields_ = [
        ("validator", VALIDATOR_FN),
        ("validator_ctx", ctypes.c_void_p),
        ("platform_free", FREE_FN),
        ("platform_free_ctx", ctypes.c_void_p),
        ("expected_tenants", ctypes.c_size_t),
        ("hash_seed", ctypes.c_uint64),
        ("builder_threads", ctypes.c_uint),
        # version 2 (docs/design.md §8); older libraries never read them
        ("flags", ctypes.c_uint),
        ("on_event", ctypes.c_void_p),
        ("on_event_ctx", ctypes.c_void_p),
        ("_room", ctypes.c_uint64 * 32),
    ]


REASON_MAX = 127
VERDICT_NAMES = ("unchecked", "valid", "invalid", "check_failed", "build_failed")


class Status(ctypes.Structure):
    """struct tenreg_status (docs/design.md §8.2)."""

    _fields_ = [
        ("health", ctypes.c_int),
        ("verdict", ctypes.c_int),
        ("failures", ctypes.c_uint),
        ("checked_at_ns", ctypes.c_int64),
        ("registered_at_ns", ctypes.c_int64),
        ("lazy", ctypes.c_uint),
        ("built", ctypes.c_uint),
        ("hosts", ctypes.c_size_t),
        ("reason", ctypes.c_char * (REASON_MAX + 1)),
        ("_room", ctypes.c_uint64 * 32),  # fields only ever grow at the end
    ]


class Stats(ctypes.Structure):
    """struct tenreg_stats (docs/design.md §8.7)."""

    _fields_ = [
        ("tenants", ctypes.c_size_t),
        ("hosts", ctypes.c_size_t),
        ("patterns", ctypes.c_size_t),
        ("health", ctypes.c_size_t * 4),
        ("lazy_unbuilt", ctypes.c_size_t),
        ("checks", ctypes.c_uint64),
        ("checks_failed", ctypes.c_uint64),
        ("builds", ctypes.c_uint64),
        ("builds_failed", ctypes.c_uint64),
        ("events", ctypes.c_uint64),
        ("events_dropped", ctypes.c_uint64),
        ("deferred", ctypes.c_size_t),
        ("bytes", ctypes.c_size_t),
        ("_room", ctypes.c_uint64 * 32),  # fields only ever grow at the end
    ]


def _open():
    path = os.environ.get(ENV_VAR)
    if path:
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            raise TenregLibraryError(
                f"tenreg: {ENV_VAR}={path!r} could not be loaded ({e}). Point "
                f"{ENV_VAR} at a built libtenreg.so, or unset it to use the "
                f"dynamic loader's search path ({', '.join(_LOADER_NAMES)})."
            ) from None
    errors = []
    for name in _LOADER_NAMES:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append(f"{name}: {e}")
    raise TenregLibraryError(
        "tenreg: libtenreg.so was not found. Tried the dynamic loader's search "
        f"path ({'; '.join(errors)}), and {ENV_VAR} is not set. Install libtenreg "
        "(cmake --install) where the loader finds it (ldconfig, LD_LIBRARY_PATH), "
        f"or set {ENV_VAR}=/path/to/libtenreg.so."
    )


C, PATH = _open()
PY = ctypes.PyDLL(C._name)

_vp, _cp, _sz, _int, _uint = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                              ctypes.c_int, ctypes.c_uint)

_PROTOS = {
    # name: (restype, argtypes, handles)
    "tenreg_new": (_int, [ctypes.POINTER(Config), ctypes.POINTER(_vp)], (C,)),
    "tenreg_free": (None, [_vp], (C,)),
    "tenreg_register": (_int, [_vp, _cp, _cp, _vp, _uint], (C,)),
    "tenreg_register_lazy": (_int, [_vp, _cp, _cp, FACTORY_FN, _vp, _uint], (C,)),
    "tenreg_unregister": (_int, [_vp, _cp], (C,)),
    "tenreg_recheck": (_int, [_vp, _cp], (C,)),
    "tenreg_health_of": (_int, [_vp, _cp, _vp], (PY,)),
    "tenreg_resolve_by_host": (_int, [_vp, _cp, _sz, _vp], (PY,)),
    "tenreg_resolve_by_id": (_int, [_vp, _cp, _uint, _vp], (C,)),
    "tenreg_thread_register": (None, [], (C,)),
    "tenreg_read_lock": (None, [], (PY,)),
    "tenreg_read_unlock": (None, [], (PY,)),
    "tenreg_flavor": (_cp, [], (PY,)),
    "tenreg_foreach": (_int, [_vp, FOREACH_FN, _vp], (C,)),
    "tenreg_count": (_sz, [_vp], (PY,)),
    "tenreg_normalize_host": (_int, [_cp, _sz, _vp, _sz, _vp], (PY,)),
    "tenreg_strerror": (_cp, [_int], (PY,)),
    "tenreg_err_name": (_cp, [_int], (PY,)),
    "tenreg_version": (_uint, [], (PY,)),
    "tenreg_version_string": (_cp, [], (PY,)),
}
# docs/design.md §8.1: declared with the rest, used when the library has them.
_OPTIONAL = {
    "tenreg_add_host": (_int, [_vp, _cp, _cp], (C,)),
    "tenreg_remove_host": (_int, [_vp, _cp, _cp], (C,)),
    "tenreg_foreach_host": (_int, [_vp, _cp, FOREACH_HOST_FN, _vp], (C,)),
}
# docs/design.md §8.2, §8.7: likewise. tenreg_status_of takes the write lock.
_OPTIONAL_STATUS = {
    "tenreg_status_of": (_int, [_vp, _cp, ctypes.POINTER(Status)], (C,)),
    "tenreg_stats_of": (_int, [_vp, ctypes.POINTER(Stats)], (C,)),
    "tenreg_set_reason": (None, [_cp], (PY,)),
}


def _declare(table, required):
    found = {}
    for name, (res, args, handles) in table.items():
        for h in handles:
            try:
                fn = getattr(h, name)
            except AttributeError:
                if required:
                    raise TenregLibraryError(
                        f"tenreg: {PATH} does not export {name}: not a libtenreg, "
                        f"or an incompatible version") from None
                break
            fn.restype, fn.argtypes = res, args
            found[name] = fn
    return found


FN = _declare(_PROTOS, True)

# The hot path's lookup, without argtypes. With argtypes, ctypes runs each
# argument through its type's from_param (an object per argument per call);
# without, it converts ctypes objects, bytes and ints directly: about 0.4 us
# of the ~1.5 us a Python-level lookup costs. The caller passes the registry
# and the out-struct as c_void_p objects, the host as bytes and its length
# as a Python int below 2**31, which ctypes passes as a C int: libffi widens
# it to the full register on every ABI it supports (x86-64 included, whose
# ABI does not require it), so the size_t parameter reads the same value.
# tests/test_api.py::test_raw_lookup_passes_the_length checks it.
RESOLVE_BY_HOST_RAW = ctypes.PyDLL(C._name).tenreg_resolve_by_host
RESOLVE_BY_HOST_RAW.restype = ctypes.c_int
RAW_LEN_MAX = 0x7FFFFFFF
FN.update(_declare(_OPTIONAL, False))
FN.update(_declare(_OPTIONAL_STATUS, False))
HAS_HOSTS = all(n in FN for n in _OPTIONAL)
HAS_STATUS = all(n in FN for n in _OPTIONAL_STATUS)

FLAVOR = FN["tenreg_flavor"]().decode()
if FLAVOR != "memb":
    raise TenregLibraryError(
        f"tenreg: {PATH} is the {FLAVOR!r} flavor; the Python package needs "
        f"libtenreg.so (memb): QSBR readers must announce quiescent states, which "
        f"Python threads cannot promise. Set {ENV_VAR} to the memb library.")

VERSION = FN["tenreg_version_string"]().decode()
if FN["tenreg_version"]() // 10000 != 0:
    raise TenregLibraryError(f"tenreg: {PATH} is version {VERSION}; this package "
                             f"speaks the 0.x API")


def strerror(rc: int) -> str:
    return FN["tenreg_strerror"](rc).decode()


def err_name(rc: int) -> str:
    return FN["tenreg_err_name"](rc).decode()
