# The instance metrics of every Mask R-CNN config: mmdet's COCO metric (bbox /
# segm AP, AP50) and the VOC-style mask AP, ABO, precision and recall that PRM,
# WISE and IRN report (AP at IoU 0.25 / 0.5 / 0.75, all-point interpolation, VOC
# matching: mmwsss.evaluation.VOCMaskAPMetric), both on the same ground-truth
# json. A config sets the json on each:
#   val_evaluator = [dict(m, ann_file=JSON) for m in _base_.instance_metrics]
instance_metrics = [
    dict(type='CocoMetric', metric=['bbox', 'segm'], format_only=False),
    dict(type='VOCMaskAPMetric', _scope_='mmwsss'),
]
