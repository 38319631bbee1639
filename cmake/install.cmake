# Install rules: `cmake --install` puts in place
#   bin/kaldiq                                  the command
#   lib/libkq_*.a                               every library made with kq_library (static)
#   include/kaldiq/<area>/*.h                   the headers of src/, so `#include "nnet/graph.h"` works
#                                               with -I<prefix>/include/kaldiq
#   lib/cmake/kaldiq/kaldiqConfig.cmake (+ version, targets, Find modules)
#                                               find_package(kaldiq) -> kaldiq::kaldiq (all libraries)
#                                               and kaldiq::kq_<area> (one each)
#   lib/pkgconfig/kaldiq.pc                     pkg-config --cflags --libs kaldiq
# Included at the end of the top-level CMakeLists.txt, after every library exists. kq_library
# (cmake/warnings.cmake) registers each library in the global property KQ_LIBRARIES, so a new area
# needs nothing here (a kq_library made after include(install), e.g. a test helper under tests/, is
# not installed). The external libraries the static libraries need are listed twice below
# (kaldiqConfig.cmake.in's find_dependency calls and KQ_PC_EXTERNAL_LIBS): keep them in step with the
# DEPS of the kq_library calls.
include(CMakePackageConfigHelpers)

get_property(kq_libraries GLOBAL PROPERTY KQ_LIBRARIES)
set(kq_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/kaldiq)

# The umbrella target: kaldiq::kaldiq links every library (in the build tree too, as an alias).
add_library(kq_all INTERFACE)
set_target_properties(kq_all PROPERTIES EXPORT_NAME kaldiq)
target_link_libraries(kq_all INTERFACE ${kq_libraries})
add_library(kaldiq::kaldiq ALIAS kq_all)

if(KQ_SANITIZE)
  # Libraries built with ASan/UBSan need the sanitizer runtimes in whatever links them.
  foreach(lib IN LISTS kq_libraries)
    target_link_options(${lib} INTERFACE $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
  endforeach()
endif()

install(TARGETS kaldiq RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${kq_libraries} kq_all EXPORT kaldiqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kaldiq
        FILES_MATCHING PATTERN "*.h")

# --- CMake package ---
install(EXPORT kaldiqTargets NAMESPACE kaldiq:: DESTINATION ${kq_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kaldiqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/kaldiqConfig.cmake INSTALL_DESTINATION ${kq_cmake_dir})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kaldiqConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/kaldiqConfig.cmake
  ${PROJECT_BINARY_DIR}/kaldiqConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/FindOpenFst.cmake    # Debian's OpenFst ships no CMake config
  ${CMAKE_CURRENT_LIST_DIR}/FindOpenBLAS.cmake
  DESTINATION ${kq_cmake_dir})

# --- pkg-config ---
# Static libraries: the link line lists them dependents first (a topological order of their
# kq_library DEPS), then the external libraries they need.
set(kq_pc_order "")
function(kq_pc_visit lib)
  get_property(seen GLOBAL PROPERTY KQ_PC_SEEN_${lib})
  if(seen)
    return()
  endif()
  set_property(GLOBAL PROPERTY KQ_PC_SEEN_${lib} TRUE)
  get_target_property(deps ${lib} LINK_LIBRARIES)
  foreach(dep IN LISTS deps)
    if(dep IN_LIST kq_libraries)
      kq_pc_visit(${dep})
    endif()
  endforeach()
  set(kq_pc_order ${lib} ${kq_pc_order} PARENT_SCOPE)
endfunction()
foreach(lib IN LISTS kq_libraries)
  kq_pc_visit(${lib})
endforeach()
list(TRANSFORM kq_pc_order PREPEND -l)
list(JOIN kq_pc_order " " KQ_PC_LIBS)
set(KQ_PC_EXTERNAL_LIBS "-lfst -lopenblas -pthread")
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND KQ_PC_EXTERNAL_LIBS " -l${lib}")
endforeach()
set(KQ_PC_CFLAGS "")
if(KQ_WITH_DNNL)
  string(APPEND KQ_PC_EXTERNAL_LIBS " -ldnnl -fopenmp")
  set(KQ_PC_CFLAGS "-fopenmp")
endif()
if(KQ_SANITIZE)
  string(APPEND KQ_PC_EXTERNAL_LIBS " -fsanitize=address,undefined")
endif()
# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix works).
file(RELATIVE_PATH KQ_PC_PREFIX_FROM_PCDIR
  ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" KQ_PC_PREFIX_FROM_PCDIR "${KQ_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/kaldiq.pc.in ${PROJECT_BINARY_DIR}/kaldiq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/kaldiq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
