# On the v2 bench set (FashionPaste generator 2.0: 320 px scenes with
# distractors and textured items, objects about as many stride-16 cells
# across as on PASCAL VOC): prm_effl0_1xb16-8e_fashionpaste-160.py
# with every image size doubled (the data preprocessor, resizes and crops)
# and PRM's peak grid: the stride-16 response maps upsampled x4 before peak
# finding, so that the 3 x 3 window works at stride 4 as PRM's does (its
# stride-32 maps upsampled x8, sub_pixel_locating_factor 8); the 160 px config
# finds peaks on the stride-16 grid itself (20 x 20 cells here, a window of 48
# px).
#   python tools/dataset_converters/make_fashionpaste.py --size bench-v2 \
#       --out data/fashionpaste2_bench
#   python tools/train.py configs/prm/prm_effl0_1xb16-8e_fashionpaste2-320.py
_base_ = ['./prm_effl0_1xb16-8e_fashionpaste-160.py']
data_root = 'data/fashionpaste2_bench'
image_size = (320, 320)
_sized = dict(RandomResize='scale', RandomCrop='crop_size', Resize='scale')
model = dict(data_preprocessor=dict(size=image_size), head=dict(upsample=4))
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
