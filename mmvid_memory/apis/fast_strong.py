"""Online fast + strong detection (Vu et al., Sec. 4.2 / 5.3, Table 3).

:class:`FastStrongRunner` drives a :class:`FastStrongDetector` over a frame
stream. The fast detector handles every frame in the caller's thread. The
strong (memory) detector runs on every ``interval``-th frame:

* ``mode='deterministic'``: in line, its result used exactly ``delay``
  frames later (reproducible; what ``tools/test.py`` runs too);
* ``mode='thread'``: in one background thread (on ``strong_device``, e.g. a
  second GPU); a result is used from the first frame after it is finished,
  so Δ is the real latency. A strong frame that comes while the thread is
  still busy is skipped, as a real-time system must.

Either way, the newest available strong features ``M_s`` are warped to the
current frame with ``D_{t,s}`` and averaged into the fast features.
"""
import copy
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Dict, Hashable, List, Optional, Union

import torch
from mmdet.structures import DetDataSample

from ..models.detectors.fast_strong_detector import (FAST_STRONG_POINT, FastStrongDetector,
                                                      FastStrongState, StrongFeatures,
                                                      fuse_strong_features)
from ..models.detectors.memory_video_detector import detector_heads_predict

RUNNER_MODES = ('deterministic', 'thread')


