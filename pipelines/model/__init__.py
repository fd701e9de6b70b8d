"""The index and the benchmark: the indicator framework, peer groups, the COINr-style method steps, the index build
and the focus country's benchmark. Imports `pipelines.base`, `pipelines.sources` and `pipelines.staging`."""
