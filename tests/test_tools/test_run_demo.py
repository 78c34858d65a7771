"""tools/run_demo.py: its table and health figures from result rows (no training)."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('run_demo', osp.join(ROOT, 'tools', 'run_demo.py'))
run_demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_demo)


def row(name, control=None, m=40.0, ms=30.0, health='-'):
    return dict(name=name, control=control, mAP=m, mAP_slow=m + 5, mAP_medium=m, mAP_fast=m - 5,
                mAP_degraded=m - 10, mAP_clean=m + 2, ms_per_frame=ms, memory_size=None,
                health=health)


def test_memory_rows_show_their_difference_to_their_control():
    control = row('no memory (OGEM clips)', m=40.0, ms=20.0)
    memory = row('OGEM pix', control='ogem', m=43.5, ms=30.0, health='engaged')
    table = run_demo.format_table([control, memory], {'ogem': control})
    lines = table.splitlines()
    assert lines[0].startswith('| model | mAP | slow | medium | fast | degraded | clean |')
    assert lines[2].startswith('| no memory (OGEM clips) | 40.0 | 45.0 |')
    assert lines[3] == ('| OGEM pix | 43.5 (+3.5) | 48.5 (+3.5) | 43.5 (+3.5) | 38.5 (+3.5) | '
                        '33.5 (+3.5) | 45.5 (+3.5) | 30.0 (x1.50) | - | engaged |')


def test_health_text_names_the_figures():
    health = dict(
        temperature={'pixel_memory': 31.2},
        test=dict(points={'pixel.0': dict(entropy_mean=0.21, objects_on_frames_with_gt_mean=2.25,
                                          objects_deleted_total=111.0)}),
        engagement={'pixel.0': dict(engaged=True)})
    assert run_demo.health_text(health) == 'λ 31; pixel.0 H 0.21; 2.2 objects, 111 deleted; engaged'
    warp = dict(temperature={}, test=dict(points={'pixel.0': dict(current_weight_mean=0.5)}),
                flow_epe=dict(epe=0.14, zero_epe=0.173), engagement={})
    assert run_demo.health_text(warp) == 'w_t 0.50; EPE 0.140 (zero 0.173)'
    assert run_demo.health_text(None) == '-'


def test_every_memory_has_a_control_and_two_stages():
    for model in run_demo.MEMORIES:
        assert model['control'] in run_demo.CONTROLS
        for key in ('stage1', 'config'):
            assert osp.isfile(osp.join(ROOT, model[key])), model[key]
    for name, path in run_demo.SHIPPED_MEMORIES.items():
        assert osp.isfile(osp.join(ROOT, path)), (name, path)


def test_every_model_trains_in_its_own_work_dir():
    """run_demo names work dirs by config stem: two configs with one stem would share one."""
    configs = [c['config'] for c in run_demo.CONTROLS.values()]
    for model in run_demo.MEMORIES:
        configs += [model['stage1'], model['config']]
    stems = [run_demo.config_stem(c) for c in configs]
    assert len(set(stems)) == len(stems), sorted(stems)
