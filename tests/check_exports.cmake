# check_exports.cmake - what tenreg's libraries make visible to a process.
#   cmake -DNM=<nm> -DHEADER=<tenreg.h> -DSHARED="<lib.so>|..." -DSTATIC="<lib.a>|..."
#         -DALLOCATOR=<jemalloc|libc> -P check_exports.cmake
#
# Shared libraries: `nm -D --defined-only` must list exactly the functions
# that tenreg.h declares with TENREG_API: no tenreg__ internals, no liburcu,
# and none of jemalloc's (the private copy must not interpose the host
# process's allocator). Nothing named malloc, free, ... is defined at all.
# Static libraries: every global symbol they define starts with tenreg_ but
# not with tenreg_je_ / tenreg_jep_ (the private jemalloc's API and internal
# prefixes, scripts/build-jemalloc.sh), and the public API is all there.
# jemalloc builds: the private copy really is inside (tenreg_je_mallocx is a
# local symbol of libtenreg.so), so the checks above are not vacuous.
cmake_minimum_required(VERSION 3.21)
string(REPLACE "|" ";" SHARED "${SHARED}")
string(REPLACE "|" ";" STATIC "${STATIC}")

file(READ "${HEADER}" _h)
string(REGEX MATCHALL "TENREG_API[^;(]*[ *](tenreg_[a-z0-9_]+)[ ]*\\(" _decls "${_h}")
set(_api "")
foreach(_d ${_decls})
  string(REGEX REPLACE ".*[ *](tenreg_[a-z0-9_]+)[ ]*\\($" "\\1" _name "${_d}")
  list(APPEND _api ${_name})
endforeach()
list(REMOVE_DUPLICATES _api)
list(SORT _api)
list(LENGTH _api _n_api)
if(_n_api LESS 20)
  message(FATAL_ERROR "parsed only ${_n_api} TENREG_API functions from ${HEADER}: ${_api}")
endif()
message(STATUS "tenreg.h declares ${_n_api} TENREG_API functions")

# nm output -> list of symbol names (3rd column).
function(nm_names out)
  execute_process(COMMAND ${NM} ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _o ERROR_VARIABLE _e)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${NM} ${ARGN} failed: ${_e}")
  endif()
  string(REPLACE "\n" ";" _lines "${_o}")
  set(_names "")
  foreach(_l ${_lines})
    if(_l MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ ]+)$")
      list(APPEND _names ${CMAKE_MATCH_1})
    endif()
  endforeach()
  set(${out} "${_names}" PARENT_SCOPE)
endfunction()

set(_failed 0)
foreach(_lib ${SHARED})
  nm_names(_exported -D --defined-only ${_lib})
  list(SORT _exported)
  set(_extra ${_exported})
  list(REMOVE_ITEM _extra ${_api})
  set(_missing ${_api})
  list(REMOVE_ITEM _missing ${_exported})
  if(_extra OR _missing)
    message(SEND_ERROR "${_lib}:\n  exported but not in tenreg.h: ${_extra}\n  in tenreg.h but not exported: ${_missing}")
    set(_failed 1)
  else()
    message(STATUS "ok: ${_lib} exports exactly the ${_n_api} functions of tenreg.h")
  endif()
  if(ALLOCATOR STREQUAL "jemalloc")
    execute_process(COMMAND ${NM} ${_lib} OUTPUT_VARIABLE _all ERROR_QUIET)
    if(NOT _all MATCHES "\n[0-9a-fA-F]+ t tenreg_je_mallocx\n")
      message(SEND_ERROR "${_lib}: no local tenreg_je_mallocx: the private jemalloc is not linked in")
      set(_failed 1)
    else()
      message(STATUS "ok: ${_lib} holds a private jemalloc (tenreg_je_mallocx is local)")
    endif()
    # Not even local: the private jemalloc is prefixed, so it cannot
    # interpose the process's allocator even by accident.
    if(_all MATCHES "\n[0-9a-fA-F]+ [TtWw] (malloc|free|calloc|realloc|mallocx|mallctl)\n")
      message(SEND_ERROR "${_lib}: defines ${CMAKE_MATCH_1}: an unprefixed allocator is linked in")
      set(_failed 1)
    endif()
  endif()
endforeach()

foreach(_lib ${STATIC})
  nm_names(_globals -g --defined-only ${_lib})
  set(_bad "")
  foreach(_s ${_globals})
    if(NOT _s MATCHES "^tenreg_" OR _s MATCHES "^tenreg_jep?_")
      list(APPEND _bad ${_s})
    endif()
  endforeach()
  set(_missing ${_api})
  if(_globals)
    list(REMOVE_ITEM _missing ${_globals})
  endif()
  if(_bad OR _missing)
    message(SEND_ERROR "${_lib}:\n  global symbols outside tenreg_: ${_bad}\n  API functions missing: ${_missing}")
    set(_failed 1)
  else()
    list(LENGTH _globals _n)
    message(STATUS "ok: ${_lib} defines ${_n} global symbols, all tenreg_*")
  endif()
endforeach()

if(_failed)
  message(FATAL_ERROR "export check failed")
endif()
