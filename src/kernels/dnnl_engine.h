// Internal: the one oneDNN CPU engine shared by the fp32 and int8 backends. Only the *_dnnl.cc
// files include this.
#pragma once

#include <dnnl.hpp>

namespace kaldiq::kernels {

// Created on first use. Also turns off oneDNN's JIT-code profiling hooks (VTune/ITT), which
// were measured at several percent of an int8 forward pass on small layers, unless the user
// asked for them with DNNL_JIT_PROFILE.
dnnl::engine& DnnlEngine();

}  // namespace kaldiq::kernels
