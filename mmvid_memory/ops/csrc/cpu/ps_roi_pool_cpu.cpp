// PSRoIPool CPU kernels (float32, float64; float16/bfloat16 accumulate in float).
//
// Forward: at::parallel_for over output elements; output element (k, c, i, j)
// averages input channel (c*kh + i)*kw + j of roi k's image over bin (i, j).
// Backward: at::parallel_for over input planes (image n, channel m). A plane is
// written only by the bin (i, j) that channel m belongs to, for every roi of
// image n, so each thread owns whole planes and no two threads write the same
// element; the result is deterministic.
#include <algorithm>
#include <type_traits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "ps_roi_pool_checks.h"
#include "ps_roi_pool_geometry.h"

namespace mmvid_memory {
namespace ps_roi_pool {
namespace {

// Output elements per parallel task; each element sums a whole bin, so tasks are
// smaller than ATen's element-wise default.
constexpr int64_t kForwardGrain = 2048;

// Integer bin edges and image index of every roi, computed once per call:
// rows of roi k are [row_lo[k*kh + i], row_hi[k*kh + i]), columns likewise.
struct BinTable {
  std::vector<int64_t> image;
  std::vector<int64_t> row_lo, row_hi, col_lo, col_hi;
};

template <typename scalar_t>
BinTable make_bin_table(const scalar_t* rois, int64_t num_rois, int64_t pooled_height,
                        int64_t pooled_width, int64_t height, int64_t width,
                        double spatial_scale) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t scale = static_cast<acc_t>(spatial_scale);
  BinTable table;
  table.image.resize(num_rois);
  table.row_lo.resize(num_rois * pooled_height);
  table.row_hi.resize(num_rois * pooled_height);
  table.col_lo.resize(num_rois * pooled_width);
  table.col_hi.resize(num_rois * pooled_width);
  for (int64_t k = 0; k < num_rois; ++k) {
    const scalar_t* roi = rois + k * 5;
    table.image[k] = static_cast<int64_t>(static_cast<acc_t>(roi[0]));
    for (int64_t i = 0; i < pooled_height; ++i) {
      bin_edges<acc_t>(static_cast<acc_t>(roi[2]), static_cast<acc_t>(roi[4]), scale,
                       pooled_height, i, height, &table.row_lo[k * pooled_height + i],
                       &table.row_hi[k * pooled_height + i]);
    }
    for (int64_t j = 0; j < pooled_width; ++j) {
      bin_edges<acc_t>(static_cast<acc_t>(roi[1]), static_cast<acc_t>(roi[3]), scale,
                       pooled_width, j, width, &table.col_lo[k * pooled_width + j],
                       &table.col_hi[k * pooled_width + j]);
    }
  }
  return table;
}

// Both kernels walk the work in (bin, roi, channel) order, channel fastest:
// the C channels of one roi's bin (i, j) share the bin's edges, so the short,
// variable-length bin loops repeat the same trip counts (branches that the
// processor predicts), and the C input planes of one bin are reused across all
// rois while they are in cache. A task's range [begin, end) is split into
// runs of consecutive channels of one (bin, roi) (forward) or (image, bin)
// (backward).

template <typename scalar_t>
void forward_kernel(const scalar_t* input, const BinTable& table, scalar_t* output,
                    int64_t num_rois, int64_t num_maps, int64_t pooled_height,
                    int64_t pooled_width, int64_t height, int64_t width) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t bins = pooled_height * pooled_width;
  const int64_t channels = num_maps / bins;
  const int64_t plane_size = height * width;
  // Element e = (bin * K + k) * C + c is output (k, c, i, j) with bin = i * kw + j; it
  // sits at k * num_maps + c * bins + bin and pools input channel c * bins + bin.
  at::parallel_for(0, bins * num_rois * channels, kForwardGrain, [&](int64_t begin, int64_t end) {
    for (int64_t index = begin; index < end;) {
      const int64_t c_begin = index % channels;
      const int64_t c_end = std::min(channels, c_begin + (end - index));
      const int64_t k = (index / channels) % num_rois;
      const int64_t bin = index / (channels * num_rois);
      index += c_end - c_begin;
      const int64_t i = bin / pooled_width;
      const int64_t j = bin % pooled_width;
      const int64_t h0 = table.row_lo[k * pooled_height + i];
      const int64_t h1 = table.row_hi[k * pooled_height + i];
      const int64_t w0 = table.col_lo[k * pooled_width + j];
      const int64_t w1 = table.col_hi[k * pooled_width + j];
      scalar_t* out = output + k * num_maps + bin;
      if (h1 <= h0 || w1 <= w0) {
        for (int64_t c = c_begin; c < c_end; ++c) {
          out[c * bins] = static_cast<scalar_t>(0);
        }
        continue;
      }
      const acc_t area = static_cast<acc_t>((h1 - h0) * (w1 - w0));
      const scalar_t* planes = input + (table.image[k] * num_maps + bin) * plane_size;
      for (int64_t c = c_begin; c < c_end; ++c) {
        out[c * bins] = static_cast<scalar_t>(
            bin_sum<acc_t>(planes + c * bins * plane_size, width, h0, h1, w0, w1) / area);
      }
    }
  });
}

template <typename scalar_t>
void backward_kernel(const scalar_t* grad_output, const BinTable& table, scalar_t* grad_input,
                     int64_t num_rois, int64_t batch_size, int64_t num_maps,
                     int64_t pooled_height, int64_t pooled_width, int64_t height,
                     int64_t width) {
  using acc_t = at::opmath_type<scalar_t>;
  constexpr bool kNeedsScratch = !std::is_same<acc_t, scalar_t>::value;
  const int64_t bins = pooled_height * pooled_width;
  const int64_t channels = num_maps / bins;
  const int64_t plane_size = height * width;
  // Plane p = (n * bins + bin) * C + c is grad_input[n, c * bins + bin]. Only bin (i, j)
  // of rois of image n writes it, and a task owns whole planes: no two threads
  // write the same element, and the sums are deterministic.
  at::parallel_for(0, batch_size * bins * channels, 1, [&](int64_t begin, int64_t end) {
    // float16/bfloat16 planes accumulate in float and are rounded once at the end.
    std::vector<acc_t> scratch(kNeedsScratch ? channels * plane_size : 0);
    for (int64_t index = begin; index < end;) {
      const int64_t c_begin = index % channels;
      const int64_t c_end = std::min(channels, c_begin + (end - index));
      const int64_t bin = (index / channels) % bins;
      const int64_t n = index / (channels * bins);
      index += c_end - c_begin;
      const int64_t i = bin / pooled_width;
      const int64_t j = bin % pooled_width;
      scalar_t* out_planes = grad_input + (n * num_maps + bin) * plane_size;
      // Plane of channel c: planes + c * plane_stride.
      acc_t* planes = kNeedsScratch ? scratch.data() : reinterpret_cast<acc_t*>(out_planes);
      const int64_t plane_stride = kNeedsScratch ? plane_size : bins * plane_size;
      for (int64_t c = c_begin; c < c_end; ++c) {
        std::fill(planes + c * plane_stride, planes + c * plane_stride + plane_size, acc_t(0));
      }
      for (int64_t k = 0; k < num_rois; ++k) {
        if (table.image[k] != n) {
          continue;
        }
        const int64_t h0 = table.row_lo[k * pooled_height + i];
        const int64_t h1 = table.row_hi[k * pooled_height + i];
        const int64_t w0 = table.col_lo[k * pooled_width + j];
        const int64_t w1 = table.col_hi[k * pooled_width + j];
        if (h1 <= h0 || w1 <= w0) {
          continue;
        }
        const acc_t area = static_cast<acc_t>((h1 - h0) * (w1 - w0));
        const scalar_t* grad = grad_output + k * num_maps + bin;
        for (int64_t c = c_begin; c < c_end; ++c) {
          const acc_t value = static_cast<acc_t>(grad[c * bins]) / area;
          acc_t* plane = planes + c * plane_stride;
          for (int64_t h = h0; h < h1; ++h) {
            acc_t* row = plane + h * width;
            for (int64_t w = w0; w < w1; ++w) {
              row[w] += value;
            }
          }
        }
      }
      if (kNeedsScratch) {
        for (int64_t c = c_begin; c < c_end; ++c) {
          scalar_t* out_plane = out_planes + c * bins * plane_size;
          const acc_t* plane = planes + c * plane_stride;
          for (int64_t e = 0; e < plane_size; ++e) {
            out_plane[e] = static_cast<scalar_t>(plane[e]);
          }
        }
      }
    }
  });
}

at::Tensor ps_roi_pool_forward_cpu(const at::Tensor& input, const at::Tensor& rois,
                                   int64_t pooled_height, int64_t pooled_width,
                                   double spatial_scale) {
  check_forward_inputs(input, rois, pooled_height, pooled_width, spatial_scale);
  TORCH_CHECK_VALUE(input.is_cpu(), "ps_roi_pool: the CPU kernel got input on ", input.device());
  check_roi_values(rois, input.size(0));
  const at::Tensor input_contiguous = input.contiguous();
  const at::Tensor rois_contiguous = rois.contiguous();
  const int64_t num_rois = rois.size(0);
  const int64_t num_maps = input.size(1);
  const int64_t channels = num_maps / (pooled_height * pooled_width);
  at::Tensor output =
      at::empty({num_rois, channels, pooled_height, pooled_width}, input.options());
  if (output.numel() == 0) {
    return output;
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, input.scalar_type(), "ps_roi_pool_forward_cpu", [&] {
        const BinTable table =
            make_bin_table(rois_contiguous.data_ptr<scalar_t>(), num_rois, pooled_height,
                           pooled_width, input.size(2), input.size(3), spatial_scale);
        forward_kernel(input_contiguous.data_ptr<scalar_t>(), table,
                       output.data_ptr<scalar_t>(), num_rois, num_maps, pooled_height,
                       pooled_width, input.size(2), input.size(3));
      });
  return output;
}

at::Tensor ps_roi_pool_backward_cpu(const at::Tensor& grad_output, const at::Tensor& rois,
                                    int64_t pooled_height, int64_t pooled_width,
                                    double spatial_scale, int64_t batch_size, int64_t num_maps,
                                    int64_t height, int64_t width) {
  check_backward_inputs(grad_output, rois, pooled_height, pooled_width, spatial_scale,
                        batch_size, num_maps, height, width);
  TORCH_CHECK_VALUE(grad_output.is_cpu(),
                    "ps_roi_pool_backward: the CPU kernel got grad_output on ",
                    grad_output.device());
  check_roi_values(rois, batch_size);
  const at::Tensor grad_contiguous = grad_output.contiguous();
  const at::Tensor rois_contiguous = rois.contiguous();
  at::Tensor grad_input =
      at::empty({batch_size, num_maps, height, width}, grad_output.options());
  if (grad_input.numel() == 0) {
    return grad_input;
  }
  const int64_t num_rois = rois.size(0);
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, grad_output.scalar_type(), "ps_roi_pool_backward_cpu", [&] {
        const BinTable table =
            make_bin_table(rois_contiguous.data_ptr<scalar_t>(), num_rois, pooled_height,
                           pooled_width, height, width, spatial_scale);
        backward_kernel(grad_contiguous.data_ptr<scalar_t>(), table,
                        grad_input.data_ptr<scalar_t>(), num_rois, batch_size, num_maps,
                        pooled_height, pooled_width, height, width);
      });
  return grad_input;
}

}  // namespace
}  // namespace ps_roi_pool
}  // namespace mmvid_memory

TORCH_LIBRARY_IMPL(mmvid_memory, CPU, m) {
  m.impl("ps_roi_pool", &mmvid_memory::ps_roi_pool::ps_roi_pool_forward_cpu);
  m.impl("ps_roi_pool_backward", &mmvid_memory::ps_roi_pool::ps_roi_pool_backward_cpu);
}
