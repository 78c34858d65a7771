# Object guided external memory (Deng et al.) at pixel and instance level on the
# ImageNet VID R-FCN-101 (Deng et al. Table 1 (d): 79.3 mAP), second training
# stage (Sec. 4.1): the whole network end to end, 10K iterations at lr 0.00005,
# clips of 4 frames at most 20 apart, starting from the first stage
#   ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k_imagenetvid.py
# (override with --cfg-options model.init_cfg.checkpoint=PATH).
# This is the model to test; the speed mode (Table 2) are test-time variants
# of it: ..._key5-nonkey1of2/3/4.py.
_base_ = './ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k_imagenetvid.py'

embed_checkpoint = ('work_dirs/ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k_imagenetvid/'
                    'iter_60000.pth')
e2e_iters = 10000

# The stage-1 checkpoint holds every weight: the wrapped R-FCN need not load its own.
model = dict(detector=dict(init_cfg=None),
             init_cfg=dict(type='Pretrained', checkpoint=embed_checkpoint))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=e2e_iters, val_interval=e2e_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.00005, momentum=0.9, weight_decay=0.0005))
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=e2e_iters,
                    max_keep_ckpts=1))
