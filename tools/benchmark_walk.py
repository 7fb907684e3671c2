"""Random walk benchmark: our sparse walk vs the published dense one.

    python tools/benchmark_walk.py                       # all sizes, JSON to stdout
    python tools/benchmark_walk.py --one sparse 125 94   # one measurement
    python tools/benchmark_walk.py --one torch 80 80 --device cuda

The code lives in :mod:`mmwsss.pipeline.walk_benchmark` (the benchmark
pipeline's ``WalkBenchmark`` stage runs the same comparison).
"""

from mmwsss.pipeline.walk_benchmark import main

if __name__ == '__main__':
    main()
