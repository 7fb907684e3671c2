"""Resident memory of this process (Linux ``/proc``; ``getrusage`` elsewhere)."""

from __future__ import annotations

import resource


def reset_peak_rss() -> bool:
    """Reset the process's peak resident set size to its current one.

    Returns:
        bool: Whether it could (``/proc/self/clear_refs`` is Linux's, >= 4.0).
    """
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set size in MiB since the start or the last reset."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size in MiB (0 where ``/proc`` is missing)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
