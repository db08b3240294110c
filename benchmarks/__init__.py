"""Speed and overhead benchmarks (issue #8); figures in benchmarks/RESULTS.md, run them with benchmarks.run_all."""
