"""Register the package's components and set the default scope, as mmdet does."""
import datetime
import warnings

from mmengine.registry import DefaultScope

SCOPE = 'mmvid_memory'


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register every component of mmdet and mmvid_memory into the registries.

    mmengine calls ``<scope>.utils.register_all_modules`` when it builds a
    config whose dicts carry ``_scope_='mmvid_memory'`` (everything inherited
    with ``_base_ = ['mmvid_memory::...']``), and
    ``mmengine.hub.get_model('mmvid_memory::...')`` calls it before building.
    The components themselves live in mmdet's registries; the
    ``mmvid_memory`` registries (``mmvid_memory.registry``) are their
    children, so a lookup in this scope finds mmdet's and this package's
    components alike.

    Args:
        init_default_scope (bool): Whether to make ``mmvid_memory`` the
            global default scope. When the current default scope is another
            one, a new ``mmvid_memory`` scope instance is made current (with a
            warning), as ``mmdet.utils.register_all_modules`` does for mmdet.
            Defaults to True.
    """
    from mmdet.utils import register_all_modules as register_mmdet

    register_mmdet(init_default_scope=False)
    import mmvid_memory  # noqa: F401  (registers every component on import)

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created(SCOPE))
    if never_created:
        DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != SCOPE:
        warnings.warn(f'The current default scope "{current.scope_name}" is not "{SCOPE}"; '
                      f'register_all_modules makes "{SCOPE}" current. Pass '
                      'init_default_scope=False to keep it.')
        DefaultScope.get_instance(f'{SCOPE}-{datetime.datetime.now()}', scope_name=SCOPE)
