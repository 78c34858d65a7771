// Input checks of the PSRoIPool kernels (CPU and CUDA). The messages match the
// Python checks in mmvid_memory/ops/ps_roi_pool.py word for word, so a caller
// sees the same error from the compiled op, the fake op and the fallback.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

namespace mmvid_memory {
namespace ps_roi_pool {

// torch.float32-style names ("float32"), as Python prints them without "torch.".
inline std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}

inline void check_pool_args(int64_t pooled_height, int64_t pooled_width, double spatial_scale) {
  TORCH_CHECK_VALUE(pooled_height > 0 && pooled_width > 0,
                    "ps_roi_pool: output_size must be positive, got (", pooled_height, ", ",
                    pooled_width, ")");
  TORCH_CHECK_VALUE(spatial_scale > 0 && std::isfinite(spatial_scale),
                    "ps_roi_pool: spatial_scale must be positive and finite, got ", spatial_scale);
}

inline void check_rois(const at::Tensor& rois) {
  TORCH_CHECK_VALUE(rois.dim() == 2 && rois.size(1) == 5,
                    "ps_roi_pool: rois must have shape (K, 5) with rows "
                    "[batch_index, x1, y1, x2, y2], got shape ",
                    rois.sizes());
}

inline void check_same_device(const at::Tensor& input, const at::Tensor& rois) {
  TORCH_CHECK_VALUE(input.device() == rois.device(),
                    "ps_roi_pool: input and rois must be on the same device, got input on ",
                    input.device(), " and rois on ", rois.device());
}

// Shape, dtype and device checks of the forward op.
inline void check_forward_inputs(const at::Tensor& input, const at::Tensor& rois,
                                 int64_t pooled_height, int64_t pooled_width,
                                 double spatial_scale) {
  check_pool_args(pooled_height, pooled_width, spatial_scale);
  TORCH_CHECK_VALUE(input.dim() == 4,
                    "ps_roi_pool: input must be a 4-D tensor (N, C*kh*kw, H, W), got shape ",
                    input.sizes());
  check_rois(rois);
  const int64_t bins = pooled_height * pooled_width;
  TORCH_CHECK_VALUE(input.size(1) % bins == 0, "ps_roi_pool: input has ", input.size(1),
                    " channels, not divisible by kh*kw = ", pooled_height, "*", pooled_width,
                    " = ", bins);
  TORCH_CHECK_TYPE(at::isFloatingType(input.scalar_type()),
                   "ps_roi_pool: input must be a floating-point tensor, got ",
                   dtype_name(input.scalar_type()));
  TORCH_CHECK_TYPE(rois.scalar_type() == input.scalar_type(),
                   "ps_roi_pool: input and rois must have the same dtype, got input ",
                   dtype_name(input.scalar_type()), " and rois ", dtype_name(rois.scalar_type()));
  check_same_device(input, rois);
}

// Checks of the backward op: grad_output must be (K, C, kh, kw) for an input
// of (batch_size, num_maps, height, width).
inline void check_backward_inputs(const at::Tensor& grad_output, const at::Tensor& rois,
                                  int64_t pooled_height, int64_t pooled_width,
                                  double spatial_scale, int64_t batch_size, int64_t num_maps,
                                  int64_t height, int64_t width) {
  check_pool_args(pooled_height, pooled_width, spatial_scale);
  check_rois(rois);
  const int64_t bins = pooled_height * pooled_width;
  TORCH_CHECK_VALUE(batch_size >= 0 && num_maps >= 0 && height >= 0 && width >= 0 &&
                        num_maps % bins == 0,
                    "ps_roi_pool_backward: input shape (", batch_size, ", ", num_maps, ", ",
                    height, ", ", width, ") must be non-negative with channels divisible by "
                    "kh*kw = ", bins);
  const std::vector<int64_t> expected = {rois.size(0), num_maps / bins, pooled_height,
                                         pooled_width};
  TORCH_CHECK_VALUE(grad_output.sizes() == at::IntArrayRef(expected),
                    "ps_roi_pool_backward: grad_output must have shape ", at::IntArrayRef(expected),
                    " (K, C, kh, kw), got ", grad_output.sizes());
  TORCH_CHECK_TYPE(at::isFloatingType(grad_output.scalar_type()) &&
                       rois.scalar_type() == grad_output.scalar_type(),
                   "ps_roi_pool_backward: grad_output and rois must have the same floating-point "
                   "dtype, got grad_output ",
                   dtype_name(grad_output.scalar_type()), " and rois ",
                   dtype_name(rois.scalar_type()));
  TORCH_CHECK_VALUE(grad_output.device() == rois.device(),
                    "ps_roi_pool_backward: grad_output and rois must be on the same device, "
                    "got grad_output on ",
                    grad_output.device(), " and rois on ", rois.device());
}

// Data checks of contiguous CPU rois: finite rows and a batch index in [0, N)
// (the kernels truncate it to an integer, like C's int cast).
template <typename scalar_t>
void check_roi_values(const scalar_t* rois, int64_t num_rois, int64_t batch_size) {
  for (int64_t k = 0; k < num_rois; ++k) {
    const scalar_t* roi = rois + k * 5;
    for (int64_t v = 0; v < 5; ++v) {
      TORCH_CHECK_VALUE(std::isfinite(static_cast<double>(roi[v])), "ps_roi_pool: rois[", k,
                        "] has a non-finite value");
    }
    const double batch_index = static_cast<double>(roi[0]);
    TORCH_CHECK_VALUE(batch_index >= 0 && batch_index < static_cast<double>(batch_size),
                      "ps_roi_pool: rois[", k, "] has batch index ", batch_index,
                      ", outside [0, N) for input with N = ", batch_size, " images");
  }
}

// The same checks for rois of any floating dtype on any device.
inline void check_roi_values(const at::Tensor& rois, int64_t batch_size) {
  if (rois.size(0) == 0) {
    return;
  }
  if (!rois.is_cpu()) {
    // One reduction and one host sync on the fast path; the message comes from the CPU copy.
    const at::Tensor batch_index = rois.select(1, 0);
    const at::Tensor in_range = batch_index.ge(0).logical_and(batch_index.lt(batch_size));
    const at::Tensor bad =
        at::logical_not(in_range).logical_or(at::logical_not(at::isfinite(rois).all(1)));
    if (bad.any().item<bool>()) {
      check_roi_values(rois.cpu(), batch_size);
    }
    return;
  }
  const at::Tensor contiguous = rois.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, contiguous.scalar_type(),
                                  "ps_roi_pool_check_rois", [&] {
                                    check_roi_values(contiguous.data_ptr<scalar_t>(),
                                                     contiguous.size(0), batch_size);
                                  });
}

}  // namespace ps_roi_pool
}  // namespace mmvid_memory
