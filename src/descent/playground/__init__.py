"""The browser playground: `descent playground` serves a page that trains networks live.

A local web server (Starlette + uvicorn, the `playground` extra) and a static page of
plain JavaScript modules, all shipped in this package. See `descent.playground.server`.
"""
