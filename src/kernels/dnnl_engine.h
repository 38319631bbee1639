// Internal: the one oneDNN CPU engine shared by the fp32 and int8 backends. Only the *_dnnl.cc
// files include this.
#pragma once

#include <dnnl.hpp>

namespace kaldiq::kernels {

// Created on first use, never destroyed (primitives may outlive static destruction order).
dnnl::engine& DnnlEngine();

}  // namespace kaldiq::kernels
