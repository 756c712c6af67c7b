"""Web and worker integrations: a unit of work per request, and typed errors as HTTP problems.

``asgi`` and ``wsgi`` need nothing beyond the standard library; ``fastapi`` needs the ``fastapi``
extra (``pip install 'archipy-lite[fastapi]'``). The core never imports this package.
"""
