"""Run the main job on the embedded demo benchmark (README's quick start).

Generates the demo-size FashionPaste dataset, trains the CAM classifier,
exports multi-scale seeds for the train split and prints their mIoU next to the
all-background floor. Finished steps are skipped on a rerun.
"""

from __future__ import annotations

import argparse
import os.path as osp

from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES, generate_fashionpaste
from mmwsss.pipeline import all_background_miou, run_cam_stage

CAM_CONFIG = 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='mmwsss demo: CAM seeds on FashionPaste'
    )
    parser.add_argument('--data-root', default='data/fashionpaste_demo')
    parser.add_argument('--size', default='demo', help='FashionPaste size preset')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    print(f'[demo] dataset: {args.data_root} ({args.size})')
    generate_fashionpaste(args.data_root, size=args.size, seed=0)
    print('[demo] CAM stage: train, export seeds, score (skipped when finished)')
    result = run_cam_stage(CAM_CONFIG, osp.join(args.work_dir, 'cam'), args.data_root)
    split = osp.join(args.data_root, 'ImageSets/Segmentation/train.txt')
    with open(split) as f:
        masks = [
            osp.join(args.data_root, 'SegmentationClass', f'{i}.png')
            for i in f.read().split()
        ]
    floor = all_background_miou(masks, len(FASHIONPASTE_CLASSES))
    test = result['test']
    print(
        '\n| stage | mIoU @ bg 0.15 | best mIoU (bg) | val mAP |\n|---|---|---|---|\n'
        f'| all background | {floor:.1f} | - | - |\n'
        f"| CAM seeds (train) | {test['seed/mIoU']:.1f} | "
        f"{test['seed/mIoU_best']:.1f} ({test['seed/best_bg_score']:.2f}) | "
        f"{result['val']['cls/mAP']:.1f} |\n"
    )
    print(f"[demo] seeds: {result['seed_dir']}")
    print(f"[demo] sweep curve: {osp.join(args.work_dir, 'cam', 'seed_eval')}")
    return result


if __name__ == '__main__':
    main()
