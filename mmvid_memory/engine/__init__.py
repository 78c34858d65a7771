from .atomic_checkpoint_hook import AtomicCheckpointHook, save_runner_checkpoint_atomic
from .cpu_ddp import CPUDistributedDataParallel
from .strict_load_runner import StrictLoadRunner
from .video_visualization_hook import VideoVisualizationHook

__all__ = ['CPUDistributedDataParallel', 'AtomicCheckpointHook', 'save_runner_checkpoint_atomic',
           'StrictLoadRunner', 'VideoVisualizationHook']
