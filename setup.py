"""Install mmvid_memory and build its compiled extension ``mmvid_memory._C``.

C++ sources under ``mmvid_memory/ops/csrc`` are always compiled; the CUDA
sources are added when torch is a CUDA build and a CUDA toolkit is found
(or ``MMVID_WITH_CUDA=1`` forces them). Configs and tools are shipped inside
the package under ``mmvid_memory/.mim`` like mmdet does, so that
``mmvid_memory::`` config paths resolve for a pip-installed package.
"""
import glob
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
CSRC = osp.join('mmvid_memory', 'ops', 'csrc')


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(ROOT, 'mmvid_memory', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Requirement lines of ``requirements/<fname>``, comments dropped."""
    reqs = []
    with open(osp.join(ROOT, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Place configs and tools under ``mmvid_memory/.mim``.

    Editable installs get symlinks (edits show at once); builds get copies.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install', 'build', 'build_py')):
        mode = 'copy'
    else:
        return
    mim_root = osp.join(ROOT, 'mmvid_memory', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in ('configs', 'tools', 'demo', 'model-index.yml'):
        src = osp.join(ROOT, name)
        dst = osp.join(mim_root, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_root), dst, target_is_directory=osp.isdir(src))
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def cuda_wanted() -> bool:
    flag = os.environ.get('MMVID_WITH_CUDA')
    if flag is not None:
        return flag == '1'
    import torch
    from torch.utils.cpp_extension import CUDA_HOME
    return torch.version.cuda is not None and CUDA_HOME is not None


def make_extensions() -> list:
    from torch.utils.cpp_extension import CppExtension, CUDAExtension

    cpp_sources = sorted(glob.glob(osp.join(CSRC, '**', '*.cpp'), recursive=True))
    cuda_sources = sorted(glob.glob(osp.join(CSRC, '**', '*.cu'), recursive=True))
    # -ffp-contract=off: no fused multiply-adds in the roi/bin arithmetic, so the C++
    # kernels pick the same bins as the pure-PyTorch PSRoIPool (see ps_roi_pool_geometry.h).
    extra_compile_args = {'cxx': ['-O3', '-std=c++20', '-ffp-contract=off']}
    define_macros = []
    include_dirs = [osp.join(ROOT, CSRC)]
    if cuda_wanted() and cuda_sources:
        define_macros.append(('MMVID_WITH_CUDA', None))
        extra_compile_args['nvcc'] = ['-O3', '-std=c++20', '--expt-relaxed-constexpr']
        return [CUDAExtension(
            'mmvid_memory._C', cpp_sources + cuda_sources,
            include_dirs=include_dirs, define_macros=define_macros,
            extra_compile_args=extra_compile_args)]
    if cuda_sources:
        warnings.warn('mmvid_memory: building without CUDA kernels '
                      '(CPU build of torch or no CUDA toolkit).')
    return [CppExtension(
        'mmvid_memory._C', cpp_sources, include_dirs=include_dirs,
        define_macros=define_macros, extra_compile_args=extra_compile_args)]


def get_cmdclass() -> dict:
    from torch.utils.cpp_extension import BuildExtension
    return {'build_ext': BuildExtension.with_options(use_ninja=True)}


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmvid_memory',
        version=read_version(),
        description='Online video object detection with memory for MMDetection '
                    '(object guided external memory, memory warps, R-FCN, PSRoIPool)',
        long_description=open(osp.join(ROOT, 'README.md')).read() if osp.exists(
            osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests', 'docs')),
        include_package_data=True,
        package_data={'mmvid_memory': ['.mim/**/*', 'ops/csrc/**/*']},
        install_requires=parse_requirements('runtime.txt'),
        extras_require={'tests': parse_requirements('tests.txt'),
                        'mmcv': parse_requirements('mmcv.txt')},
        ext_modules=make_extensions(),
        cmdclass=get_cmdclass(),
        zip_safe=False,
        license='Apache License 2.0',
    )
