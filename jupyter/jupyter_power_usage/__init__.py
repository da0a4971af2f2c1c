"""jupyter-power-usage: CPU, DRAM and GPU power of the Jupyter server's work, its energy and CO2.

The server side (this package) runs one libjpu engine per server and serves its figures under
/api/metrics/v1/; the front end ships as the prebuilt labextension "jupyter-power-usage".
"""

try:
    from ._version import __version__
except ImportError:  # a source checkout that has not been built
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyter-power-usage"}]


def _jupyter_server_extension_points():
    from .app import PowerUsageApp

    return [{"module": "jupyter_power_usage", "app": PowerUsageApp}]


def _load_jupyter_server_extension(serverapp):
    """Entry for servers that load the module directly (jpserver_extensions)."""
    from .app import PowerUsageApp

    return PowerUsageApp._load_jupyter_server_extension(serverapp)
