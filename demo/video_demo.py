"""Detect objects in a video online and write an annotated video.

Every frame is detected with the memory of the frames before it only (the
same online stream as ``mmvid_memory.apis.VideoStream``).

Examples::

    python demo/video_demo.py CONFIG CHECKPOINT --input video.mp4 --out out.mp4
    python demo/video_demo.py CONFIG CHECKPOINT --input frames_dir/ --out out.gif \\
        --score-thr 0.5 --show-memory
"""
import argparse
import os.path as osp
import sys
import time

from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import mmvid_memory  # noqa: F401  (registers the components)
from mmvid_memory.apis import (VideoSink, draw_detections, init_detector, iter_video_frames,
                               memory_text_lines, open_stream, video_fps)
from mmvid_memory.apis.video_io import check_sink_path, num_frames_hint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Online video object detection demo')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit to run the initialised model)')
    parser.add_argument('--input', required=True,
                        help='video file or folder of frames (natural sort order)')
    parser.add_argument('--out', required=True, help='output video: .mp4, .avi or .gif')
    parser.add_argument('--score-thr', type=float, default=0.3, help='draw boxes above it')
    parser.add_argument('--show-memory', action='store_true',
                        help='write the memory rows of every memory point on the frames')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda:0'")
    parser.add_argument('--fps', type=float, default=None,
                        help="output fps (default: the input video's, 10 for folders)")
    parser.add_argument('--max-frames', type=int, default=None, help='stop after N frames')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.exists(args.input):
        raise FileNotFoundError(f'--input {args.input!r} does not exist')
    check_sink_path(args.out)  # before the model loads, not after
    total = num_frames_hint(args.input)
    if args.max_frames is not None:
        total = min(total, args.max_frames) if total else args.max_frames
    model = init_detector(args.config, args.checkpoint, device=args.device,
                          cfg_options=args.cfg_options)
    class_names = model.dataset_meta.get('classes')
    fps = args.fps or video_fps(args.input)
    video_id = osp.splitext(osp.basename(osp.normpath(args.input)))[0]
    model_ms = 0.0
    # total 0 (unknown): counts frames without an end; the stdout of now, not of import time
    progress = ProgressBar(total, file=sys.stdout)
    with open_stream(model, video_id=video_id) as stream, VideoSink(args.out, fps) as sink:
        for frame in iter_video_frames(args.input):
            if args.max_frames is not None and stream.num_frames >= args.max_frames:
                break
            start = time.perf_counter()
            result = stream.push(frame)
            model_ms += (time.perf_counter() - start) * 1000.0
            meta = result.metainfo
            lines = [f"frame {meta['frame_id']}" + (
                '' if meta.get('is_key_frame', True) else ' (non-key)')]
            if args.show_memory:
                lines += memory_text_lines(meta.get('memory_stats', {}))
            sink.write(draw_detections(frame, result.pred_instances, class_names,
                                       args.score_thr, lines))
            progress.update()
        num_frames = stream.num_frames
    if num_frames == 0:
        raise RuntimeError(f'no frame could be read from {args.input!r}')
    print(f'\n{num_frames} frames -> {args.out} ({model_ms / num_frames:.1f} ms/frame '
          'for pipeline + model)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
