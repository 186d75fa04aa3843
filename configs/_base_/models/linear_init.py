# nn.Linear's own init (kaiming uniform, a = sqrt(5), as in
# torch.nn.Linear.reset_parameters) with bias 0, as an mmengine init_cfg:
# the reference's MobileNetV2 nets (supernet and retrained) leave the
# classifier weight at PyTorch's default and zero its bias (mmcls's
# LinearClsHead default would be normal, std 0.01). Use it as
#   head=dict(..., init_cfg={{_base_.torch_default_fc_init}})
torch_default_fc_init = dict(
    type='Kaiming',
    layer='Linear',
    a=5**0.5,
    mode='fan_in',
    nonlinearity='leaky_relu',
    distribution='uniform',
    bias=0.0)
