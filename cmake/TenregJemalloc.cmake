# The registry's own memory comes from jemalloc, through src/alloc.c only.
# Debian's jemalloc is unprefixed: linking libjemalloc.so would replace the
# host process's malloc. So the PIC archive is linked into libtenreg.so with
# its symbols hidden (--exclude-libs), and the process keeps its malloc.
# Sanitizer builds use libc malloc instead, so ASan/TSan see every access.
set(TENREG_ALLOCATOR "jemalloc" CACHE STRING "Allocator for registry memory: jemalloc or libc")
if(TENREG_SANITIZE)
  set(TENREG_ALLOCATOR "libc" CACHE STRING "" FORCE)
endif()
if(TENREG_ALLOCATOR STREQUAL "jemalloc")
  find_path(JEMALLOC_INCLUDE_DIR jemalloc/jemalloc.h REQUIRED)
  find_library(JEMALLOC_PIC_ARCHIVE NAMES libjemalloc_pic.a REQUIRED)
elseif(NOT TENREG_ALLOCATOR STREQUAL "libc")
  message(FATAL_ERROR "TENREG_ALLOCATOR must be jemalloc or libc")
endif()
