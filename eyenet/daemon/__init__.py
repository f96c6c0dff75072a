"""EyeNet as a service: signals, systemd's notifications, logs, child processes, reloads."""
