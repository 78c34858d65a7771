"""Data-parallel training on CPU processes (gloo), which mmengine 0.10.7 lacks.

mmengine's ``Runner`` hands ``device_ids=[LOCAL_RANK]`` to every
``DistributedDataParallel`` wrapper, and its ``init_dist`` calls
``torch.cuda.set_device``: both fail on a CPU-only build of torch. This
wrapper drops the device ids for modules that live on the CPU;
:func:`mmvid_memory.utils.launch.init_cpu_process_group` starts the process
group without touching CUDA.
"""
from typing import Any

from mmengine.model import MMDistributedDataParallel
# mmengine's own registry: Runner.wrap_model looks the type up there, not in a scope.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for a module whose parameters are on the CPU.

    Args:
        module (nn.Module): the model, on the CPU.
        **kwargs: passed to ``DistributedDataParallel``; ``device_ids`` and
            ``output_device`` are dropped, since a CPU module takes none.
    """

    def __init__(self, module: Any, **kwargs: Any) -> None:
        devices = {p.device.type for p in module.parameters()}
        if devices - {'cpu'}:
            raise ValueError(f'CPUDistributedDataParallel wraps CPU modules; this one has '
                             f'parameters on {sorted(devices)}')
        kwargs.pop('device_ids', None)
        kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=None, **kwargs)
