"""tools/analysis_tools/scale_check.py: every step on a tiny generated set, in
one process (the tool's scale runs give each step a process of its own)."""

import json


def test_records_per_step(import_tool, tmp_path):
    tool = import_tool('analysis_tools/scale_check')
    out = tmp_path / 'scale_check.json'
    work = tmp_path / 'work'
    argv = ['--images', '8', '--work-dir', str(work), '--out', str(out)]
    data = tool.main([*argv, '--in-process', '--workers', '1'])
    assert json.loads(out.read_text()) == data
    assert data['machine']['cpu_count'] >= 1 and data['machine']['torch_threads'] >= 1
    records = data['records']
    assert [(r['images'], r['step']) for r in records] == [
        (8, step) for step in tool.STEPS
    ]
    for record in records:
        assert record['seconds'] > 0 and record['wall_s'] >= record['seconds']
        # seconds are rounded to 0.01: a bound on the rate of a quick step
        rounded = (8 / (record['seconds'] + 0.005), 8 / (record['seconds'] - 0.005))
        assert rounded[0] - 0.05 <= record['images_per_s'] <= rounded[1] + 0.05
        assert record['peak_rss_mb'] > 50
    # the work folder goes (only the records stay) unless --keep
    assert not (work / 'n8').exists()
    # a record of the same (images, step) is replaced, others kept
    again = tool.save(str(out), [dict(records[1], seconds=1.0)])
    assert len(again['records']) == len(records)
    assert again['records'][1]['seconds'] == 1.0
    assert again['records'][0] == records[0]
