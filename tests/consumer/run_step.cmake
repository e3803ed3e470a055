# One step of the install tests (cmake -DSTEP=... -P run_step.cmake); the
# variables come from tests/consumer/tests.cmake. Any failed check is a
# FATAL_ERROR, which fails the ctest.
#   install           cmake --install the tenreg build into PREFIX (fresh)
#   cmake_shared      consumer via find_package, tenreg::tenreg
#   cmake_static      consumer via find_package, tenreg::tenreg_static
#   pkgconfig_shared  consumer via `pkg-config --cflags --libs tenreg`
#   pkgconfig_static  consumer via `pkg-config --static`, libtenreg.a
#   pkgconfig_qsbr    consumer via `pkg-config --cflags --libs tenreg-qsbr`
cmake_minimum_required(VERSION 3.21)

function(run)  # run(<var prefix> COMMAND ...): runs, fails on non-zero exit
  cmake_parse_arguments(R "" "" "COMMAND" ${ARGN})
  list(JOIN R_COMMAND " " _shown)
  message(STATUS "$ ${_shown}")
  execute_process(COMMAND ${R_COMMAND} RESULT_VARIABLE _rc
                  OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "failed (${_rc}): ${_shown}\n${_out}\n${_err}")
  endif()
  set(${ARGV0}_OUT "${_out}" PARENT_SCOPE)
  set(${ARGV0}_ERR "${_err}" PARENT_SCOPE)
endfunction()

