# The SynthVID fast + strong pair with the cheaper quarter-width R-FCN-18 as the
# fast detector (configs/rfcn/rfcn_r18w16-dc5_1xb4-4e_synthvid.py, trained first
# like the half-width baseline), so fast alone is clearly faster than ClockNet.
_base_ = './fast-strong_rfcn-r18_clocknet-rfcn-r18_synthvid.py'
model = dict(fast=dict(
    config='configs/rfcn/rfcn_r18w16-dc5_1xb4-4e_synthvid.py',
    checkpoint='work_dirs/demo/rfcn_r18w16-dc5_1xb4-4e_synthvid/epoch_4.pth'))
