"""How busy the CPU is around a benchmark: other processes' CPU time, the load average, a refusal when busy.

The 1-minute load average lags a minute behind and counts this run's own threads; :class:`OthersCpu` reads
/proc/stat instead, over exactly the window measured, less this process's own CPU time (issue 17: a figure
taken while another job ran is one a user cannot reproduce).
"""

from __future__ import annotations

import os
import resource
import sys
import time


class OthersCpu:
    """CPU time other processes took (and the hypervisor stole) since construction, in cores: /proc/stat's
    busy and steal time of the whole machine, less this process's own CPU time (getrusage, all its threads).
    It sees what a load average misses or lags: a job that starts or stops during the run.  None off Linux."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        own = resource.getrusage(resource.RUSAGE_SELF)
        hz = os.sysconf("SC_CLK_TCK")
        busy = sum(fields[i] for i in (0, 1, 2, 5, 6)) / hz  # user, nice, system, irq, softirq
        return time.perf_counter(), busy - own.ru_utime - own.ru_stime, fields[7] / hz

    def cores(self) -> tuple[float, float] | None:
        """(others' busy cores, stolen cores), averaged since construction."""
        end = self._sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        wall = end[0] - self.start[0]
        return max(0.0, (end[1] - self.start[1]) / wall), (end[2] - self.start[2]) / wall


def quiet_line(max_load: float, max_others: float, allow_busy: bool) -> str:
    """The load for the table's title: the 1-minute load average, and the cores other processes used over the
    last 2 seconds (the load average lags a minute behind).  A busy CPU refuses the run (exit 3) unless
    ``allow_busy``, and then the title says BUSY.  A figure taken on a busy machine is one a user cannot
    reproduce: the reference form suffers more from a busy CPU than the fast one (issue 17)."""
    load, watch = os.getloadavg()[0], OthersCpu()
    time.sleep(2.0)
    others = watch.cores()
    seen = f"load average before: {load:.2f}" + (f", other processes {others[0]:.2f} cores, stolen {others[1]:.2f}" if others else "")
    if load <= max_load and (others is None or others[0] <= max_others):
        return f"; {seen} (quiet: load <= {max_load:.2f}, others <= {max_others:.2f} cores)"
    if not allow_busy:
        print(f"refused: {seen}, above --max-load {max_load:.2f} or --max-others {max_others:.2f}; wait for a quiet "
              "machine, or pass --allow-busy and the table is marked BUSY", file=sys.stderr)
        raise SystemExit(3)
    return f"; BUSY: {seen} (> {max_load:.2f} or > {max_others:.2f} cores), not a figure to quote"
