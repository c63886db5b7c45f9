"""defnews: an Arabic defense-news crawler and RSS aggregator."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/defnews/defnews"
