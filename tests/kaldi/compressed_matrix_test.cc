#include "kaldi/compressed_matrix.h"
