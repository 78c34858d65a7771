# OGEM, pixel memory only (Deng et al. Table 1 (b)).
_base_ = './ogem-pix-inst_rfcn_r18-dc5_synthvid.py'
model = dict(instance_memory=None)
