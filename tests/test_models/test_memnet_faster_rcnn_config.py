"""configs/memnet/memnet-mean_faster-rcnn_r18-dc5_synthvid.py builds, trains a step, predicts."""
import copy
from pathlib import Path

import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample
from mmengine.config import Config

import mmvid_memory  # noqa: F401

from ._tiny_detectors import make_frame

CONFIG = Path(__file__).parents[2] / 'configs/memnet/memnet-mean_faster-rcnn_r18-dc5_synthvid.py'



def test_memnet_faster_rcnn_config_loss_and_predict():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.train_dataloader.dataset.pipeline[0].num_frames == 3
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert type(model.detector).__name__ == 'FasterRCNN'
    assert type(model.pixel_memory).__name__ == 'MemNetWarper'
    frames = [make_frame(1, t, 3, size=(64, 64), num_classes=8) for t in range(3)]
    track = TrackDataSample()
    track.video_data_samples = [s for _, s in frames]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([img for img, _ in frames])], data_samples=[track]), True)
    model.train()
    loss, log = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    assert torch.isfinite(loss) and 'loss_flow_photo' in log and 'loss_cls' in log
    assert any(p.grad is not None for p in model.pixel_memory.flow_net.parameters())
    model.eval()
    with torch.no_grad():
        for img, sample in frames:
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            out = model(**data, mode='predict')[0]
    assert out.metainfo['memory_stats']['pixel.0.flows'] == 1
    assert out.pred_instances.bboxes.shape[1] == 4


def test_frame_losses_average_terms_over_the_frames_that_have_them():
    from mmvid_memory.models.detectors.memory_video_detector import average_frame_losses
    out = average_frame_losses([dict(loss_cls=1.0), dict(loss_cls=3.0, loss_flow_photo=4.0),
                                dict(loss_cls=2.0, loss_flow_photo=2.0)])
    assert out == dict(loss_cls=2.0, loss_flow_photo=3.0)
