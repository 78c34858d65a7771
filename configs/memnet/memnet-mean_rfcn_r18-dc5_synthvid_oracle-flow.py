# MemNet (mean) on SynthVID with the generator's exact displacement field in
# place of the FlowNetS (test time only; see
# configs/clocknet/clocknet_rfcn_r18-dc5_synthvid_oracle-flow.py).
_base_ = './memnet-mean_rfcn_r18-dc5_synthvid.py'
model = dict(pixel_memory=dict(flow_net=dict(
    _delete_=True, type='SynthVIDOracleFlow', data_root=_base_.data_root, split='val')))
