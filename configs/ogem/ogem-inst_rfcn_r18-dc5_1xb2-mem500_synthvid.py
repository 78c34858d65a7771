# Object guided external memory, instance memory only (Table 1 (c)) of Deng et al., first stage
# (memory only, frozen detector); see ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py.
_base_ = './ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py'
model = dict(pixel_memory=None)
