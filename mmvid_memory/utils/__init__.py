from .checkpoint import runner_checkpoint_safe_globals, setup_torch_load_allowlist
from .launch import close_process_group, prepare_cfg_for_launch

__all__ = ['runner_checkpoint_safe_globals', 'setup_torch_load_allowlist',
           'prepare_cfg_for_launch', 'close_process_group']
