#ifndef SRGNN_CBLAS_SHIM_H
#define SRGNN_CBLAS_SHIM_H
// OpenBLAS through pkg-config on Linux; on Apple platforms TensorCore uses Accelerate instead.
#include <cblas.h>
// OpenBLAS-specific thread control (declared in openblas_config.h / cblas.h of OpenBLAS).
#endif
