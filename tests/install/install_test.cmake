# cmake -P script behind tests/install (variables from tests/install/CMakeLists.txt):
#   MODE=install       fresh `cmake --install BUILD_DIR --prefix PREFIX`; the command, a library,
#                      headers, kaldiqConfig.cmake and kaldiq.pc must be in place
#   MODE=find_package  configures and builds examples/nnet_forward with -DCMAKE_PREFIX_PATH=PREFIX
#                      (and checks that it found this kaldiq), then runs it
#   MODE=pkg_config    compiles examples/nnet_forward/main.cc with `pkg-config --cflags --libs kaldiq`
#                      from PREFIX (version must be VERSION), then runs it
#   MODE=stream_wav    configures and builds examples/stream_wav with -DCMAKE_PREFIX_PATH=PREFIX
#                      (checks that it found this kaldiq); without arguments it must print its usage
#                      and exit 2; when SHARED_DIR has the audio fixture, it recognises one WAV with
#                      a model directory made here (testdata/tdnn-seed's final.mdl and graph-tiny,
#                      the fixture's MFCC / CMVN configs) and must print a final line
# A run: nnet_forward on testdata/tdnn-seed (first 20 frames of 2 utterances); its input dim, context
# and output dim must equal what the installed `kaldiq info` prints for the model, and each of the 2
# utterances must give 20 rows of that output dim.
cmake_minimum_required(VERSION 3.20)

function(run)   # run(<cmd>...): runs it, fails the test with its output if it fails
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
endfunction()

set(flags -Wall -Wextra)
if(WERROR)
  list(APPEND flags -Werror)
endif()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
  foreach(f bin/kaldiq ${LIBDIR}/libkq_nnet.a include/kaldiq/nnet/graph.h include/kaldiq/core/matrix.h
            ${LIBDIR}/cmake/kaldiq/kaldiqConfig.cmake ${LIBDIR}/cmake/kaldiq/kaldiqConfigVersion.cmake
            ${LIBDIR}/pkgconfig/kaldiq.pc)
    if(NOT EXISTS ${PREFIX}/${f})
      message(FATAL_ERROR "cmake --install did not install ${f}")
    endif()
  endforeach()
  return()
endif()

file(REMOVE_RECURSE ${WORK})
set(example ${SOURCE_DIR}/examples/nnet_forward)
if(MODE STREQUAL "stream_wav")
  set(example ${SOURCE_DIR}/examples/stream_wav)
endif()
if(MODE STREQUAL "find_package" OR MODE STREQUAL "stream_wav")
  list(JOIN flags " " flags)
  set(configure ${CMAKE_COMMAND} -S ${example} -B ${WORK} -G ${GENERATOR}
      -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX}
      "-DCMAKE_CXX_FLAGS=${flags}")
  if(LAUNCHER)
    list(APPEND configure -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
  endif()
  run(${configure})
  file(STRINGS ${WORK}/CMakeCache.txt found REGEX "^kaldiq_DIR:")
  if(NOT found STREQUAL "kaldiq_DIR:PATH=${PREFIX}/${LIBDIR}/cmake/kaldiq")
    message(FATAL_ERROR "the example found another kaldiq: ${found}")
  endif()
  run(${CMAKE_COMMAND} --build ${WORK})
elseif(MODE STREQUAL "pkg_config")
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/${LIBDIR}/pkgconfig)
  execute_process(COMMAND ${PKG_CONFIG} --modversion kaldiq OUTPUT_VARIABLE version
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT version STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config --modversion kaldiq: '${version}', expected '${VERSION}'")
  endif()
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs kaldiq OUTPUT_VARIABLE pc
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  separate_arguments(pc UNIX_COMMAND "${pc}")
  file(MAKE_DIRECTORY ${WORK})
  run(${LAUNCHER} ${CXX} -std=c++17 -O1 ${flags} ${example}/main.cc -o ${WORK}/nnet_forward ${pc})
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

if(MODE STREQUAL "stream_wav")
  execute_process(COMMAND ${WORK}/stream_wav RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "usage: ")
    message(FATAL_ERROR "stream_wav without arguments: exit ${rc}, expected 2 with its usage:\n${out}${err}")
  endif()
  set(audio ${SHARED_DIR}/fixtures/audio)
  if(NOT EXISTS ${audio}/wav/en029-f1-de00020.wav)
    message(STATUS "no ${audio}: stream_wav built, not run on audio")
    return()
  endif()
  set(dir ${WORK}/model)
  file(MAKE_DIRECTORY ${dir}/conf)
  file(CREATE_LINK ${SOURCE_DIR}/testdata/tdnn-seed/final.mdl ${dir}/final.mdl SYMBOLIC)
  file(CREATE_LINK ${SOURCE_DIR}/testdata/tdnn-seed/graph-tiny ${dir}/graph SYMBOLIC)
  file(WRITE ${dir}/frame_subsampling_factor "3\n")
  file(WRITE ${dir}/conf/online.conf "--feature-type=mfcc\n--mfcc-config=${audio}/conf/mfcc_hires.conf\n"
       "--cmvn-config=${audio}/conf/online_cmvn.conf\n--global-cmvn-stats=${audio}/extractor/global_cmvn.stats\n")
  execute_process(COMMAND ${WORK}/stream_wav ${dir} ${audio}/wav/en029-f1-de00020.wav
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "(^|\n)final: ")
    message(FATAL_ERROR "stream_wav on a fixture WAV: exit ${rc}, no final line:\n${out}${err}")
  endif()
  message(STATUS "stream_wav printed:\n${out}")
  return()
endif()

# --- run it and check against the installed kaldiq ---
set(model ${SOURCE_DIR}/testdata/tdnn-seed/final.mdl)
execute_process(COMMAND ${WORK}/nnet_forward ${model} ark:${SOURCE_DIR}/testdata/tdnn-seed/dev60/feats.ark 20 2
                OUTPUT_VARIABLE got RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nnet_forward failed (${rc}):\n${got}${err}")
endif()
message(STATUS "nnet_forward printed:\n${got}")
execute_process(COMMAND ${PREFIX}/bin/kaldiq info ${model} OUTPUT_VARIABLE info
                COMMAND_ERROR_IS_FATAL ANY)
function(field text regex var)   # first capture group of `regex` in `text`, or a test failure
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "no '${regex}' in:\n${text}")
  endif()
  set(${var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()
field("${info}" "input-dim: ([0-9]+)" in_dim)
field("${info}" "\nleft-context: ([0-9]+)" left)
field("${info}" "\nright-context: ([0-9]+)" right)
field("${info}" "output-node name=output [^\n]* dim=([0-9]+)" out_dim)
foreach(check "input-dim: ${in_dim}\n" "output-dim: ${out_dim}\n" "left-context: ${left}\n"
              "right-context: ${right}\n")
  string(FIND "${got}" "${check}" at)
  if(at LESS 0)
    message(FATAL_ERROR "nnet_forward disagrees with kaldiq info: no '${check}' in its output")
  endif()
endforeach()
string(REGEX MATCHALL "[^\n]*: 20 x ${in_dim} -> 20 x ${out_dim}, argmax of frame 0: [0-9]+" utts "${got}")
list(LENGTH utts n)
if(NOT n EQUAL 2)
  message(FATAL_ERROR "expected 2 utterances of 20 x ${in_dim} -> 20 x ${out_dim}, got ${n}")
endif()
