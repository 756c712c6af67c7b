"""Request contexts in the manner of polydatum: a DataManager, services, lazy resources, middleware.

```python
dm = DataManager()
dm.register_services(users=UserService())
dm.register_resources(session=session_resource(adapter))
dm.register_context_middleware(atomic_middleware(adapter))

with dm.context(meta={"user": "bob"}) as ctx:
    ctx.dal.users.get_current()
```
"""

from archipy_lite.context.context import Context, Middleware
from archipy_lite.context.database import atomic_middleware, session_resource
from archipy_lite.context.errors import ContextError, ResourceTeardownError, UnknownResourceError, UnknownServiceError
from archipy_lite.context.manager import DalScope, DataManager
from archipy_lite.context.meta import Meta, freeze
from archipy_lite.context.resources import ResourceFactory, Resources
from archipy_lite.context.services import DataAccessLayer, Service

__all__ = [
    "Context",
    "ContextError",
    "DalScope",
    "DataAccessLayer",
    "DataManager",
    "Meta",
    "Middleware",
    "ResourceFactory",
    "ResourceTeardownError",
    "Resources",
    "Service",
    "UnknownResourceError",
    "UnknownServiceError",
    "atomic_middleware",
    "freeze",
    "session_resource",
]
