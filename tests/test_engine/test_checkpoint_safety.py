"""Crafted and damaged checkpoints are refused with a clear error naming the file.

The crafted files are loaded in a child process: a memory-corruption bug would
crash that process (and fail these tests) instead of pytest.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch

from mmvid_memory.utils import CheckpointError, load_checkpoint_file, load_model_checkpoint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Runs in a child process: writes each crafted checkpoint, loads it with the
# package's loader (and one with a plain torch.load after `import mmvid_memory`),
# and prints one JSON line per case.
CHILD = textwrap.dedent(r'''
    import json, os, os.path as osp, sys
    import numpy as np
    import torch
    import mmvid_memory
    from mmvid_memory.utils import load_checkpoint_file
    try:
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray

    out_dir = sys.argv[1]

    class Crafted:
        """Pickles as whatever reduce tuple it is given."""
        def __init__(self, reduce):
            self.reduce = reduce
        def __reduce__(self):
            return self.reduce

    f8 = np.dtype('f8')
    # A structured dtype with an object field whose "holds references" flags
    # are cleared (flags 0): numpy would read raw bytes as object pointers.
    struct = Crafted((np.dtype, ('V16', False, True),
                      (3, '|', None, ('a', 'b'), {'a': (np.dtype('O'), 0), 'b': (f8, 8)},
                       16, 1, 0)))
    cases = {
        'structured_object_dtype': Crafted((multiarray._reconstruct, (np.ndarray, (0,), b'b'),
                                            (1, (1,), struct, False, b'AAAAAAAA' + bytes(8)))),
        # A plain code whose state grafts fields onto it.
        'numeric_code_with_fields': Crafted((np.dtype, ('f8', False, True),
                                             (3, '<', None, ('a',), {'a': (f8, 0)}, 8, 1, 0))),
        'object_array': np.array([1, 'x'], dtype=object),
        'object_scalar': Crafted((multiarray.scalar, (np.dtype('O'), 'payload'))),
        'out_of_bounds_buffer': Crafted((multiarray._reconstruct, (np.ndarray, (0,), b'b'),
                                         (1, (1000,), f8, False, bytes(8)))),
        'short_scalar': Crafted((multiarray.scalar, (f8, b'\x00\x01'))),
        'ndarray_over_buffer': Crafted((np.ndarray, ((4,), f8, bytes(8), 0))),
        'os_system': Crafted((os.system, ('touch ' + osp.join(out_dir, 'pwned'),))),
        'getattr': Crafted((getattr, (np.ndarray, 'tofile'))),
        'bytes_bomb': Crafted((bytes, (10 ** 12, ))),
        'datetime_dtype': np.datetime64('2020-01-01'),
    }
    for name, obj in cases.items():
        path = osp.join(out_dir, name + '.pth')
        torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'x': obj}}, path)
        try:
            load_checkpoint_file(path)
            row = dict(case=name, error=None)
        except Exception as err:
            row = dict(case=name, error=type(err).__name__, message=str(err))
        print(json.dumps(row), flush=True)
    # A plain torch.load in a process that imported mmvid_memory keeps torch's
    # defaults: the numpy names are not allowed process-wide.
    try:
        torch.load(osp.join(out_dir, 'structured_object_dtype.pth'), weights_only=True)
        row = dict(case='plain_torch_load', error=None)
    except Exception as err:
        row = dict(case='plain_torch_load', error=type(err).__name__, message=str(err))
    print(json.dumps(row), flush=True)
    # A runner checkpoint carrying one in its meta does not resume.
    sys.path.insert(0, sys.argv[2])
    from tests.test_engine.test_resume import make_runner
    work = osp.join(out_dir, 'work')
    make_runner(work, max_iters=2, resume=False).train()
    ckpt = load_checkpoint_file(osp.join(work, 'iter_2.pth'))
    ckpt['meta']['evil'] = cases['structured_object_dtype']
    torch.save(ckpt, osp.join(work, 'iter_2.pth'))
    try:
        make_runner(work, max_iters=4, resume=True).train()
        row = dict(case='runner_resume', error=None)
    except Exception as err:
        row = dict(case='runner_resume', error=type(err).__name__, message=str(err))
    print(json.dumps(row), flush=True)
''')

REFUSED = {
    'structured_object_dtype': "numpy dtype 'V16'",
    'numeric_code_with_fields': 'not that of a plain numeric dtype',
    'object_array': "numpy dtype 'O8'",
    'object_scalar': "numpy dtype 'O8'",
    'out_of_bounds_buffer': 'needs 8000 bytes, the file gives 8',
    'short_scalar': 'needs 8 bytes, the file gives 2',
    'ndarray_over_buffer': 'calls numpy.ndarray(...) directly',
    'os_system': 'refers to posix.system',
    'getattr': 'refers to builtins.getattr',
    'bytes_bomb': 'calls bytes with arguments (1000000000000,)',
    'datetime_dtype': "numpy dtype 'M8'",
    'runner_resume': "numpy dtype 'V16'",
}


@pytest.fixture(scope='module')
def crafted_results(tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp('crafted'))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', CHILD, out_dir, ROOT], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300)
    assert proc.returncode == 0, (f'the loading process died (rc {proc.returncode}):\n'
                                  f'{proc.stderr[-3000:]}')
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]
    return {row['case']: row for row in rows}, out_dir


@pytest.mark.parametrize('case', sorted(REFUSED))
def test_crafted_checkpoint_is_refused(crafted_results, case):
    results, out_dir = crafted_results
    row = results[case]
    assert row['error'] == 'UnsafeCheckpointError', row
    assert REFUSED[case] in row['message']
    assert '.pth' in row['message']  # names the file
    assert 'weights_only' not in row['message']
    assert not osp.exists(osp.join(out_dir, 'pwned'))


def test_plain_torch_load_keeps_torch_defaults(crafted_results):
    row = crafted_results[0]['plain_torch_load']
    assert row['error'] == 'UnpicklingError', row


def test_every_numeric_numpy_value_loads(tmp_path):
    """What the allow-list admits round-trips: every numeric dtype, both byte orders,
    0-d, empty and Fortran-ordered arrays, and scalars."""
    import numpy as np
    values = {}
    for code in ('?', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8', 'c8',
                 'c16', '>f8', '>i4'):
        dtype = np.dtype(code)
        values[code] = [np.arange(3).astype(dtype), dtype.type(1), np.array(5, dtype),
                        np.zeros((0, 4), dtype), np.asfortranarray(np.ones((2, 3), dtype))]
    path = str(tmp_path / 'numbers.pth')
    torch.save(dict(meta=values, state_dict=dict(w=torch.ones(2))), path)
    loaded = load_checkpoint_file(path)['meta']
    for code, expected in values.items():
        for got, want in zip(loaded[code], expected):
            # (numpy's own pickling stores big-endian values natively.)
            assert got.dtype.name == want.dtype.name and np.array_equal(got, want), code
    assert loaded['f4'][4].flags['F_CONTIGUOUS']


def _runner_checkpoint(tmp_path) -> str:
    from tests.test_engine.test_resume import make_runner
    work_dir = str(tmp_path / 'work')
    make_runner(work_dir, max_iters=2, resume=False).train()
    return osp.join(work_dir, 'iter_2.pth')


def test_empty_and_text_files_get_clear_errors(tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointError, match=r'empty.pth: the file is empty \(0 bytes\)'):
        load_checkpoint_file(str(empty))
    for name, content in (('notes.pth', b'hello, these are my notes\n'),
                          ('numbers.pth', b'1 2 3\n'), ('e.pth', b'e')):
        text = tmp_path / name
        text.write_bytes(content)
        with pytest.raises(CheckpointError, match='not a PyTorch checkpoint') as info:
            load_checkpoint_file(str(text))
        assert name in str(info.value) and 'weights_only' not in str(info.value)
    with pytest.raises(FileNotFoundError, match='checkpoint file not found'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_corrupted_bytes_are_detected(tmp_path):
    import zipfile
    path = _runner_checkpoint(tmp_path)
    data = bytearray(open(path, 'rb').read())
    # 8 zero bytes in the middle of the largest record's data; torch itself
    # loads such a file silently (it does not check the zip CRCs).
    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    header = data[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[26:28], 'little') + \
        int.from_bytes(header[28:30], 'little')
    middle = start + info.file_size // 2
    assert data[middle:middle + 8] != bytes(8)
    data[middle:middle + 8] = bytes(8)
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f'damaged.pth: record .*{info.filename}.* CRC-32'):
        load_checkpoint_file(str(damaged))
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(bytes(data[:len(data) // 3]))
    with pytest.raises(CheckpointError, match='truncated.pth: a truncated or damaged zip'):
        load_checkpoint_file(str(truncated))


def test_published_name_is_verified_wherever_it_is_loaded(tmp_path):
    from mmvid_memory.utils.published import sha256_of
    path = _runner_checkpoint(tmp_path)
    good = tmp_path / f'model-{sha256_of(path)[:8]}.pth'
    os.replace(path, good)
    assert load_checkpoint_file(str(good))['meta']['iter'] == 2
    data = bytearray(good.read_bytes())
    data[100] ^= 1  # one bit anywhere
    bad = tmp_path / good.name.replace('model', 'copy')
    bad.write_bytes(bytes(data))
    model = torch.nn.Linear(2, 1)
    with pytest.raises(CheckpointError, match='content sha256 starts with'):
        load_model_checkpoint(model, str(bad))  # through mmengine's CheckpointLoader
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(CheckpointError, match='content sha256 starts with'):
        _load_checkpoint(str(bad))
