# paymux_add_library(NAME DIR ...deps): one library per folder. Sources are the folder's *.cc
# files except *_test.cc and *_main.cc; unit tests (*_test.cc) become one test binary labelled unit
# (part of sanitizer_suite: the sanitizer build runs every unit test).
function(paymux_add_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC;PRIVATE;TEST_DEPS" ${ARGN})
  file(GLOB _all CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(_srcs)
  set(_tests)
  foreach(f ${_all})
    if(f MATCHES "_test\\.cc$")
      list(APPEND _tests ${f})
    elseif(NOT f MATCHES "_main\\.cc$")
      list(APPEND _srcs ${f})
    endif()
  endforeach()
  add_library(paymux_${name} STATIC ${_srcs})
  add_library(paymux::${name} ALIAS paymux_${name})
  target_include_directories(paymux_${name} PUBLIC ${PAYMUX_SOURCE_DIR})
  target_link_libraries(paymux_${name} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE} paymux_warnings)
  if(BUILD_TESTING AND _tests)
    add_executable(${name}_unit_tests ${_tests})
    target_link_libraries(${name}_unit_tests PRIVATE paymux_${name} ${ARG_TEST_DEPS} GTest::gtest_main
      paymux_warnings)
    gtest_discover_tests(${name}_unit_tests PROPERTIES LABELS unit
      ENVIRONMENT "PAYMUX_SOURCE_DIR=${PAYMUX_SOURCE_DIR}" DISCOVERY_TIMEOUT 30)
    add_dependencies(sanitizer_suite ${name}_unit_tests)
  endif()
endfunction()
include(GoogleTest)
