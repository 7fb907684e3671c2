"""Run the main job on the embedded demo benchmark (README's quick start).

Runs the demo pipeline (configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-demo.py):
generate the demo-size FashionPaste dataset, train the CAM classifier and export
its seeds, make IR labels, train IRN and write its pseudo masks, train
DeepLabV2 on them; then prints the per-stage mIoU next to the all-background
floor and writes the report. Finished stages are skipped on a rerun.
"""

from __future__ import annotations

import argparse
import os.path as osp

from mmengine.config import Config

from mmwsss.datasets import dataset_classes, split_ids
from mmwsss.pipeline import all_background_miou, run_pipeline
from mmwsss.pipeline.report import stage_table

PIPELINE = 'configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-demo.py'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='mmwsss demo: the whole pipeline')
    parser.add_argument('--config', default=PIPELINE, help='pipeline config')
    parser.add_argument('--work-dir', help="override the pipeline's work_dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    results = run_pipeline(cfg)
    masks = [
        osp.join(cfg.data_root, 'SegmentationClass', f'{i}.png')
        for i in split_ids(cfg.data_root, 'train')
    ]
    floor = all_background_miou(masks, len(dataset_classes(cfg.data_root)))
    print('\n'.join(['', *stage_table(results), '']))
    print(f'all-background floor on train: {floor:.1f} mIoU')
    print(f'report: {osp.join(cfg.work_dir, "report", "report.md")}')
    return results


if __name__ == '__main__':
    main()
