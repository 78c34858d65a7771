from .atomic import atomic_output, atomic_write_with, remove_stale_temps
from .checkpoint import (CheckpointError, CheckpointMismatchError, UnsafeCheckpointError,
                         check_state_dict_fits, install_checkpoint_safety, load_checkpoint_file,
                         load_model_checkpoint, runner_checkpoint_safe_globals,
                         safe_checkpoint_globals)
from .launch import close_process_group, prepare_cfg_for_launch
from .setup_env import register_all_modules

__all__ = ['runner_checkpoint_safe_globals', 'safe_checkpoint_globals',
           'install_checkpoint_safety', 'load_checkpoint_file', 'load_model_checkpoint',
           'check_state_dict_fits', 'CheckpointError', 'CheckpointMismatchError',
           'UnsafeCheckpointError', 'atomic_output', 'atomic_write_with', 'remove_stale_temps',
           'prepare_cfg_for_launch', 'close_process_group', 'register_all_modules']
