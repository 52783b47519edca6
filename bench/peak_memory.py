"""The peak resident memory of this process, as the benchmarks report it."""

import resource


def peak_mib():
    """This process's peak resident set since it started its program, in MiB.

    Read from ``VmHWM`` in ``/proc/self/status``: the high-water mark of the
    process's own memory, which starts afresh at ``exec``. ``getrusage``'s
    ``ru_maxrss`` does not: Linux carries the parent's high-water mark into a
    child that ``subprocess`` forks and execs, so a benchmark whose parent had
    built a 320 MB data set reported 320 MB for a run that peaked at 200 MB.
    ``ru_maxrss`` stays the fallback where there is no ``/proc``.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
