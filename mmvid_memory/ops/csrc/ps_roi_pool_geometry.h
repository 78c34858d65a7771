// Bin geometry of position-sensitive RoI pooling, shared by the CPU and CUDA
// kernels (and the torch-free CUDA compile check): plain C++/CUDA, no torch.
//
// Every step is one correctly rounded operation, in the order of the
// pure-PyTorch implementation (mmvid_memory/ops/ps_roi_pool.py), so that the
// CPU kernel, the CUDA kernel and the fallback pick the same bins bit for bit.
// On the device the __fmul_rn/__fadd_rn intrinsics keep nvcc from fusing a
// multiply and an add into an FMA (which would move floor/ceil at integer
// boundaries); the host build uses -ffp-contract=off for the same reason.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#define MMVID_HOST_DEVICE __host__ __device__
#else
#define MMVID_HOST_DEVICE
#endif

namespace mmvid_memory {
namespace ps_roi_pool {

// R-FCN raises a roi's extent to at least this many feature-map cells.
constexpr double kMinRoiSize = 0.1;

inline MMVID_HOST_DEVICE float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

inline MMVID_HOST_DEVICE double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

inline MMVID_HOST_DEVICE float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

inline MMVID_HOST_DEVICE double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// C's round: halves away from zero (torch.round would round halves to even).
inline MMVID_HOST_DEVICE float round_half_away(float x) {
#if defined(__CUDA_ARCH__)
  return ::roundf(x);
#else
  return std::round(x);
#endif
}

inline MMVID_HOST_DEVICE double round_half_away(double x) {
#if defined(__CUDA_ARCH__)
  return ::round(x);
#else
  return std::round(x);
#endif
}

inline MMVID_HOST_DEVICE float floor_value(float x) {
#if defined(__CUDA_ARCH__)
  return ::floorf(x);
#else
  return std::floor(x);
#endif
}

inline MMVID_HOST_DEVICE double floor_value(double x) {
#if defined(__CUDA_ARCH__)
  return ::floor(x);
#else
  return std::floor(x);
#endif
}

inline MMVID_HOST_DEVICE float ceil_value(float x) {
#if defined(__CUDA_ARCH__)
  return ::ceilf(x);
#else
  return std::ceil(x);
#endif
}

inline MMVID_HOST_DEVICE double ceil_value(double x) {
#if defined(__CUDA_ARCH__)
  return ::ceil(x);
#else
  return std::ceil(x);
#endif
}

// Clamp in floating point first: casting a huge or negative coordinate to an
// integer before clamping would overflow.
template <typename T>
inline MMVID_HOST_DEVICE int64_t clamp_index(T value, int64_t size) {
  const T upper = static_cast<T>(size);
  return static_cast<int64_t>(value < T(0) ? T(0) : (value > upper ? upper : value));
}

// Edges [*lo, *hi) of bin `index` (of `bins`) along one axis of a roi whose
// image-space extent on that axis is [roi_start, roi_end]; both in [0, size].
// T is the arithmetic type: float for float/half/bfloat16 data, double for
// double data (at::opmath_type).
template <typename T>
inline MMVID_HOST_DEVICE void bin_edges(T roi_start, T roi_end, T spatial_scale, int64_t bins,
                                        int64_t index, int64_t size, int64_t* lo, int64_t* hi) {
  const T start = mul_rn(round_half_away(roi_start), spatial_scale);
  const T end = mul_rn(add_rn(round_half_away(roi_end), T(1)), spatial_scale);
  T length = add_rn(end, -start);
  const T min_length = static_cast<T>(kMinRoiSize);
  length = length < min_length ? min_length : length;
  const T bin_size = length / static_cast<T>(bins);
  const T first = floor_value(add_rn(mul_rn(static_cast<T>(index), bin_size), start));
  const T last = ceil_value(add_rn(mul_rn(static_cast<T>(index + 1), bin_size), start));
  *lo = clamp_index(first, size);
  *hi = clamp_index(last, size);
}

// Data value in the arithmetic type. The CUDA kernels see __half and
// __nv_bfloat16, whose implicit conversions torch's nvcc flags switch off.
template <typename acc_t, typename scalar_t>
inline MMVID_HOST_DEVICE acc_t to_acc_type(scalar_t value) {
  return static_cast<acc_t>(value);
}

#if defined(__CUDACC__)
template <>
inline MMVID_HOST_DEVICE float to_acc_type<float, __half>(__half value) {
  return __half2float(value);
}

template <>
inline MMVID_HOST_DEVICE float to_acc_type<float, __nv_bfloat16>(__nv_bfloat16 value) {
  return __bfloat162float(value);
}
#endif

// Sum of plane[h0:h1, w0:w1] (row-major, `width` columns), in acc_t. Each row
// has its own accumulator so that rows are summed in parallel by the
// processor; the CPU and CUDA kernels share this order of additions.
template <typename acc_t, typename scalar_t>
inline MMVID_HOST_DEVICE acc_t bin_sum(const scalar_t* plane, int64_t width, int64_t h0,
                                       int64_t h1, int64_t w0, int64_t w1) {
  acc_t sum = 0;
  for (int64_t h = h0; h < h1; ++h) {
    const scalar_t* row = plane + h * width;
    acc_t row_sum = 0;
    for (int64_t w = w0; w < w1; ++w) {
      row_sum += to_acc_type<acc_t>(row[w]);
    }
    sum += row_sum;
  }
  return sum;
}

}  // namespace ps_roi_pool
}  // namespace mmvid_memory
