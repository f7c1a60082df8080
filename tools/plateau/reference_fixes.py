import torch, torch.nn as nn
class _Gelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x); return torch.nn.functional.gelu(x)
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return torch.ops.aten.gelu_backward(g.contiguous(), x.contiguous())
def apply_fixes(m, fixes):
    if 'gelu' in fixes:
        nn.GELU.forward = lambda self, x: _Gelu.apply(x)
        print('fix: GELU backward with contiguous grad')
