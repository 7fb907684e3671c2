"""mmwsss.utils.machine: what a timing was measured on."""

from mmwsss.utils.machine import machine_info, machine_label, same_machine

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 1
model name\t: AMD EPYC
stepping\t: 2

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: another one
stepping\t: 1
"""


def test_machine_info_reads_the_first_processor(tmp_path):
    path = tmp_path / 'cpuinfo'
    path.write_text(CPUINFO)
    info = machine_info(str(path))
    assert info['cpu'] == 'AMD EPYC'
    assert info['cpu_id'] == 'family 23, model 1, stepping 2'
    assert info['cores'] >= 1 and info['threads'] >= 1
    assert machine_label(info).startswith('AMD EPYC (family 23, model 1, stepping 2), ')
    # no cpuinfo: the platform's name, no id
    bare = machine_info(str(tmp_path / 'absent'))
    assert bare['cpu_id'] == '' and bare['cpu']


def test_same_machine_compares_the_timing_keys():
    a = dict(cpu='AMD EPYC', cpu_id='family 23', cores=2, threads=2, cuda=False)
    assert same_machine(a, dict(a, torch='other'))  # versions do not count
    assert not same_machine(a, dict(a, cpu_id='family 25'))
    assert not same_machine(a, dict(a, threads=1))
    # a record from before the id was kept matches on the other keys
    old = {k: v for k, v in a.items() if k != 'cpu_id'}
    assert same_machine(a, old)
    assert machine_label(dict(a, cuda='NVIDIA H200')).endswith(', NVIDIA H200')
