# On the v2 bench set (FashionPaste generator 2.0: 320 px scenes with
# distractors and textured items, objects about as many stride-16 cells
# across as on PASCAL VOC): deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160_gt.py
# with every image size doubled (the data preprocessor, resizes and crops)
# and the ASPP rates scaled with the logits again: 3 / 6 / 9 / 12 for the
# 20 x 20 logits of a 320 px crop (DeepLab's 6 / 12 / 18 / 24 for 41 x 41 at
# a 321 crop, the same reach in pixels at output stride 16), where the 160 px
# config's 2 / 3 / 4 / 6 fit its 10 x 10.
#   python tools/dataset_converters/make_fashionpaste.py --size bench-v2 \
#       --out data/fashionpaste2_bench
#   python tools/train.py configs/deeplabv2/deeplabv2_effl0-d16_1xb8-1000it_fashionpaste2-320_gt.py
_base_ = ['./deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160_gt.py']
data_root = 'data/fashionpaste2_bench'
image_size = (320, 320)
_sized = dict(RandomResize='scale', RandomCrop='crop_size', Resize='scale')
model = dict(
    data_preprocessor=dict(size=image_size),
    decode_head=dict(dilations=(3, 6, 9, 12)),
)
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            data_root=data_root,
            pipeline=[
                dict(t, **{_sized[t['type']]: image_size}) if t['type'] in _sized else t
                for t in _base_.train_dataloader.dataset.dataset.pipeline
            ],
        )
    )
)
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
