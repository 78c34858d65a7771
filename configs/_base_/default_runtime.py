# mmdet's runtime with this package's checkpoint guarantees: every config of the
# package inherits it instead of mmdet::_base_/default_runtime.py.
#   - AtomicCheckpointHook: a checkpoint is written to a temporary file, fsync-ed
#     and renamed, last_checkpoint is updated after it and old checkpoints are
#     removed last, so a crash during a save never loses the last checkpoint;
#   - StrictLoadRunner: testing, validating and resuming refuse a checkpoint whose
#     weights do not fit the model (strict_load = False loads what fits).
_base_ = 'mmdet::_base_/default_runtime.py'

runner_type = 'StrictLoadRunner'
strict_load = True
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