class FastStrongRunner:
    """Run a fast + strong detector online, one video at a time.

    Args:
        model (FastStrongDetector): in eval mode.
        mode (str): ``'deterministic'`` or ``'thread'``.
        strong_device (str, optional): device of the strong detector in
            thread mode (default: the model's); the fast detector and the
            warp stay on the model's device.
        use_strong (bool): False runs the fast detector alone (the baseline).

    Use :meth:`start_video`, then :meth:`push` the packed frames in order;
    :meth:`close` (or a ``with`` block) stops the thread.
    """

    def __init__(self, model: FastStrongDetector, mode: str = 'deterministic',
                 strong_device: Optional[str] = None, use_strong: bool = True) -> None:
        if not isinstance(model, FastStrongDetector):
            raise TypeError(f'FastStrongRunner runs a FastStrongDetector, got '
                            f'{type(model).__name__}')
        if mode not in RUNNER_MODES:
            raise ValueError(f'mode must be one of {RUNNER_MODES}, got {mode!r}')
        if model.training:
            raise ValueError('FastStrongRunner: call model.eval() first')
        self.model = model
        self.mode = mode
        self.use_strong = use_strong
        self.device = next(model.fast.parameters()).device
        self.strong_device = torch.device(strong_device) if strong_device else self.device
        self._executor: Optional[ThreadPoolExecutor] = None
        self._future: Optional[Future] = None
        self._generation = 0  # results of an earlier video are dropped
        if mode == 'thread':
            if self.strong_device != self.device:
                model.strong.to(self.strong_device)
            # Own copy of the warp's flow network: the strong thread uses the original.
            self._flow_net = copy.deepcopy(model.warp_flow_net).to(self.device).eval()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix='strong')
        self.state: Optional[FastStrongState] = None
        self.video_id: Hashable = None
        self._last_frame_id: Optional[int] = None
        self.timings: List[Dict[str, Any]] = []
        self.skipped_strong_frames = 0
        self.strong_thread_ms: List[float] = []

    # ------------------------------------------------------------- videos
    def start_video(self, video_id: Hashable = 0) -> None:
        """Forget the previous video (its strong memory and pending results)."""
        self._wait_strong()
        self._generation += 1
        if self.state is None:
            self.state = self.model.new_point_states()[FAST_STRONG_POINT]
        else:
            self.state.reset()
        self.video_id = video_id
        self._last_frame_id = None

    def _wait_strong(self) -> None:
        if self._future is not None:
            try:
                self._future.result()
            finally:
                self._future = None

    def close(self) -> None:
        """Wait for the strong thread and stop it. Safe to call twice."""
        self._wait_strong()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self.state is not None:
            self.state.reset()
            self.state = None

    def __enter__(self) -> 'FastStrongRunner':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -------------------------------------------------------------- frames
    def _strong_job(self, img: torch.Tensor, sample: DetDataSample,
                    generation: int) -> Optional[StrongFeatures]:
        start = time.perf_counter()
        with torch.no_grad():
            strong = self.model.strong_features(img.to(self.strong_device), sample,
                                                self.state.strong_state, ready_at=0)
        if self.strong_device.type == 'cuda':
            torch.cuda.synchronize(self.strong_device)
        strong = strong.to(self.device)
        self.strong_thread_ms.append((time.perf_counter() - start) * 1000.0)
        return strong if generation == self._generation else None

    def _collect_thread_result(self, frame_id: int) -> None:
        if self._future is not None and self._future.done():
            strong = self._future.result()  # re-raises an error of the strong thread
            self._future = None
            if strong is not None:
                strong.ready_at = frame_id
                self.state.offer(strong)

    def push(self, img: torch.Tensor, sample: DetDataSample) -> DetDataSample:
        """Detect objects in the next frame of the current video.

        Args:
            img (Tensor): (1, 3, H, W) preprocessed frame on the model's device.
            sample (DetDataSample): its sample with ``frame_id`` in metainfo.

        Returns:
            DetDataSample: ``pred_instances`` (original image pixels) and
            ``memory_stats`` (``fast_strong.strong_runs`` / ``fused`` /
            ``strong_age``) in metainfo.
        """
        if self.state is None:
            raise RuntimeError('FastStrongRunner: call start_video() before push()')
        frame_id = int(sample.metainfo.get('frame_id', 0))
        if self._last_frame_id is not None and frame_id <= self._last_frame_id:
            raise ValueError(f'video {self.video_id!r}: frame {frame_id} pushed after frame '
                             f'{self._last_frame_id}; start_video() for a new video')
        self._last_frame_id = frame_id
        start = time.perf_counter()
        strong_ms = 0.0
        model, state = self.model, self.state
        with torch.no_grad():
            if self.use_strong and model.is_strong_frame(frame_id):
                if self.mode == 'deterministic':
                    t0 = time.perf_counter()
                    state.offer(model.strong_features(img, sample, state.strong_state,
                                                      frame_id + model.delay))
                    strong_ms = (time.perf_counter() - t0) * 1000.0
                    state.strong_runs += 1
                elif self._future is None:
                    self._future = self._executor.submit(
                        self._strong_job, img.detach().clone(), sample.clone(), self._generation)
                    state.strong_runs += 1
                else:
                    self.skipped_strong_frames += 1
            if self.mode == 'thread':
                self._collect_thread_result(frame_id)
            strong = state.collect(frame_id) if self.use_strong else None
            state.fused = strong is not None
            state.age = -1 if strong is None else frame_id - strong.frame_id
            if self.mode == 'thread' and strong is not None:
                result = self._predict_thread(img, sample, strong)
            else:
                result = model.predict_with_strong(img, sample, strong)
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        total_ms = (time.perf_counter() - start) * 1000.0
        self.timings.append(dict(video_id=self.video_id, frame_id=frame_id, total_ms=total_ms,
                                 strong_ms=strong_ms, fused=state.fused, strong_age=state.age))
        result.set_metainfo(dict(memory_stats={f'{FAST_STRONG_POINT}.{k}': v
                                               for k, v in state.stats().items()},
                                 is_key_frame=state.fused))
        return result

    def _predict_thread(self, img: torch.Tensor, sample: DetDataSample,
                        strong: StrongFeatures) -> DetDataSample:
        """As ``predict_with_strong``, with the runner's own copy of the flow network."""
        model = self.model
        feats = model.fast.extract_feat(img)
        fast_feat = feats[model.fast_level]
        flow = self._flow_net(img, strong.img, out_size=fast_feat.shape[-2:])
        out = list(feats)
        out[model.fast_level] = fuse_strong_features(fast_feat, strong.feat, flow)
        sample.pred_instances = detector_heads_predict(model.fast, tuple(out), [sample], True)[0]
        return sample

    def summary(self, warmup: int = 0) -> Dict[str, Union[float, int]]:
        """ms per frame (all frames, frames that ran the strong detector in line, others)."""
        rows = self.timings[warmup:]
        if not rows:
            return dict(frames=0)

        def mean(values: List[float]) -> float:
            return sum(values) / len(values) if values else float('nan')

        return dict(frames=len(rows), ms_per_frame=mean([r['total_ms'] for r in rows]),
                    fast_path_ms=mean([r['total_ms'] - r['strong_ms'] for r in rows]),
                    fused_share=mean([float(r['fused']) for r in rows]),
                    mean_strong_age=mean([r['strong_age'] for r in rows if r['fused']]),
                    skipped_strong_frames=self.skipped_strong_frames,
                    strong_thread_ms=mean(self.strong_thread_ms))
