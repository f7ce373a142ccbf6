"""The API's routers, one module per resource; :func:`critmin.api.app.create_app` mounts them."""
