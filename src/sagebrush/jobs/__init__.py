"""Jobs: lifecycles, admission and the controllers that run training (and later other) jobs."""
