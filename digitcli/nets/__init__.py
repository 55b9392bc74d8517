"""The networks: model builders (a registry keyed by name), losses, schedules, optimizers, augmentation and presets.

Nothing is imported here, so `digitcli --help` stays light."""
