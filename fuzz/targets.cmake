# The fuzz targets: one line per target, kq_fuzz_target(<name> DEPS <libraries>) for the file
# targets/<name>.cc. Included by fuzz/CMakeLists.txt (libFuzzer executables, -DKQ_FUZZ=ON) and
# by tests/fuzz/CMakeLists.txt (the regression replay test of the normal build), which each
# define kq_fuzz_target.
kq_fuzz_target(feats DEPS kq_kaldi)
kq_fuzz_target(lattice DEPS kq_kaldi kq_lat)
kq_fuzz_target(nnet3 DEPS kq_kaldi)
kq_fuzz_target(trans_model DEPS kq_kaldi)
kq_fuzz_target(fst DEPS kq_decode)
kq_fuzz_target(int8_model DEPS kq_quant)
kq_fuzz_target(plan DEPS kq_quant)
kq_fuzz_target(wav DEPS kq_kaldi)
kq_fuzz_target(chain_egs DEPS kq_kaldi)
kq_fuzz_target(ivector DEPS kq_ivector kq_kaldi)
