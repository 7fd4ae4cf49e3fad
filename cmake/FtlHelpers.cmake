# Small wrappers so every component declares its targets the same way.

# Flags for all ftl code: errors are values, so no exceptions.
set(FTL_CXX_FLAGS -Wall -Wextra -Wno-unused-parameter -fno-exceptions)

# ftl_add_library(<name> SOURCES <src...> [LINK <libs...>] [INCLUDE <dirs...>])
function(ftl_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK;INCLUDE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FTL_CXX_FLAGS})
  target_include_directories(${name} PUBLIC ${ARG_INCLUDE})
  target_link_libraries(${name} PUBLIC ${ARG_LINK})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# ftl_add_unittest(<name> SOURCES <src...> LINK <libs...>)
# A GoogleTest binary, registered with CTest as unit/<name>.
function(ftl_add_unittest name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FTL_CXX_FLAGS})
  target_link_libraries(${name} PRIVATE ${ARG_LINK} GTest::gtest_main
                        Threads::Threads)
  target_compile_definitions(${name} PRIVATE
    FTL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES
    ENVIRONMENT "FTL_SOURCE_DIR=${PROJECT_SOURCE_DIR}" TIMEOUT 600)
  set_property(GLOBAL APPEND PROPERTY FTL_UNITTESTS ${name})
endfunction()

# ftl_add_tool(<name> SOURCES <src...> LINK <libs...>)
function(ftl_add_tool name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FTL_CXX_FLAGS})
  target_link_libraries(${name} PRIVATE ${ARG_LINK})
endfunction()

# ftl_add_benchmark(<name> SOURCES <src...> LINK <libs...>)
function(ftl_add_benchmark name)
  if(NOT FTL_ENABLE_BENCH)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FTL_CXX_FLAGS})
  target_link_libraries(${name} PRIVATE ${ARG_LINK} benchmark::benchmark)
  target_compile_definitions(${name} PRIVATE
    FTL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL ON)
  set_property(GLOBAL APPEND PROPERTY FTL_BENCHMARKS ${name})
endfunction()
