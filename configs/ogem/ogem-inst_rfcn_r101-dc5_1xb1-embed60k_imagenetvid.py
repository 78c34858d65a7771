# OGEM on the ImageNet VID R-FCN-101, instance memory only (Deng et al. Table 1 (c): 74.8 mAP),
# first stage: memory embeddings only (see ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k_imagenetvid.py).
_base_ = './ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k_imagenetvid.py'
model = dict(pixel_memory=None)
