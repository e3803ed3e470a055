"""ctypes_load.py - Python loads a built libtenreg*.so with ctypes.CDLL (that
is, dlopen) and does a register + resolve round trip.

    /usr/bin/python3 ctypes_load.py <path to libtenreg*.so> <memb|qsbr>

Run with Debian's interpreter (tests/dlopen/CMakeLists.txt): a library with
initial-exec TLS (FLAGS STATIC_TLS) fails to load into it with "cannot
allocate memory in static TLS block". Exit status 0 when everything holds.
"""
import ctypes
import sys

TENREG_OK = 0
TENREG_ENOENT = -1


class Resolution(ctypes.Structure):
    # tenreg.h: struct tenreg_resolution
    _fields_ = [("tenant_id", ctypes.c_char_p),
                ("health", ctypes.c_int),
                ("platform", ctypes.c_void_p),
                ("matched", ctypes.c_char_p)]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, flavor = sys.argv[1], sys.argv[2]
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        print(f"FAIL: ctypes.CDLL({path!r}): {e}", file=sys.stderr)
        return 1

    vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
    sigs = {
        "tenreg_new": (ctypes.c_int, [vp, ctypes.POINTER(vp)]),
        "tenreg_free": (None, [vp]),
        "tenreg_register": (ctypes.c_int, [vp, cp, cp, vp, ctypes.c_uint]),
        "tenreg_unregister": (ctypes.c_int, [vp, cp]),
        "tenreg_resolve_by_host": (ctypes.c_int, [vp, cp, sz, ctypes.POINTER(Resolution)]),
        "tenreg_count": (sz, [vp]),
        "tenreg_thread_register": (None, []),
        "tenreg_thread_unregister": (None, []),
        "tenreg_read_lock": (None, []),
        "tenreg_read_unlock": (None, []),
        "tenreg_quiescent": (None, []),
        "tenreg_flavor": (cp, []),
        "tenreg_strerror": (cp, [ctypes.c_int]),
        "tenreg_version_string": (cp, []),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)          # AttributeError: not exported
        fn.restype, fn.argtypes = res, args

    failures = []

    def check(cond, msg):
        if not cond:
            failures.append(msg)

    got = lib.tenreg_flavor().decode()
    check(got == flavor, f"tenreg_flavor() is {got}, expected {flavor}")

    reg = vp()
    rc = lib.tenreg_new(None, ctypes.byref(reg))
    if rc != TENREG_OK or not reg.value:
        print(f"FAIL: tenreg_new: {lib.tenreg_strerror(rc).decode()}", file=sys.stderr)
        return 1
    platforms = [ctypes.c_int(i) for i in range(3)]
    tenants = [(b"acme", b"https://bid.acme.example/openrtb"),
               (b"beta", b"https://Beta.Example:8443/rtb"),
               (b"gamma", b"https://gamma.example./x")]
    for (tid, url), p in zip(tenants, platforms):
        rc = lib.tenreg_register(reg, tid, url, ctypes.addressof(p), 0)
        check(rc == TENREG_OK, f"register {tid}: {lib.tenreg_strerror(rc).decode()}")
    check(lib.tenreg_count(reg) == 3, f"tenreg_count = {lib.tenreg_count(reg)}")
    rc = lib.tenreg_unregister(reg, b"gamma")
    check(rc == TENREG_OK, f"unregister gamma: {rc}")

    lib.tenreg_thread_register()
    cases = [(b"BID.Acme.Example.:443", TENREG_OK, b"acme", platforms[0]),
             (b"beta.example:8443", TENREG_OK, b"beta", platforms[1]),
             (b"gamma.example", TENREG_ENOENT, None, None),
             (b"nobody.example", TENREG_ENOENT, None, None)]
    for host, want_rc, want_id, want_p in cases:
        r = Resolution()
        lib.tenreg_read_lock()
        rc = lib.tenreg_resolve_by_host(reg, host, len(host), ctypes.byref(r))
        tid, plat = r.tenant_id, r.platform   # copied inside the read section
        lib.tenreg_read_unlock()
        lib.tenreg_quiescent()
        check(rc == want_rc, f"resolve {host}: {rc} ({lib.tenreg_strerror(rc).decode()}), expected {want_rc}")
        if want_rc == TENREG_OK and rc == TENREG_OK:
            check(tid == want_id, f"resolve {host}: tenant {tid}, expected {want_id}")
            check(plat == ctypes.addressof(want_p), f"resolve {host}: wrong platform")
    lib.tenreg_thread_unregister()
    lib.tenreg_free(reg)

    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        return 1
    print(f"ok: ctypes.CDLL({path}): tenreg {lib.tenreg_version_string().decode()}, "
          f"flavor {flavor}, {len(cases)} resolves as expected (python {sys.version.split()[0]}, "
          f"{sys.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
