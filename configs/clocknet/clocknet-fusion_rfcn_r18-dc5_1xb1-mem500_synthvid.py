# ClockNet with a learned weight of the current frame (an option beyond Vu et
# al.): on frames with image evidence the mean over the memories is fused with
# the frame's own features by a per-pixel weighting, so that memories several
# frames old cannot keep an object where it was ("ghosts"). Otherwise as
# clocknet_rfcn_r18-dc5_1xb1-mem500_synthvid.py.
_base_ = './clocknet_rfcn_r18-dc5_1xb1-mem500_synthvid.py'
model = dict(pixel_memory=dict(current_frame_fusion=True))
