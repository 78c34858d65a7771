"""Optional photometric / smoothness losses of the warp memories."""
import torch

import mmvid_memory  # noqa: F401
from mmvid_memory.models.memory import FrameContext, MemNetWarper, photometric_loss, smoothness_loss



def test_photometric_loss_is_zero_for_the_true_shift():
    torch.manual_seed(0)
    ref = torch.randn(1, 3, 32, 32)
    cur = torch.zeros_like(ref)
    cur[..., :, :-4] = ref[..., :, 4:]  # content moved left by 4 px: D = +4 px in x
    flow = torch.zeros(1, 2, 2, 2)
    flow[:, 0] = 4 / 16  # feature pixels at stride 16
    # Compared at full resolution: the shift is exact, the right border is masked.
    assert photometric_loss(cur, ref, flow, downsample=1).item() == 0.0
    wrong = photometric_loss(cur, ref, torch.zeros(1, 2, 2, 2), downsample=1)
    assert wrong.item() > 0.5
    flow.requires_grad_(True)
    photometric_loss(cur, ref, flow * 1.5, downsample=2).backward()
    assert flow.grad.abs().sum() > 0


def test_smoothness():
    flow = torch.zeros(1, 2, 3, 4)
    flow[:, 0] = 2.0
    assert smoothness_loss(flow).item() == 0.0
    flow[0, 1, 0, 0] = 3.0
    assert smoothness_loss(flow).item() > 0


def test_memory_reports_flow_losses_in_training_only():
    torch.manual_seed(0)
    memory = MemNetWarper(flow_net=dict(type='FlowNetS', base_channels=4, zero_init_last=False),
                          evidence_drop_prob=0.0, flow_loss_weight=1.0, flow_smooth_weight=0.1)
    imgs = [torch.randn(1, 3, 32, 32) for _ in range(2)]
    feats = [torch.randn(1, 4, 2, 2) for _ in range(2)]
    for training in (True, False):
        memory.train(training)
        state = memory.new_state()
        ctxs = [FrameContext(img=img, frame_id=t) for t, img in enumerate(imgs)]
        for feat, ctx in zip(feats, ctxs):
            memory.read(feat, state, ctx)
        if not training:
            assert 'memory_losses' not in ctxs[1].extra
            continue
        losses = ctxs[1].extra['memory_losses']
        assert set(losses) == {'loss_flow_photo', 'loss_flow_smooth'}
        sum(losses.values()).backward()
        assert memory.flow_net.conv1.conv.weight.grad.abs().sum() > 0
