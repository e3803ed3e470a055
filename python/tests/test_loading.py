"""Finding libtenreg: TENREG_LIBRARY, else the loader's path, else a clear error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tenreg

LIB = os.path.realpath(tenreg.library_path) if os.path.sep in tenreg.library_path else None


def _import(env_changes: dict[str, str | None]):
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    code = "import tenreg, sys; sys.stdout.write(tenreg.library_path)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


def _on_loader_path() -> bool:
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, timeout=30)
    return "libtenreg.so" in out.stdout


def test_bad_tenreg_library_names_the_variable_and_the_alternative():
    p = _import({"TENREG_LIBRARY": "/nonexistent/libtenreg.so"})
    assert p.returncode != 0
    assert "TenregLibraryError" in p.stderr
    assert "TENREG_LIBRARY='/nonexistent/libtenreg.so'" in p.stderr
    assert "search path" in p.stderr and "libtenreg.so.0" in p.stderr


def test_neither_names_both():
    if _on_loader_path():
        pytest.skip("libtenreg is installed on this machine's loader path")
    p = _import({"TENREG_LIBRARY": None, "LD_LIBRARY_PATH": None})
    assert p.returncode != 0
    assert "TENREG_LIBRARY is not set" in p.stderr
    assert "libtenreg.so.0" in p.stderr and "search path" in p.stderr


@pytest.mark.skipif(LIB is None, reason="loaded through the loader path, not a file")
def test_the_loader_path_is_used_without_the_variable():
    p = _import({"TENREG_LIBRARY": None, "LD_LIBRARY_PATH": os.path.dirname(LIB)})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "libtenreg.so.0"


@pytest.mark.skipif(LIB is None, reason="loaded through the loader path, not a file")
def test_the_qsbr_flavor_is_refused():
    qsbr = os.path.join(os.path.dirname(LIB), "libtenreg-qsbr.so")
    if not os.path.exists(qsbr):
        pytest.skip("no libtenreg-qsbr.so beside libtenreg.so")
    p = _import({"TENREG_LIBRARY": qsbr})
    assert p.returncode != 0
    assert "'qsbr' flavor" in p.stderr


def test_not_a_tenreg_library():
    libc = "libc.so.6"
    p = _import({"TENREG_LIBRARY": libc})
    assert p.returncode != 0
    assert "does not export tenreg_" in p.stderr
