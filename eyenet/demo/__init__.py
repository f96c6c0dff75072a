"""The simulated lab behind ``eyenet demo``: see :mod:`eyenet.demo.lab`."""

from eyenet.demo.lab import LabDevice, LabError, RunningLab, start_lab, write_lab

__all__ = ["LabDevice", "LabError", "RunningLab", "start_lab", "write_lab"]
