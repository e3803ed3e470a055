"""tenreg - the AdCP Python SDK's TenantRegistry, backed by libtenreg.

A drop-in for ``adcp.server.TenantRegistry``::

    from tenreg import TenantRegistry, TenantResolution   # instead of adcp.server

The C library is found through the dynamic loader's search path, or through
TENREG_LIBRARY=/path/to/libtenreg.so. See python/README.md for the
differences from the SDK and what is added beyond it.
"""

from ._lib import PATH as library_path
from ._lib import VERSION as library_version
from ._lib import TenregLibraryError
from ._registry import (
    HostConflictError,
    PlatformFactory,
    RegistryStats,
    TenantHealthState,
    TenantRegistry,
    TenantResolution,
    TenantStatus,
    TenantValidator,
    TenantVerdict,
    normalize_host,
)

__version__ = "0.1.0"

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
    "TenregLibraryError",
    "library_path",
    "library_version",
    "normalize_host",
]
