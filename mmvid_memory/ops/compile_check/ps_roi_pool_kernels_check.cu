// Compile-only driver of tools/check_cuda_compile.sh: instantiates every
// PSRoIPool kernel and launcher that the torch glue (csrc/cuda/ps_roi_pool_cuda.cu)
// instantiates, for float, double, __half and __nv_bfloat16, so that nvcc
// generates device code for each of them. It lives outside csrc/ so that
// setup.py does not build it into mmvid_memory._C.
#include "cuda/ps_roi_pool_kernels.cuh"

namespace {

namespace kernels = mmvid_memory::ps_roi_pool::cuda;

template <typename scalar_t>
void instantiate() {
  using acc_t = typename kernels::AccType<scalar_t>::type;
  const scalar_t* data = nullptr;
  scalar_t* output = nullptr;
  acc_t* grad_input = nullptr;
  const cudaStream_t stream = nullptr;
  (void)kernels::launch_ps_roi_pool_forward<scalar_t>(data, data, output, 0, 0, 7, 7, 38, 63,
                                                      acc_t(0.0625), stream);
  (void)kernels::launch_ps_roi_pool_backward<scalar_t>(data, data, grad_input, 0, 0, 7, 7, 38,
                                                       63, acc_t(0.0625), stream);
}

}  // namespace

void ps_roi_pool_instantiate_all_kernels() {
  instantiate<float>();
  instantiate<double>();
  instantiate<__half>();
  instantiate<__nv_bfloat16>();
}
