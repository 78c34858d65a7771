// Schemas of the mmvid_memory operator library (torch.ops.mmvid_memory.*).
// Kernels are registered per backend in cpu/ and cuda/; the fake (meta)
// implementations and the autograd formulas are registered from Python
// (mmvid_memory/ops/ps_roi_pool.py). Another op of this library adds its
// schema here (TORCH_LIBRARY may appear only once per namespace).
#include <torch/library.h>

TORCH_LIBRARY(mmvid_memory, m) {
  // input (N, C*kh*kw, H, W), rois (K, 5) -> (K, C, kh, kw)
  m.def(
      "ps_roi_pool(Tensor input, Tensor rois, int pooled_height, int pooled_width, "
      "float spatial_scale) -> Tensor");
  // grad_output (K, C, kh, kw) -> grad_input (batch_size, num_maps, height, width)
  m.def(
      "ps_roi_pool_backward(Tensor grad_output, Tensor rois, int pooled_height, "
      "int pooled_width, float spatial_scale, SymInt batch_size, SymInt num_maps, "
      "SymInt height, SymInt width) -> Tensor");
}
