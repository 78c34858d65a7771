# OGEM, instance memory only (Deng et al. Table 1 (c)).
_base_ = './ogem-pix-inst_rfcn_r18-dc5_synthvid.py'
model = dict(pixel_memory=None)
