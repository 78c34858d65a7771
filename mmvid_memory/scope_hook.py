"""Let mmengine resolve ``mmvid_memory::`` config paths before ``mmvid_memory`` is imported.

mmengine 0.10.7 resolves a config's ``_base_ = ['pkg::...']`` while it parses
the file, against a closed list of OpenMMLab packages (``MODULE2PACKAGE``),
and only then runs the config's ``custom_imports``: a config that inherits a
``mmvid_memory::`` config and imports the package through ``custom_imports``
alone could not be parsed. ``import mmvid_memory`` adds the package to that
list (:func:`mmvid_memory.registry.register_config_package`); for a process
that has not imported it yet, a regular (non-editable) install places this
file at the top of site-packages as ``_mmvid_memory_scope.py`` with a
``mmvid_memory-scope.pth`` that calls :func:`install` at interpreter start.

:func:`install` imports nothing: it leaves a one-shot finder on
``sys.meta_path`` that waits for ``mmengine.config.utils`` and adds
``mmvid_memory`` to its list once that module has run. This file must not
import anything of the package (it runs in every process of the environment).
"""
import importlib.abc
import importlib.util
import sys

SCOPE = 'mmvid_memory'
TARGET = 'mmengine.config.utils'


def _register(module) -> None:
    table = getattr(module, 'MODULE2PACKAGE', None)
    if isinstance(table, dict):
        table.setdefault(SCOPE, SCOPE)


class _RegisteringLoader(importlib.abc.Loader):
    """Runs the real loader, then registers the scope; everything else is the
    real loader's (sources for tracebacks, resources)."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module) -> None:
        self._inner.exec_module(module)
        _register(module)

    def __getattr__(self, name):
        return getattr(self._inner, name)


class _ScopeFinder(importlib.abc.MetaPathFinder):
    """One-shot: finds ``mmengine.config.utils`` with the other finders and
    wraps its loader; then leaves ``sys.meta_path``."""

    def find_spec(self, name, path=None, target=None):
        if name != TARGET:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def install() -> None:
    """Register the scope now (mmengine imported already) or on mmengine's import."""
    if TARGET in sys.modules:
        _register(sys.modules[TARGET])
        return
    if not any(isinstance(f, _ScopeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ScopeFinder())
