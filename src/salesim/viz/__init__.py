"""The browser page (Solara): ``salesim viz [CONFIG]``; ``app.Page`` is the page."""
