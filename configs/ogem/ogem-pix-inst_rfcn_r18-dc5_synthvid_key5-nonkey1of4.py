# OGEM speed mode (Deng et al. Table 2): a key frame every 5 frames at full size
# updates memory; the frames between are down-sampled to 1/4 and only read.
# A test-time setting: test the checkpoint of ogem-pix-inst_rfcn_r18-dc5_synthvid.py.
_base_ = './ogem-pix-inst_rfcn_r18-dc5_synthvid.py'
model = dict(test_cfg=dict(key_frame_interval=5, non_key_scale=1 / 4))
