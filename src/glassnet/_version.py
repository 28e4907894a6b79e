"""The version of glassnet, in a module of its own so that any module can read it without importing the
package's ``__init__`` (which imports nearly every module: importing it from one of them would be a cycle)."""

__version__ = "0.1.0"
