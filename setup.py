"""Install mmvid_memory and build its compiled extension ``mmvid_memory._C``.

C++ sources under ``mmvid_memory/ops/csrc`` are always compiled; the CUDA
sources are added when torch is a CUDA build and a CUDA toolkit is found
(or ``MMVID_WITH_CUDA=1`` forces them). Configs, tools and the shipped
checkpoints are shipped inside the package under ``mmvid_memory/.mim`` like
mmdet ships its configs, so that ``mmvid_memory::`` config paths resolve for
a pip-installed package: links into the source tree for an editable install,
copies in the build folder for a wheel or a regular install.
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


#: What ships inside the package under ``mmvid_memory/.mim`` (as mmdet ships
#: its configs), so that ``mmvid_memory::`` config paths, the tools and the
#: shipped checkpoints resolve for an installed package.
MIM_ITEMS = ('configs', 'tools', 'demo', 'model-index.yml', 'checkpoints')


def add_mim_symlinks() -> None:
    """Editable installs: link ``mmvid_memory/.mim/<item>`` to the source tree.

    Edits show at once. Only links are made or replaced here: a build for a
    wheel or a regular install never writes into the source tree (its copies
    go into the build folder, see :class:`BuildPyWithMim`).
    """
    if not ('develop' in sys.argv or 'editable_wheel' in sys.argv):
        return
    mim_root = osp.join(ROOT, 'mmvid_memory', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_ITEMS:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_root, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.symlink(osp.relpath(src, mim_root), dst, target_is_directory=osp.isdir(src))


def get_build_py():
    """``build_py`` that copies :data:`MIM_ITEMS` into the built package."""
    from setuptools.command.build_py import build_py

    class BuildPyWithMim(build_py):
        """Copy configs, tools, demo, the model index and the shipped
        checkpoints into ``<build_lib>/mmvid_memory/.mim`` (wheels, regular
        installs). The source tree, whose ``.mim`` may hold an editable
        install's links, is not written to.

        Also places ``mmvid_memory/scope_hook.py`` at the top of the install
        as ``_mmvid_memory_scope.py`` with a ``.pth`` that runs it at start:
        mmengine then parses ``mmvid_memory::`` bases of a config whose only
        import of the package is ``custom_imports`` (see that file)."""

        def run(self) -> None:
            super().run()
            if getattr(self, 'editable_mode', False):
                return
            shutil.copyfile(osp.join(ROOT, 'mmvid_memory', 'scope_hook.py'),
                            osp.join(self.build_lib, '_mmvid_memory_scope.py'))
            with open(osp.join(self.build_lib, 'mmvid_memory-scope.pth'), 'w') as f:
                f.write('import _mmvid_memory_scope; _mmvid_memory_scope.install()\n')
            mim_root = osp.join(self.build_lib, 'mmvid_memory', '.mim')
            ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
            for name in MIM_ITEMS:
                src = osp.join(ROOT, name)
                dst = osp.join(mim_root, name)
                if not osp.exists(src):
                    continue
                if osp.islink(dst) or osp.isfile(dst):
                    os.remove(dst)
                elif osp.isdir(dst):
                    shutil.rmtree(dst)
                os.makedirs(mim_root, exist_ok=True)
                if osp.isdir(src):
                    shutil.copytree(src, dst, ignore=ignore)
                else:
                    shutil.copyfile(src, dst)

    return BuildPyWithMim


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
    return {'build_ext': BuildExtension.with_options(use_ninja=True), 'build_py': get_build_py()}


if __name__ == '__main__':
    add_mim_symlinks()
    setup(
        name='mmvid_memory',
        version=read_version(),
        description='Online video object detection with memory for MMDetection '
                    '(object guided external memory, memory warps, R-FCN, PSRoIPool)',
        long_description=open(osp.join(ROOT, 'README.md')).read() if osp.exists(
            osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        # `tests.*` too: the test sub-packages would otherwise install as a
        # top-level `tests` package into site-packages.
        packages=find_packages(exclude=('configs', 'configs.*', 'tools', 'tools.*', 'demo',
                                        'demo.*', 'tests', 'tests.*', 'docs', 'docs.*')),
        include_package_data=True,
        package_data={'mmvid_memory': ['ops/csrc/**/*']},
        install_requires=parse_requirements('runtime.txt'),
        extras_require={'tests': parse_requirements('tests.txt'),
                        'mmcv': parse_requirements('mmcv.txt'),
                        'optional': parse_requirements('optional.txt')},
        ext_modules=make_extensions(),
        cmdclass=get_cmdclass(),
        zip_safe=False,
        license='Apache License 2.0',
    )
