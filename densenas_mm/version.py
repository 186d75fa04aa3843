"""Version of densenas_mm."""
__version__ = '0.1.0'
