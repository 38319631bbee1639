# kq_set_warnings(target): the project's warning flags; -Werror when KQ_WERROR is on (CI).
function(kq_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(KQ_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# kq_library(name SOURCES ... DEPS ...): a static library of one area, with src/ on the include path
# (include/kaldiq once installed). Registered in KQ_LIBRARIES, which cmake/install.cmake installs
# and links into kaldiq::kaldiq.
function(kq_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/kaldiq>)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  kq_set_warnings(${name})
  set_property(GLOBAL APPEND PROPERTY KQ_LIBRARIES ${name})
endfunction()
