# Install and export: the header, both flavors' shared and static libraries,
# the `tenreg` tool, a CMake package (tenreg::tenreg, tenreg::tenreg_static,
# tenreg::tenreg-qsbr, tenreg::tenreg-qsbr_static) and one pkg-config file per
# flavor. Included last by the top-level CMakeLists.txt, so every target exists.
#
# The package is relocatable: the config files and the .pc files find the
# prefix from their own location, so `cmake --install build --prefix DIR`
# gives a working package wherever DIR is (tests/consumer relies on it).
include(CMakePackageConfigHelpers)
include(${CMAKE_CURRENT_LIST_DIR}/TenregInstallDirs.cmake)

# ---- libraries ---------------------------------------------------------------

set(_tenreg_lib_targets "")
set(_tenreg_static_urcu "")   # pkg_check_modules prefixes the static targets need
foreach(_flavor tenreg tenreg-qsbr)
  if(TARGET ${_flavor})
    list(APPEND _tenreg_lib_targets ${_flavor})
  endif()
  if(TARGET ${_flavor}_static)
    list(APPEND _tenreg_lib_targets ${_flavor}_static)
    if(_flavor STREQUAL "tenreg")
      list(APPEND _tenreg_static_urcu URCU_MEMB)
    else()
      list(APPEND _tenreg_static_urcu URCU_QSBR)
    endif()
  endif()
endforeach()

install(TARGETS ${_tenreg_lib_targets}
  EXPORT tenregTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          COMPONENT tenreg_runtime
          NAMELINK_COMPONENT tenreg_development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT tenreg_development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tenreg_runtime
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(FILES ${PROJECT_SOURCE_DIR}/include/tenreg.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT tenreg_development)
# The header cites docs/design.md by section: it ships with the header.
install(FILES ${PROJECT_SOURCE_DIR}/docs/design.md ${PROJECT_SOURCE_DIR}/docs/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT tenreg_development)

# ---- the command-line tool ---------------------------------------------------

if(TARGET tenreg-tool)
  # Find the installed libtenreg next to the installed tool, wherever the
  # prefix is (the build-tree RPATH is dropped at install).
  get_target_property(_tenreg_tool_rpath tenreg-tool INSTALL_RPATH)
  if(NOT _tenreg_tool_rpath)
    file(RELATIVE_PATH _tenreg_bin_to_lib
         "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(tenreg-tool PROPERTIES INSTALL_RPATH "$ORIGIN/${_tenreg_bin_to_lib}")
  endif()
  install(TARGETS tenreg-tool
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tenreg_runtime)
endif()

# ---- CMake package -----------------------------------------------------------

# The static libraries carry PkgConfig::URCU_MEMB / PkgConfig::URCU_QSBR in
# their link interface. Those are imported targets of this build, so the
# export writes their names as they are; tenregConfig.cmake recreates them
# with the same pkg_check_modules calls before it loads tenregTargets.cmake.
set(TENREG_PACKAGE_STATIC_URCU "${_tenreg_static_urcu}")

install(EXPORT tenregTargets
        NAMESPACE tenreg::
        FILE tenregTargets.cmake
        DESTINATION ${TENREG_INSTALL_CMAKEDIR}
        COMPONENT tenreg_development)

# The build tree is a package too: -Dtenreg_DIR=<build dir>.
export(EXPORT tenregTargets
       NAMESPACE tenreg::
       FILE ${PROJECT_BINARY_DIR}/tenregTargets.cmake)

# The config file only refers to files next to itself, so one generated copy
# serves the build tree and the install tree.
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/tenregConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tenregConfig.cmake
  INSTALL_DESTINATION ${TENREG_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO)

write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/tenregConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)

install(FILES ${PROJECT_BINARY_DIR}/tenregConfig.cmake
              ${PROJECT_BINARY_DIR}/tenregConfigVersion.cmake
        DESTINATION ${TENREG_INSTALL_CMAKEDIR}
        COMPONENT tenreg_development)

# ---- pkg-config --------------------------------------------------------------

# prefix=${pcfiledir}/<relative>: relocatable, like the CMake package. An
# absolute install dir cannot be made relative; then the paths are absolute.
if(IS_ABSOLUTE "${TENREG_INSTALL_PKGCONFIGDIR}")
  set(TENREG_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _tenreg_pc_up "/prefix/${TENREG_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _tenreg_pc_up "${_tenreg_pc_up}")
  set(TENREG_PC_PREFIX "\${pcfiledir}/${_tenreg_pc_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(TENREG_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(TENREG_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()

foreach(_flavor tenreg tenreg-qsbr)
  if(NOT TARGET ${_flavor} AND NOT TARGET ${_flavor}_static)
    continue()
  endif()
  set(TENREG_PC_NAME ${_flavor})
  if(_flavor STREQUAL "tenreg")
    set(TENREG_PC_FLAVOR "memb")
    set(TENREG_PC_REQUIRES_PRIVATE "liburcu-cds liburcu-memb")
  else()
    set(TENREG_PC_FLAVOR "qsbr")
    set(TENREG_PC_REQUIRES_PRIVATE "liburcu-cds liburcu-qsbr")
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/tenreg.pc.in
                 ${PROJECT_BINARY_DIR}/pkgconfig/${_flavor}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${_flavor}.pc
          DESTINATION ${TENREG_INSTALL_PKGCONFIGDIR}
          COMPONENT tenreg_development)
endforeach()
