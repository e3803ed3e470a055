# The registry's own memory comes from jemalloc, through src/alloc.c only.
#
# Not Debian's libjemalloc: it is unprefixed (linking libjemalloc.so would
# replace the host process's malloc) and built with initial-exec TLS (a
# library that contains it cannot be dlopen()ed: "cannot allocate memory in
# static TLS block"). tenreg builds its own static PIC jemalloc from Debian's
# source package, once, into a cache that every build dir shares:
# scripts/build-jemalloc.sh, run here at configure time (it returns at once
# when the cache is up to date). That jemalloc has dynamic TLS, every symbol
# prefixed tenreg_je_ (tenreg_je_mallocx, ...; no malloc/free at all) and
# hidden; it is linked into libtenreg.so (and, see cmake/TenregStatic.cmake,
# into libtenreg.a) and the process keeps its malloc.
# Sanitizer builds use libc malloc instead, so ASan/TSan see every access.
set(TENREG_ALLOCATOR "jemalloc" CACHE STRING "Allocator for registry memory: jemalloc or libc")
if(TENREG_SANITIZE)
  set(TENREG_ALLOCATOR "libc" CACHE STRING "" FORCE)
endif()
if(TENREG_ALLOCATOR STREQUAL "jemalloc")
  set(TENREG_JEMALLOC_VERSION 5.3.0)  # upstream version of Debian bookworm's jemalloc
  set(TENREG_DEPS_DIR "${PROJECT_SOURCE_DIR}/build/deps" CACHE PATH
      "Cache of built dependencies (the private jemalloc), shared by build dirs")
  set(_je_script ${PROJECT_SOURCE_DIR}/scripts/build-jemalloc.sh)
  find_program(TENREG_BASH bash)
  if(NOT TENREG_BASH)
    message(FATAL_ERROR "bash is needed to build tenreg's private jemalloc (${_je_script})")
  endif()
  message(STATUS "tenreg: private jemalloc ${TENREG_JEMALLOC_VERSION} in ${TENREG_DEPS_DIR} (scripts/build-jemalloc.sh)")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env CC=${CMAKE_C_COMPILER}
            ${TENREG_BASH} ${_je_script} ${TENREG_DEPS_DIR} ${TENREG_JEMALLOC_VERSION}
    RESULT_VARIABLE _je_rc)
  set(_je_root ${TENREG_DEPS_DIR}/jemalloc-${TENREG_JEMALLOC_VERSION})
  if(NOT _je_rc EQUAL 0 OR NOT EXISTS ${_je_root}/lib/libjemalloc_pic.a)
    message(FATAL_ERROR
      "tenreg: could not build its private jemalloc (scripts/build-jemalloc.sh "
      "${TENREG_DEPS_DIR} ${TENREG_JEMALLOC_VERSION} exited with '${_je_rc}'; "
      "its message is above). On Debian, run scripts/install-deps.sh as root "
      "first (it installs dpkg-dev and adds the deb-src entry that "
      "`apt-get source jemalloc` needs), or configure with "
      "-DTENREG_ALLOCATOR=libc to build without jemalloc.")
  endif()
  set(JEMALLOC_INCLUDE_DIR ${_je_root}/include)
  set(JEMALLOC_PIC_ARCHIVE ${_je_root}/lib/libjemalloc_pic.a)
  # Reconfigure when the script changes (new options: a new build).
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_je_script})
elseif(NOT TENREG_ALLOCATOR STREQUAL "libc")
  message(FATAL_ERROR "TENREG_ALLOCATOR must be jemalloc or libc")
endif()
