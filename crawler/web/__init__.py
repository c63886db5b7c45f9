"""`defnews serve`: the web reader (Starlette + Jinja2, served by uvicorn). No SQL here:
every query is in storage/reader.py."""
