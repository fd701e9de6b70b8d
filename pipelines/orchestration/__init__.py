"""The build plan above the stages: what changed since the last successful build, and so what to run."""
