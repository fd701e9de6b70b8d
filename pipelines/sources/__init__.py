"""Getting the publishers' files: the source registry, downloads and the offline mirror, archive safety, upstream
change probes. Imports only `pipelines.base`."""
