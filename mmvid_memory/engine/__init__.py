from .atomic_checkpoint_hook import AtomicCheckpointHook, save_runner_checkpoint_atomic
from .cpu_ddp import CPUDistributedDataParallel
from .strict_load_runner import StrictLoadRunner

__all__ = ['CPUDistributedDataParallel', 'AtomicCheckpointHook', 'save_runner_checkpoint_atomic',
           'StrictLoadRunner']
