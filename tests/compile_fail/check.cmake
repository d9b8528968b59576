# Compiles one file of tests/compile_fail with the project's compiler and checks the
# outcome its header announces: "// expect: success", or "// expect: <regex>" for a
# diagnostic that must stop the build. "// compilers: Clang" limits a case to a compiler.
# Variables: CXX, COMPILER_ID, SOURCE, INCLUDE.
file(STRINGS "${SOURCE}" header LIMIT_COUNT 6)
set(expect "")
set(compilers "")
foreach(line IN LISTS header)
  if(line MATCHES "^// expect: (.*)$")
    set(expect "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// compilers: (.*)$")
    set(compilers "${CMAKE_MATCH_1}")
  endif()
endforeach()
if(expect STREQUAL "")
  message(FATAL_ERROR "${SOURCE}: no '// expect:' line")
endif()
if(NOT compilers STREQUAL "" AND NOT compilers MATCHES "${COMPILER_ID}")
  message("skipped: this case is for ${compilers}, the compiler is ${COMPILER_ID}")
  return()
endif()
execute_process(
  COMMAND "${CXX}" -std=c++20 -fsyntax-only -Wall -Wextra -Werror "-I${INCLUDE}" "${SOURCE}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(expect STREQUAL "success")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SOURCE} should compile, but:\n${out}")
  endif()
elseif(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not (expected a diagnostic matching '${expect}')")
elseif(NOT out MATCHES "${expect}")
  message(FATAL_ERROR "${SOURCE} failed to compile, but not with a diagnostic matching '${expect}':\n${out}")
endif()
