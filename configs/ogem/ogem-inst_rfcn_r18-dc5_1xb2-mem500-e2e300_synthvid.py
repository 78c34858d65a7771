# Object guided external memory, instance memory only (Table 1 (c)) of Deng et al., second stage
# (end to end) from ogem-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py; the model to test.
_base_ = './ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py'
load_from = 'work_dirs/ogem-inst_rfcn_r18-dc5_1xb2-mem500_synthvid/iter_500.pth'
model = dict(pixel_memory=None)
