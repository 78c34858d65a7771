"""Test-time drawings of videos: one folder per video, optionally one clip per video."""
import os.path as osp
from typing import Dict, Optional, Sequence

import mmcv
from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmengine.fileio import get
from mmengine.runner import Runner
from mmengine.utils import mkdir_or_exist


@HOOKS.register_module()
class VideoVisualizationHook(DetVisualizationHook):
    """mmdet's ``DetVisualizationHook`` for video test sets.

    mmdet's hook names a drawing by the frame's file name alone, so frames of
    different videos (``video_a/000000.jpg``, ``video_b/000000.jpg``)
    overwrite each other. Here each video gets its own folder under
    ``test_out_dir``, named after the folder its frames lie in (as mmdet's
    ``TrackVisualizationHook`` does; the video id is appended when two videos
    share a folder name), and with ``video_fps`` the drawn frames of each
    video are also written to ``<test_out_dir>/<video>.mp4``.

    A relative ``test_out_dir`` is placed under ``<work_dir>/<timestamp>/``,
    as mmdet's ``tools/test.py --show-dir`` documents.

    Args:
        draw (bool): Whether to draw. Defaults to False.
        interval (int): Validation drawing interval (mmdet's). Defaults to 50.
        score_thr (float): Lowest score drawn. Defaults to 0.3.
        show (bool): Show each drawing in a window. Defaults to False.
        wait_time (float): Seconds a shown drawing stays. Defaults to 0.
        test_out_dir (str, optional): Folder of the drawings.
        video_fps (float, optional): Frame rate of the per-video clips;
            None writes none. Needs ``test_out_dir``.
        backend_args (dict, optional): File backend arguments.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 score_thr: float = 0.3,
                 show: bool = False,
                 wait_time: float = 0.,
                 test_out_dir: Optional[str] = None,
                 video_fps: Optional[float] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(draw=draw, interval=interval, score_thr=score_thr, show=show,
                         wait_time=wait_time, test_out_dir=test_out_dir,
                         backend_args=backend_args)
        if video_fps is not None and video_fps <= 0:
            raise ValueError(f'video_fps must be > 0, got {video_fps}')
        if video_fps is not None and test_out_dir is None:
            raise ValueError('video_fps writes one clip per video into test_out_dir; '
                             'set test_out_dir (tools/test.py --show-dir)')
        self.video_fps = video_fps
        self._out_root: Optional[str] = None
        self._folders: Dict[object, str] = {}
        self._sinks: Dict[object, object] = {}

    def before_test(self, runner: Runner) -> None:
        """Resolve the output folder once per test run."""
        self._folders, self._sinks = {}, {}
        self._out_root = None
        if self.draw and self.test_out_dir is not None:
            self._out_root = osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)
            mkdir_or_exist(self._out_root)

    def _video_folder(self, sample: DetDataSample) -> str:
        """The folder name of the sample's video, unique per video id."""
        video_id = sample.metainfo.get('video_id')
        if video_id is None:
            raise KeyError(f'VideoVisualizationHook: frame {sample.img_path} has no video_id; '
                           'pack test frames with PackVideoFrameInputs')
        if video_id not in self._folders:
            name = osp.basename(osp.dirname(sample.img_path)) or f'video_{video_id}'
            if name in self._folders.values():
                name = f'{name}_{video_id}'
            self._folders[video_id] = name
        return self._folders[video_id]

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[DetDataSample]) -> None:
        """Draw every frame of the batch into its video's folder (and clip)."""
        if self.draw is False:
            return
        for sample in outputs:
            self._test_index += 1
            img_path = sample.img_path
            img = mmcv.imfrombytes(get(img_path, backend_args=self.backend_args),
                                   channel_order='rgb')
            out_file = None
            folder = self._video_folder(sample)
            if self._out_root is not None:
                out_file = osp.join(self._out_root, folder, osp.basename(img_path))
            self._visualizer.add_datasample(
                osp.join(folder, osp.basename(img_path)) if self.show else 'test_img',
                img,
                data_sample=sample,
                show=self.show,
                wait_time=self.wait_time,
                pred_score_thr=self.score_thr,
                out_file=out_file,
                step=self._test_index)
            if self.video_fps is not None:
                self._write_clip_frame(sample, folder)

    def _write_clip_frame(self, sample: DetDataSample, folder: str) -> None:
        from ..apis.video_io import VideoSink
        video_id = sample.metainfo['video_id']
        if video_id not in self._sinks:
            self._sinks[video_id] = VideoSink(osp.join(self._out_root, f'{folder}.mp4'),
                                              fps=self.video_fps)
        # The visualizer's canvas holds the drawing just made (RGB).
        self._sinks[video_id].write(self._visualizer.get_image()[..., ::-1].copy())
        length = sample.metainfo.get('video_length')
        if length is not None and int(sample.metainfo.get('frame_id', -1)) >= int(length) - 1:
            self._sinks.pop(video_id).close()

    def after_test(self, runner: Runner) -> None:
        """Close the clips of videos whose last frame was not seen."""
        for sink in self._sinks.values():
            sink.close()
        self._sinks = {}
