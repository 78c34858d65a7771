"""ModuleTimer: exclusive section times from patched instance methods, restored after."""
import pytest
import torch.nn as nn

from mmvid_memory.apis import ModuleTimer, default_timing_points, summarize_timings


class FakeClock:
    """Seconds that only move when a fake module says it worked."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Memory(nn.Module):

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def read(self, x):
        self.clock.now += 0.003
        return x

    def write(self, x):
        self.clock.now += 0.001


class RoIHead(nn.Module):
    """Calls the instance memory's read inside, as the detector's pre-hook does."""

    def __init__(self, clock, memory):
        super().__init__()
        self.clock, self.memory = clock, [memory]  # list: not a submodule

    def predict(self, x):
        self.clock.now += 0.004
        return self.memory[0].read(x)


class Detector(nn.Module):

    def __init__(self, clock, memory):
        super().__init__()
        self.clock = clock
        self.lin = nn.Linear(1, 1)
        self.roi_head = RoIHead(clock, memory)

    def extract_feat(self, x):
        self.clock.now += 0.010
        return x


class Wrapper(nn.Module):

    def __init__(self, clock):
        super().__init__()
        self.clock = clock
        self.instance_memory = Memory(clock)
        self.detector = Detector(clock, self.instance_memory)

    def predict_frame(self, x):
        feats = self.detector.extract_feat(x)
        out = self.detector.roi_head.predict(feats)
        self.clock.now += 0.002  # not in any section: 'other'
        self.instance_memory.write(out)
        return out


def test_sections_are_exclusive_and_methods_restored():
    clock = FakeClock()
    model = Wrapper(clock)
    points = default_timing_points(model)
    assert [(type(m).__name__, n) for m, n in points['heads']] == [('RoIHead', 'predict')]
    assert [n for _, n in points['memory_read']] == ['read']
    with ModuleTimer(model, clock=clock) as timer:
        model.predict_frame(1)  # outside a frame: runs, not recorded
        for _ in range(3):
            with timer.frame():
                model.predict_frame(1)
    assert len(timer.records) == 3
    rec = timer.records[-1]
    expect = dict(backbone=10.0, memory_read=3.0, memory_write=1.0, heads=4.0, other=2.0,
                  total=20.0)
    assert rec.keys() == expect.keys()
    for key, value in expect.items():
        assert rec[key] == pytest.approx(value)
    for module in (model.detector, model.instance_memory, model.detector.roi_head):
        assert not any(name in module.__dict__ for name in ('extract_feat', 'read', 'write',
                                                            'predict'))
    summary = summarize_timings(timer.records, warmup=1)
    assert summary['frames'] == 2
    assert summary['fps'] == pytest.approx(50.0)
    assert summary['share']['backbone'] == pytest.approx(0.5)


def test_methods_restored_after_an_error_and_bad_use():
    clock = FakeClock()
    model = Wrapper(clock)
    timer = ModuleTimer(model, clock=clock)
    with pytest.raises(ZeroDivisionError):
        with timer:
            with timer.frame():
                model.predict_frame(1)
                1 / 0
    assert 'extract_feat' not in model.detector.__dict__
    assert timer.records == []  # the failed frame is not recorded
    with pytest.raises(AttributeError, match='has no method'):
        with ModuleTimer(model, points={'backbone': [(model.detector, 'nope')]}):
            pass
    with pytest.raises(ValueError, match='no frame left'):
        summarize_timings([dict(total=1.0)], warmup=1)
    with timer:
        with timer.frame():
            with pytest.raises(RuntimeError, match='does not nest'):
                with timer.frame():
                    pass
