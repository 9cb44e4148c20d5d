# YOLOX trained with RTMDet's hyper-parameters (AdamW, batch 32, resize every iteration).
# Only training changes: the detector is YOLOX-s itself.
_base_ = './yolox_s_fast_8xb8-300e_coco.py'

batch_augments_interval = 1
base_lr = 0.004

model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(
            type='YOLOXBatchSyncRandomResize',
            random_size_range=(480, 800),
            size_divisor=32,
            interval=batch_augments_interval)
    ]))
