// PSRoIPool CUDA kernels and their launchers, in plain CUDA (no torch headers),
// so that tools/check_cuda_compile.sh compiles exactly this code with nvcc on a
// machine whose torch is a CPU build. ps_roi_pool_cuda.cu is the torch glue.
//
// scalar_t is float, double, __half or __nv_bfloat16; arithmetic runs in
// AccType<scalar_t> (float for the 16-bit types), as in the CPU kernel, and
// the bins come from the shared bin_edges(), so CPU and CUDA agree.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "../ps_roi_pool_geometry.h"

namespace mmvid_memory {
namespace ps_roi_pool {
namespace cuda {

constexpr int kThreadsPerBlock = 256;
// Grid-stride loops cover any size; this only caps the number of blocks launched.
constexpr int64_t kMaxBlocks = 65535;

template <typename scalar_t>
struct AccType {
  using type = scalar_t;
};
template <>
struct AccType<__half> {
  using type = float;
};
template <>
struct AccType<__nv_bfloat16> {
  using type = float;
};

template <typename scalar_t, typename acc_t>
__device__ __forceinline__ scalar_t from_acc_type(acc_t value) {
  return static_cast<scalar_t>(value);
}
template <>
__device__ __forceinline__ __half from_acc_type<__half, float>(float value) {
  return __float2half_rn(value);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_acc_type<__nv_bfloat16, float>(float value) {
  return __float2bfloat16_rn(value);
}

// Edges of bin (i, j) of one roi, and the image it belongs to.
template <typename scalar_t, typename acc_t>
__device__ __forceinline__ void roi_bin(const scalar_t* roi, acc_t spatial_scale,
                                        int64_t pooled_height, int64_t pooled_width, int64_t i,
                                        int64_t j, int64_t height, int64_t width, int64_t* image,
                                        int64_t* h0, int64_t* h1, int64_t* w0, int64_t* w1) {
  *image = static_cast<int64_t>(to_acc_type<acc_t>(roi[0]));
  bin_edges<acc_t>(to_acc_type<acc_t>(roi[2]), to_acc_type<acc_t>(roi[4]), spatial_scale,
                   pooled_height, i, height, h0, h1);
  bin_edges<acc_t>(to_acc_type<acc_t>(roi[1]), to_acc_type<acc_t>(roi[3]), spatial_scale,
                   pooled_width, j, width, w0, w1);
}

// One thread per output element (k, c, i, j) of (K, C, kh, kw), grid-stride.
template <typename scalar_t>
__global__ void ps_roi_pool_forward_kernel(const scalar_t* __restrict__ input,
                                           const scalar_t* __restrict__ rois,
                                           scalar_t* __restrict__ output, int64_t num_rois,
                                           int64_t num_maps, int64_t pooled_height,
                                           int64_t pooled_width, int64_t height, int64_t width,
                                           typename AccType<scalar_t>::type spatial_scale) {
  using acc_t = typename AccType<scalar_t>::type;
  const int64_t total = num_rois * num_maps;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       index < total; index += stride) {
    // Within roi k, output (c, i, j) flattens to (c*kh + i)*kw + j: the input channel.
    const int64_t map = index % num_maps;
    const int64_t k = index / num_maps;
    const int64_t i = (map / pooled_width) % pooled_height;
    const int64_t j = map % pooled_width;
    int64_t image, h0, h1, w0, w1;
    roi_bin(rois + k * 5, spatial_scale, pooled_height, pooled_width, i, j, height, width,
            &image, &h0, &h1, &w0, &w1);
    acc_t value = 0;
    if (h1 > h0 && w1 > w0) {
      const scalar_t* plane = input + (image * num_maps + map) * height * width;
      value = bin_sum<acc_t>(plane, width, h0, h1, w0, w1) /
              static_cast<acc_t>((h1 - h0) * (w1 - w0));
    }
    output[index] = from_acc_type<scalar_t>(value);
  }
}

// One thread per output element; scatters grad/area over its bin with
// atomicAdd into grad_input (acc_t: float for the 16-bit types, whose caller
// rounds the float buffer once at the end).
template <typename scalar_t>
__global__ void ps_roi_pool_backward_kernel(const scalar_t* __restrict__ grad_output,
                                            const scalar_t* __restrict__ rois,
                                            typename AccType<scalar_t>::type* grad_input,
                                            int64_t num_rois, int64_t num_maps,
                                            int64_t pooled_height, int64_t pooled_width,
                                            int64_t height, int64_t width,
                                            typename AccType<scalar_t>::type spatial_scale) {
  using acc_t = typename AccType<scalar_t>::type;
  const int64_t total = num_rois * num_maps;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       index < total; index += stride) {
    const int64_t map = index % num_maps;
    const int64_t k = index / num_maps;
    const int64_t i = (map / pooled_width) % pooled_height;
    const int64_t j = map % pooled_width;
    int64_t image, h0, h1, w0, w1;
    roi_bin(rois + k * 5, spatial_scale, pooled_height, pooled_width, i, j, height, width,
            &image, &h0, &h1, &w0, &w1);
    if (h1 <= h0 || w1 <= w0) {
      continue;
    }
    const acc_t value =
        to_acc_type<acc_t>(grad_output[index]) / static_cast<acc_t>((h1 - h0) * (w1 - w0));
    acc_t* plane = grad_input + (image * num_maps + map) * height * width;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t w = w0; w < w1; ++w) {
        atomicAdd(plane + h * width + w, value);
      }
    }
  }
}

inline unsigned int num_blocks(int64_t total) {
  const int64_t blocks = (total + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned int>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// Launches the forward on `stream`; returns the launch status.
template <typename scalar_t>
cudaError_t launch_ps_roi_pool_forward(const scalar_t* input, const scalar_t* rois,
                                       scalar_t* output, int64_t num_rois, int64_t num_maps,
                                       int64_t pooled_height, int64_t pooled_width,
                                       int64_t height, int64_t width,
                                       typename AccType<scalar_t>::type spatial_scale,
                                       cudaStream_t stream) {
  const int64_t total = num_rois * num_maps;
  if (total == 0) {
    return cudaSuccess;
  }
  ps_roi_pool_forward_kernel<scalar_t><<<num_blocks(total), kThreadsPerBlock, 0, stream>>>(
      input, rois, output, num_rois, num_maps, pooled_height, pooled_width, height, width,
      spatial_scale);
  return cudaGetLastError();
}

// Launches the backward on `stream`; grad_input must be zero-filled.
template <typename scalar_t>
cudaError_t launch_ps_roi_pool_backward(const scalar_t* grad_output, const scalar_t* rois,
                                        typename AccType<scalar_t>::type* grad_input,
                                        int64_t num_rois, int64_t num_maps,
                                        int64_t pooled_height, int64_t pooled_width,
                                        int64_t height, int64_t width,
                                        typename AccType<scalar_t>::type spatial_scale,
                                        cudaStream_t stream) {
  const int64_t total = num_rois * num_maps;
  if (total == 0) {
    return cudaSuccess;
  }
  ps_roi_pool_backward_kernel<scalar_t><<<num_blocks(total), kThreadsPerBlock, 0, stream>>>(
      grad_output, rois, grad_input, num_rois, num_maps, pooled_height, pooled_width, height,
      width, spatial_scale);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace ps_roi_pool
}  // namespace mmvid_memory
