# Symbol check (label "unit", every build): the shared libraries export
# exactly tenreg.h's TENREG_API functions, the static ones define no global
# symbol outside tenreg_*, and a jemalloc build really holds its private copy.
# See tests/check_exports.cmake. Lists are passed '|'-separated.
set(_tc_shared "")
set(_tc_static "")
foreach(_t tenreg tenreg-qsbr)
  if(TARGET ${_t})
    list(APPEND _tc_shared "$<TARGET_FILE:${_t}>")
  endif()
  if(TARGET ${_t}_static)
    list(APPEND _tc_static "$<TARGET_FILE:${_t}_static>")
  endif()
endforeach()
list(JOIN _tc_shared "|" _tc_shared)
list(JOIN _tc_static "|" _tc_static)
add_test(NAME check_exports
         COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DHEADER=${PROJECT_SOURCE_DIR}/include/tenreg.h
                 "-DSHARED=${_tc_shared}" "-DSTATIC=${_tc_static}" -DALLOCATOR=${TENREG_ALLOCATOR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/check_exports.cmake)
set_tests_properties(check_exports PROPERTIES LABELS unit TIMEOUT 60)

# Install tests (label "install"): install this build tree into a private
# prefix under the build dir, then build and run tests/consumer against it,
# through find_package (shared and static) and through pkg-config (shared,
# static, QSBR flavor). Included by tests/CMakeLists.txt.
#
# Not added in sanitizer builds: there every tenreg object is instrumented,
# so the installed libraries only link into consumers built with the same
# -fsanitize flags and runtime, which is not what an adopter gets. The
# package is tested by the normal build of the same CI run.
if(TENREG_SANITIZE)
  return()
endif()
if(NOT TARGET tenreg OR NOT TARGET tenreg_static)
  # The consumer covers both; a build without one of them has nothing to
  # install for it.
  message(STATUS "tenreg: install tests need TENREG_BUILD_SHARED and TENREG_BUILD_STATIC")
  return()
endif()

include(${PROJECT_SOURCE_DIR}/cmake/TenregInstallDirs.cmake)
set(_tc_dir ${CMAKE_CURRENT_BINARY_DIR}/consumer)
set(_tc_prefix ${_tc_dir}/prefix)
set(_tc_step ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run_step.cmake)
set(_tc_args
  -DPREFIX=${_tc_prefix}
  -DWORK=${_tc_dir}
  -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/consumer
  -DTENREG_BUILD_DIR=${PROJECT_BINARY_DIR}
  -DCONFIG=$<CONFIG>
  -DCC=${CMAKE_C_COMPILER}
  -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
  -DBINDIR=${CMAKE_INSTALL_BINDIR}
  -DCMAKEDIR=${TENREG_INSTALL_CMAKEDIR}
  -DPKGCONFIGDIR=${TENREG_INSTALL_PKGCONFIGDIR}
  -DPKG_CONFIG=${PKG_CONFIG_EXECUTABLE}
  -DWITH_TOOL=$<TARGET_EXISTS:tenreg-tool>
  -DWITH_QSBR=$<TARGET_EXISTS:tenreg-qsbr>)

add_test(NAME install_package COMMAND ${CMAKE_COMMAND} ${_tc_args} -DSTEP=install -P ${_tc_step})
set_tests_properties(install_package PROPERTIES
  LABELS install TIMEOUT 120 FIXTURES_SETUP tenreg_installed)

set(_tc_steps cmake_shared cmake_static pkgconfig_shared pkgconfig_static)
if(TARGET tenreg-qsbr)
  list(APPEND _tc_steps pkgconfig_qsbr)
endif()
foreach(_step ${_tc_steps})
  add_test(NAME install_consumer_${_step}
           COMMAND ${CMAKE_COMMAND} ${_tc_args} -DSTEP=${_step} -P ${_tc_step})
  set_tests_properties(install_consumer_${_step} PROPERTIES
    LABELS install TIMEOUT 300 FIXTURES_REQUIRED tenreg_installed)
endforeach()
