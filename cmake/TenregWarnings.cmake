# Warnings for tenreg's own targets (not for consumers).
add_library(tenreg_warnings INTERFACE)
target_compile_options(tenreg_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
                          -Wmissing-prototypes -Wformat=2 -Wcast-align -Wno-unused-parameter>)
if(TENREG_WERROR)
  target_compile_options(tenreg_warnings INTERFACE -Werror)
endif()
