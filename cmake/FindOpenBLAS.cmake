# Finds OpenBLAS (Debian's libopenblas-dev) and defines OpenBLAS::OpenBLAS, linked directly rather
# than through the libblas.so alternative so that the fp32 backend is known. Used by the build and,
# installed next to kaldiqConfig.cmake, by find_package(kaldiq). Debian's own OpenBLASConfig.cmake
# sits under the openblas-pthread alternative and defines no target, so this module is used instead.
# Sets OpenBLAS_LIBRARY and CBLAS_INCLUDE_DIR.
find_library(OpenBLAS_LIBRARY NAMES openblas)
find_path(CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES x86_64-linux-gnu openblas)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenBLAS DEFAULT_MSG OpenBLAS_LIBRARY CBLAS_INCLUDE_DIR)
if(OpenBLAS_FOUND AND NOT TARGET OpenBLAS::OpenBLAS)
  add_library(OpenBLAS::OpenBLAS UNKNOWN IMPORTED)
  set_target_properties(OpenBLAS::OpenBLAS PROPERTIES
    IMPORTED_LOCATION "${OpenBLAS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CBLAS_INCLUDE_DIR}")
endif()
