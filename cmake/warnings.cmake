# kq_set_warnings(target): the project's warning flags; -Werror when KQ_WERROR is on (CI).
function(kq_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(KQ_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# kq_library(name SOURCES ... DEPS ...): a static library of one area, with src/ on the include path.
function(kq_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  kq_set_warnings(${name})
endfunction()
