# OGEM on the ImageNet VID R-FCN-101, pixel memory only (Deng et al. Table 1 (b): 78.8 mAP),
# second stage: end to end from ogem-pix_rfcn_r101-dc5_1xb1-embed60k_imagenetvid.py
# (see ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k-e2e10k_imagenetvid.py).
_base_ = './ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k-e2e10k_imagenetvid.py'
embed_checkpoint = 'work_dirs/ogem-pix_rfcn_r101-dc5_1xb1-embed60k_imagenetvid/iter_60000.pth'
model = dict(instance_memory=None, init_cfg=dict(checkpoint=embed_checkpoint))
