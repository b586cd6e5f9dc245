# SWIG's generated module (capi.py, written by the build): the package uses
# only the extension it loads, whose calls are documented on Socket.
from typing import Any

_capi: Any

def __getattr__(name: str) -> Any: ...
