# Object guided external memory, pixel memory only (Table 1 (b)) of Deng et al., second stage
# (end to end) from ogem-pix_rfcn_r18-dc5_1xb2-mem500_synthvid.py; the model to test.
_base_ = './ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py'
load_from = 'work_dirs/ogem-pix_rfcn_r18-dc5_1xb2-mem500_synthvid/iter_500.pth'
model = dict(instance_memory=None)
