# Finds Debian's libfst-dev (OpenFst 1.7.9), which ships neither a CMake config nor a .pc file.
find_path(OpenFst_INCLUDE_DIR fst/fstlib.h)
find_library(OpenFst_LIBRARY fst)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenFst DEFAULT_MSG OpenFst_INCLUDE_DIR OpenFst_LIBRARY)
if(OpenFst_FOUND AND NOT TARGET OpenFst::fst)
  add_library(OpenFst::fst UNKNOWN IMPORTED)
  # SYSTEM: OpenFst's headers are not -Wextra clean; their warnings are not ours to fix.
  set_target_properties(OpenFst::fst PROPERTIES
    IMPORTED_LOCATION "${OpenFst_LIBRARY}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${OpenFst_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
endif()
