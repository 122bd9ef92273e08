"""Where instances run: a small launcher interface and its implementations."""

from sagebrush.compute.base import Handle, Launcher, LaunchSpec
from sagebrush.compute.local import LocalLauncher

__all__ = ["Handle", "LaunchSpec", "Launcher", "LocalLauncher"]
