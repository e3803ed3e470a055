# Static libtenreg.a: the library's objects and the jemalloc objects they use
# (tenreg's private build, cmake/TenregJemalloc.cmake) are linked into one
# relocatable object in which only tenreg_* symbols stay global, so a static
# consumer keeps its own malloc too. jemalloc's own tenreg_je_* (API) and
# tenreg_jep_* (internal) names are made local as well ('!' patterns first:
# objcopy takes the first pattern that matches).
function(tenreg_add_static name urcu_target)
  set(static ${name}_static)
  if(TENREG_ALLOCATOR STREQUAL "jemalloc")
    set(combined ${CMAKE_CURRENT_BINARY_DIR}/${name}_combined.o)
    add_custom_command(OUTPUT ${combined}
      COMMAND ${CMAKE_LINKER} -r -o ${combined}.tmp $<TARGET_OBJECTS:${name}_objects>
              ${JEMALLOC_PIC_ARCHIVE}
      COMMAND ${CMAKE_OBJCOPY} --wildcard --keep-global-symbol=!tenreg_je_*
              --keep-global-symbol=!tenreg_jep_* --keep-global-symbol=tenreg_*
              ${combined}.tmp ${combined}
      DEPENDS ${name}_objects $<TARGET_OBJECTS:${name}_objects> ${JEMALLOC_PIC_ARCHIVE}
      COMMAND_EXPAND_LISTS VERBATIM
      COMMENT "Linking ${name} objects with a private copy of jemalloc")
    add_library(${static} STATIC ${combined})
    set_source_files_properties(${combined} PROPERTIES EXTERNAL_OBJECT ON GENERATED ON)
    set_target_properties(${static} PROPERTIES LINKER_LANGUAGE C)
  else()
    add_library(${static} STATIC $<TARGET_OBJECTS:${name}_objects>)
  endif()
  target_include_directories(${static} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_definitions(${static} INTERFACE TENREG_STATIC)
  target_link_libraries(${static} PUBLIC ${urcu_target} Threads::Threads ${CMAKE_DL_LIBS} m)
  set_target_properties(${static} PROPERTIES OUTPUT_NAME ${name} EXPORT_NAME ${name}_static)
  add_library(tenreg::${name}_static ALIAS ${static})
endfunction()
