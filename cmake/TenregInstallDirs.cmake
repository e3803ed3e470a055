# Install locations of tenreg's package files, relative to the prefix. Own
# file because both cmake/TenregInstall.cmake (included last) and
# tests/consumer/tests.cmake (included earlier, from tests/) need them.
include_guard(GLOBAL)
include(GNUInstallDirs)
set(TENREG_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tenreg"
    CACHE STRING "Where tenregConfig.cmake is installed, relative to the prefix")
set(TENREG_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where tenreg.pc is installed, relative to the prefix")
mark_as_advanced(TENREG_INSTALL_CMAKEDIR TENREG_INSTALL_PKGCONFIGDIR)
