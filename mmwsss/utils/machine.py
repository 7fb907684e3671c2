"""What a timing was measured on.

A stage's times mean little without the machine: the bench runs across
sessions, and a later session may get another machine (the same "AMD EPYC" name
covers CPU generations twice as fast as one another). :func:`machine_info` is
recorded with every finished stage (``machine`` in its manifest) and with every
benchmark results file, and :func:`machine_label` is how reports name it.
"""

from __future__ import annotations

import os
import platform

import torch

#: The keys that tell machines apart for timing (not the software versions).
TIMING_KEYS = ('cpu', 'cpu_id', 'cores', 'threads', 'cuda')


def _cpuinfo(path: str = '/proc/cpuinfo') -> dict[str, str]:
    """The first processor's fields of ``path`` ({} where it is unreadable)."""
    fields: dict[str, str] = {}
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block ends
                key, sep, value = line.partition(':')
                if sep:
                    fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def machine_info(cpuinfo: str = '/proc/cpuinfo') -> dict:
    """The machine a timing runs on.

    Returns:
        dict: ``cpu`` (model name), ``cpu_id`` (x86 family / model / stepping,
        which tell CPU generations apart where the name does not; '' where
        unknown), ``cores``, ``threads`` (torch's), ``cuda`` (the device's
        name, or False), ``torch`` and ``python`` versions.
    """
    fields = _cpuinfo(cpuinfo)
    cpu = fields.get('model name') or platform.processor() or platform.machine()
    ids = [
        f'{key} {fields[key]}'
        for key in ('cpu family', 'model', 'stepping')
        if key in fields
    ]
    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else False
    return dict(
        cpu=cpu,
        cpu_id=', '.join(ids).replace('cpu family', 'family'),
        cores=os.cpu_count(),
        threads=torch.get_num_threads(),
        cuda=cuda,
        torch=torch.__version__,
        python=platform.python_version(),
    )


def machine_label(machine: dict) -> str:
    """``machine`` in a few words, e.g. 'AMD EPYC (family 23, model 1,
    stepping 2), 2 cores, 2 threads'."""
    cpu = machine.get('cpu', '?')
    if machine.get('cpu_id'):
        cpu += f" ({machine['cpu_id']})"
    cores, threads = machine.get('cores', '?'), machine.get('threads', '?')
    text = f'{cpu}, {cores} cores, {threads} threads'
    if machine.get('cuda'):
        cuda = machine['cuda']
        text += f", {cuda if isinstance(cuda, str) else 'CUDA'}"
    return text


def same_machine(a: dict | None, b: dict | None) -> bool:
    """Whether two records name the same machine for timing (the
    :data:`TIMING_KEYS`; a record without ``cpu_id`` matches on the others)."""
    if not a or not b:
        return a == b
    keys = [k for k in TIMING_KEYS if k != 'cpu_id' or (a.get(k) and b.get(k))]
    return all(a.get(k) == b.get(k) for k in keys)
