# End-to-end tests: every tests/api/test_*.py runs against a real `mira serve`
# it starts itself (see tests/api/mira_harness.py).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
file(GLOB MIRA_API_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/api/test_*.py)
foreach(src ${MIRA_API_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME api/${name} COMMAND ${Python3_EXECUTABLE} ${src})
  set_tests_properties(api/${name} PROPERTIES TIMEOUT 300
    ENVIRONMENT "MIRA_BIN=$<TARGET_FILE:mira>;MIRA_SRC=${CMAKE_CURRENT_SOURCE_DIR};LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tests/lsan.supp")
endforeach()
