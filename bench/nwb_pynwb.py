"""NWB side of `cargo xtask bench data`.

  python3 nwb_pynwb.py make <out.nwb> [units] [spikes]   write a real NWB 2.x file with pynwb:
      `units` units (default 100) with `spikes` spikes in all (default 10^7) over 3600 s, each
      unit with one observation interval [0, 3600)
  python3 nwb_pynwb.py bin <file.nwb> <bin_ms>           time what a Python user does to bin it:
      pynwb read of the Units table + numpy.histogram per unit; prints JSON
"""
import json
import sys
import time
from datetime import datetime, timezone

import numpy as np


def make(path, units=100, spikes=10_000_000):
    from pynwb import NWBFile, NWBHDF5IO
    rng = np.random.default_rng(0)
    duration = 3600.0
    per_unit = rng.multinomial(spikes, np.full(units, 1.0 / units))
    nwb = NWBFile(session_description="spikegan-rs binning benchmark", identifier="bench",
                  session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    for u in range(units):
        times = np.sort(rng.uniform(0.0, duration, per_unit[u]))
        nwb.add_unit(spike_times=times, obs_intervals=[[0.0, duration]], id=u)
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)


def bin_file(path, bin_ms):
    from pynwb import NWBHDF5IO
    t0 = time.perf_counter()
    with NWBHDF5IO(path, "r") as io:
        nwb = io.read()
        units = nwb.units
        n = len(units)
        start, stop = 0.0, 3600.0
        edges = np.arange(start, stop + bin_ms / 1000.0 / 2, bin_ms / 1000.0)
        raster = np.zeros((len(edges) - 1, n), dtype=np.uint8)
        total = 0
        for u in range(n):
            times = units["spike_times"][u]
            counts, _ = np.histogram(times, bins=edges)
            raster[:, u] = np.minimum(counts, 255)
            total += counts.sum()
    seconds = time.perf_counter() - t0
    print(json.dumps({"pynwb_numpy_bin_s": seconds, "bins": raster.shape[0], "units": n, "spikes": int(total)}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], *(int(a) for a in sys.argv[3:5]))
    else:
        bin_file(sys.argv[2], float(sys.argv[3]))