function(expect text regex what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: expected /${regex}/ in:\n${text}")
  endif()
  message(STATUS "ok: ${what}")
endfunction()

# Runs the consumer and checks its report. LINK is shared or static, FLAVOR
# memb or qsbr.
function(check_consumer exe link flavor)
  run(C COMMAND ${exe})
  message(STATUS "consumer said:\n${C_OUT}")
  expect("${C_OUT}" "tenant=acme health=pending flavor=${flavor} version=[0-9]+\\.[0-9]+\\.[0-9]+\n"
         "resolves the registered tenant")
  expect("${C_OUT}" "malloc=glibc\n" "the process keeps glibc's malloc")
  if(link STREQUAL "shared")
    # Loaded from the prefix under test, not from the build tree.
    string(REGEX REPLACE "[][+.*()^$?|\\\\]" "\\\\\\0" _p "${PREFIX}")
    expect("${C_OUT}" "libtenreg=${_p}/[^\n]*lib${LIBNAME}\\.so[^\n]*\n"
           "uses the installed shared library")
  else()
    string(REGEX REPLACE "[][+.*()^$?|\\\\]" "\\\\\\0" _e "${exe}")
    expect("${C_OUT}" "libtenreg=${_e}\n" "tenreg is linked into the executable")
  endif()
endfunction()

foreach(_v PREFIX WORK SOURCE LIBDIR BINDIR CMAKEDIR PKGCONFIGDIR CC STEP)
  if("${${_v}}" STREQUAL "")
    message(FATAL_ERROR "run_step.cmake: ${_v} is not set (see tests/consumer/tests.cmake)")
  endif()
endforeach()

set(_inc ${PREFIX}/include)
set(_lib ${PREFIX}/${LIBDIR})
set(_src ${SOURCE}/main.c)

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  set(_cfg "")
  if(CONFIG)
    set(_cfg --config ${CONFIG})
  endif()
  run(I COMMAND ${CMAKE_COMMAND} --install ${TENREG_BUILD_DIR} --prefix ${PREFIX} ${_cfg})
  set(_want
    include/tenreg.h
    ${LIBDIR}/libtenreg.so ${LIBDIR}/libtenreg.a
    ${CMAKEDIR}/tenregConfig.cmake ${CMAKEDIR}/tenregConfigVersion.cmake
    ${CMAKEDIR}/tenregTargets.cmake
    ${PKGCONFIGDIR}/tenreg.pc)
  if(WITH_QSBR)
    list(APPEND _want ${LIBDIR}/libtenreg-qsbr.so ${LIBDIR}/libtenreg-qsbr.a ${PKGCONFIGDIR}/tenreg-qsbr.pc)
  endif()
  if(WITH_TOOL)
    list(APPEND _want ${BINDIR}/tenreg)
  endif()
  foreach(_f ${_want})
    if(NOT EXISTS ${PREFIX}/${_f})
      message(FATAL_ERROR "not installed: ${PREFIX}/${_f}")
    endif()
  endforeach()
  message(STATUS "ok: installed ${_want}")
  # Nothing private is installed.
  file(GLOB_RECURSE _headers RELATIVE ${PREFIX} ${PREFIX}/*.h)
  if(NOT _headers STREQUAL "include/tenreg.h")
    message(FATAL_ERROR "installed headers other than tenreg.h: ${_headers}")
  endif()
  if(WITH_TOOL)
    # The installed tool finds the installed library (INSTALL_RPATH).
    file(WRITE ${WORK}/tool-input.txt "Bid.Acme.Example.:8443\n")
    execute_process(COMMAND ${PREFIX}/${BINDIR}/tenreg normalize
                    INPUT_FILE ${WORK}/tool-input.txt
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0 OR NOT _out STREQUAL "bid.acme.example\n")
      message(FATAL_ERROR "installed `tenreg normalize` failed (${_rc}): ${_out}${_err}")
    endif()
    message(STATUS "ok: installed tenreg tool runs: ${_out}")
  endif()

elseif(STEP MATCHES "^cmake_(shared|static)$")
  set(_link ${CMAKE_MATCH_1})
  set(_b ${WORK}/build-${STEP})
  file(REMOVE_RECURSE ${_b})
  # Only the prefix under test may provide the package: no user package
  # registry, no system prefixes ahead of it.
  run(CFG COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${_b}
      -DCMAKE_C_COMPILER=${CC}
      -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_PREFIX_PATH=${PREFIX}
      -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
      -DTENREG_CONSUMER_LINK=${_link})
  string(REGEX REPLACE "[][+.*()^$?|\\\\]" "\\\\\\0" _p "${PREFIX}")
  expect("${CFG_OUT}" "tenreg_DIR=${_p}/" "find_package found the installed package")
  run(B COMMAND ${CMAKE_COMMAND} --build ${_b})
  set(LIBNAME tenreg)
  check_consumer(${_b}/consumer ${_link} memb)

elseif(STEP MATCHES "^pkgconfig_(shared|static|qsbr)$")
  set(_kind ${CMAKE_MATCH_1})
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/${PKGCONFIGDIR})
  set(_pc tenreg)
  set(_flavor memb)
  set(_link shared)
  if(_kind STREQUAL "qsbr")
    set(_pc tenreg-qsbr)
    set(_flavor qsbr)
  elseif(_kind STREQUAL "static")
    set(_link static)
  endif()
  run(V COMMAND ${PKG_CONFIG} --variable=libdir ${_pc})
  string(STRIP "${V_OUT}" _pc_libdir)
  file(REAL_PATH "${_pc_libdir}" _pc_libdir)
  file(REAL_PATH "${_lib}" _real_lib)
  if(NOT _pc_libdir STREQUAL _real_lib)
    message(FATAL_ERROR "${_pc}.pc libdir is ${_pc_libdir}, expected ${_real_lib}")
  endif()
  if(_link STREQUAL "static")
    run(F COMMAND ${PKG_CONFIG} --static --cflags --libs ${_pc})
  else()
    run(F COMMAND ${PKG_CONFIG} --cflags --libs ${_pc})
  endif()
  string(STRIP "${F_OUT}" _flags)
  message(STATUS "pkg-config: ${_flags}")
  separate_arguments(_flags UNIX_COMMAND "${_flags}")
  if(_link STREQUAL "static")
    # pkg-config has one -l for both kinds; name the archive to get it.
    list(TRANSFORM _flags REPLACE "^-l${_pc}$" "${_lib}/lib${_pc}.a")
    if(NOT "${_lib}/lib${_pc}.a" IN_LIST _flags)
      message(FATAL_ERROR "no -l${_pc} in pkg-config --static --libs")
    endif()
  else()
    list(APPEND _flags -Wl,-rpath,${_lib})
  endif()
  set(_exe ${WORK}/consumer-${STEP})
  file(REMOVE ${_exe})
  run(B COMMAND ${CC} -std=c11 -o ${_exe} ${_src} ${_flags})
  set(LIBNAME ${_pc})
  check_consumer(${_exe} ${_link} ${_flavor})

else()
  message(FATAL_ERROR "unknown STEP '${STEP}'")
endif()
