"""Browser visualisation (Mesa SolaraViz): ``salesim viz [CONFIG]``."""
