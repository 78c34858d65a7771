# MemNet with the learned per-pixel weighting (Vu et al., Eq. 4): two small CNNs
# give per-pixel logits for memory and frame, softmax-normalised.
_base_ = './memnet-mean_rfcn_r18-dc5_synthvid.py'
model = dict(pixel_memory=dict(aggregation='weighted', aggregation_hidden_channels=64))
