# On the v2 bench set (FashionPaste generator 2.0: 320 px scenes with
# distractors and textured items, objects about as many stride-16 cells
# across as on PASCAL VOC): cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py
# with every image size doubled (the data preprocessor, resizes and crops),
# nothing else changed.
#   python tools/dataset_converters/make_fashionpaste.py --size bench-v2 \
#       --out data/fashionpaste2_bench
#   python tools/train.py configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste2-320.py
_base_ = ['./cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py']
data_root = 'data/fashionpaste2_bench'
image_size = (320, 320)
_sized = dict(RandomResize='scale', RandomCrop='crop_size', Resize='scale')
model = dict(data_preprocessor=dict(size=image_size))
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(t, **{_sized[t['type']]: image_size}) if t['type'] in _sized else t
            for t in _base_.train_dataloader.dataset.pipeline
        ],
    )
)
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
