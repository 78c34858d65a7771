// Python entry point of mmvid_memory._C.
//
// The ops themselves are registered with TORCH_LIBRARY / TORCH_LIBRARY_IMPL in
// their own translation units; importing this module runs those static
// registrations. The module has no Python functions of its own: ops are
// reached as torch.ops.mmvid_memory.<name>.
#include <Python.h>

extern "C" {
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT, "_C", "mmvid_memory compiled ops", -1, nullptr};
  return PyModule_Create(&module_def);
}
}
