// Torch glue of the PSRoIPool CUDA kernels: checks, allocation, dtype dispatch,
// device guard and current stream. The kernels themselves are torch-free
// (ps_roi_pool_kernels.cuh) so that they compile in the nvcc check without a
// CUDA build of torch.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "cuda/ps_roi_pool_kernels.cuh"
#include "ps_roi_pool_checks.h"

namespace mmvid_memory {
namespace ps_roi_pool {
namespace {

// c10's 16-bit types have the same layout as CUDA's, which the kernels use.
template <typename scalar_t>
struct CudaType {
  using type = scalar_t;
};
template <>
struct CudaType<at::Half> {
  using type = __half;
};
template <>
struct CudaType<at::BFloat16> {
  using type = __nv_bfloat16;
};

template <typename scalar_t>
const typename CudaType<scalar_t>::type* cuda_data(const at::Tensor& tensor) {
  return reinterpret_cast<const typename CudaType<scalar_t>::type*>(
      tensor.const_data_ptr<scalar_t>());
}

void check_launch(cudaError_t status, const char* what) {
  TORCH_CHECK(status == cudaSuccess, "ps_roi_pool: launching the CUDA ", what,
              " kernel failed: ", cudaGetErrorString(status));
}

at::Tensor ps_roi_pool_forward_cuda(const at::Tensor& input, const at::Tensor& rois,
                                    int64_t pooled_height, int64_t pooled_width,
                                    double spatial_scale) {
  check_forward_inputs(input, rois, pooled_height, pooled_width, spatial_scale);
  TORCH_CHECK_VALUE(input.is_cuda(), "ps_roi_pool: the CUDA kernel got input on ",
                    input.device());
  const c10::cuda::CUDAGuard device_guard(input.device());
  check_roi_values(rois, input.size(0));
  const at::Tensor input_contiguous = input.contiguous();
  const at::Tensor rois_contiguous = rois.contiguous();
  const int64_t num_rois = rois.size(0);
  const int64_t num_maps = input.size(1);
  at::Tensor output = at::empty(
      {num_rois, num_maps / (pooled_height * pooled_width), pooled_height, pooled_width},
      input.options());
  if (output.numel() == 0) {
    return output;
  }
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, input.scalar_type(), "ps_roi_pool_forward_cuda", [&] {
        using cuda_t = typename CudaType<scalar_t>::type;
        using acc_t = typename cuda::AccType<cuda_t>::type;
        const cudaError_t status = cuda::launch_ps_roi_pool_forward<cuda_t>(
            cuda_data<scalar_t>(input_contiguous), cuda_data<scalar_t>(rois_contiguous),
            reinterpret_cast<cuda_t*>(output.mutable_data_ptr<scalar_t>()), num_rois, num_maps,
            pooled_height, pooled_width, input.size(2), input.size(3),
            static_cast<acc_t>(spatial_scale), stream);
        check_launch(status, "forward");
      });
  return output;
}

at::Tensor ps_roi_pool_backward_cuda(const at::Tensor& grad_output, const at::Tensor& rois,
                                     int64_t pooled_height, int64_t pooled_width,
                                     double spatial_scale, int64_t batch_size, int64_t num_maps,
                                     int64_t height, int64_t width) {
  check_backward_inputs(grad_output, rois, pooled_height, pooled_width, spatial_scale,
                        batch_size, num_maps, height, width);
  TORCH_CHECK_VALUE(grad_output.is_cuda(),
                    "ps_roi_pool_backward: the CUDA kernel got grad_output on ",
                    grad_output.device());
  const c10::cuda::CUDAGuard device_guard(grad_output.device());
  check_roi_values(rois, batch_size);
  const at::Tensor grad_contiguous = grad_output.contiguous();
  const at::Tensor rois_contiguous = rois.contiguous();
  const at::ScalarType dtype = grad_output.scalar_type();
  // 16-bit gradients accumulate in a float buffer (atomicAdd in half would
  // round at every addition), rounded once at the end as on the CPU.
  const bool accumulate_in_float = dtype == at::kHalf || dtype == at::kBFloat16;
  at::Tensor grad_input =
      at::zeros({batch_size, num_maps, height, width},
                grad_output.options().dtype(accumulate_in_float ? at::kFloat : dtype));
  if (grad_output.numel() == 0 || grad_input.numel() == 0) {
    return grad_input.to(dtype);
  }
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, dtype, "ps_roi_pool_backward_cuda", [&] {
        using cuda_t = typename CudaType<scalar_t>::type;
        using acc_t = typename cuda::AccType<cuda_t>::type;
        const cudaError_t status = cuda::launch_ps_roi_pool_backward<cuda_t>(
            cuda_data<scalar_t>(grad_contiguous), cuda_data<scalar_t>(rois_contiguous),
            grad_input.mutable_data_ptr<acc_t>(), rois.size(0), num_maps, pooled_height,
            pooled_width, height, width, static_cast<acc_t>(spatial_scale), stream);
        check_launch(status, "backward");
      });
  return grad_input.to(dtype);
}

}  // namespace
}  // namespace ps_roi_pool
}  // namespace mmvid_memory

TORCH_LIBRARY_IMPL(mmvid_memory, CUDA, m) {
  m.impl("ps_roi_pool", &mmvid_memory::ps_roi_pool::ps_roi_pool_forward_cuda);
  m.impl("ps_roi_pool_backward", &mmvid_memory::ps_roi_pool::ps_roi_pool_backward_cuda);
}
