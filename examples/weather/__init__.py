"""The weather example code location: Seattle's daily NOAA observations as assets.

Import ``weather.definitions`` with ``examples/`` on ``sys.path``, or run the file
directly: ``assetcron asset materialize -f examples/weather/definitions.py --select '*'
--scheduled-time 2015-06-02T06:00:00Z``.
"""
