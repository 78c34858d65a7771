# The fair single-frame baseline for the memory detectors on SynthVID: the
# R-FCN-18 baseline fine-tuned for the same 300 extra iterations as they are,
# on single frames (batch 8 = the memory detectors' 2 clips x 4 frames).
_base_ = '../_base_/schedules/synthvid_memory_finetune.py'
load_from = _base_.baseline_checkpoint
train_dataloader = dict(batch_size=8)
