# Object guided external memory, pixel memory only (Table 1 (b)) of Deng et al., first stage
# (memory only, frozen detector); see ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py.
_base_ = './ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py'
model = dict(instance_memory=None)
