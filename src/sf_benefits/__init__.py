"""SF Benefits: benchmark, project and track the benefits of the SFPC innovations."""

__version__ = "0.1.0"
