"""Quality and speed benchmarks: instance readers, baselines and benchmark scripts."""
