# torch 1.13 CPU: GELU backward with a permuted (non-contiguous) grad_output against the same with a contiguous
# one; SiLU/tanh/ReLU as controls. Prints the max errors; the GELU rows are wrong on Debian 12's torch 1.13.1.
import torch
torch.manual_seed(0)
for shape, perm in [((1,744,4,16),(0,3,1,2)), ((2,744,4,16),(0,3,1,2)), ((8,5,6),(0,2,1)), ((1,7,9,16),(0,3,1,2))]:
    x = torch.randn(*[shape[p] for p in perm], requires_grad=True)
    g = torch.randn(*shape).permute(*perm)
    y = torch.nn.functional.gelu(x); y.backward(g)
    ref = torch.autograd.grad(torch.nn.functional.gelu(x), x, g.contiguous())[0]
    print(shape, perm, 'max err', float((x.grad - ref).abs().max()), 'ref max', float(ref.abs().max()))
    # direct kernel
    d = torch.ops.aten.gelu_backward(g, x.detach())
    print('   direct gelu_backward err', float((d - ref).abs().max()), d.is_contiguous(), d.stride())
    for act in [torch.nn.functional.silu, torch.tanh, torch.relu]:
        x.grad=None; act(x).backward(g); r2 = torch.autograd.grad(act(x), x, g.contiguous())[0]
        print('   ', act.__name__, float((x.grad - r2).abs().max()))
