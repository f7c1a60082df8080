# Diagnosis of the ln 2 plateau (issue 24): trains the reference LuMamba (../shared/reference, imported, not copied)
# on the demo windows from demo_windows.py and prints per-stage sample spread and per-module gradient norms.
import sys, os, math, time, numpy as np, torch
HERE = os.path.dirname(os.path.abspath(__file__)); REF = os.path.join(HERE, '../../../shared/reference')
sys.path[:0] = [os.path.join(REF, 'shims'), REF]
from build_reference import build
import argparse
ap = argparse.ArgumentParser()
ap.add_argument('--lr', type=float, default=1e-3); ap.add_argument('--epochs', type=int, default=10)
ap.add_argument('--head', default='mamba'); ap.add_argument('--clip', type=float, default=0)
ap.add_argument('--fix', default=''); ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--double', action='store_true')
a = ap.parse_args()
torch.set_num_threads(2)
z = np.load('/tmp/lumamba_demo_windows.npz')
X, Y, L = torch.tensor(z['Xtr']), torch.tensor(z['Ytr']), torch.tensor(z['locs'])
m = build(num_classes=2, classifier_option=a.head, seed=a.seed)
fixes = a.fix.split(',') if a.fix else []
sys.path.insert(0, HERE); from reference_fixes import apply_fixes
apply_fixes(m, fixes)
if a.double: m = m.double(); X = X.double(); L = L.double()
# spread hooks: across-sample std / rms at each stage output (mean over patches first)
stats = {}
def hook(name):
    def f(mod, inp, out):
        o = out[0] if isinstance(out, tuple) else out
        stats[name] = o.detach()
    return f
m.cross_attn.register_forward_hook(hook('cross_attn'))
for i, b in enumerate(m.mamba_blocks): b.register_forward_hook(hook(f'mamba{i}'))
m.classifier.fc1.register_forward_hook(hook('head.fc1'))
m.classifier.mamba_1.register_forward_hook(hook('head.mamba'))
nodecay = lambda n, p: p.ndim <= 1 or n.endswith('.bias') or 'query_embed' in n or 'learned_agg' in n or 'A_log' in n or n.endswith('.D')
params = [{'params': [p for n, p in m.named_parameters() if p.requires_grad and not nodecay(n, p)], 'weight_decay': 0.05},
          {'params': [p for n, p in m.named_parameters() if p.requires_grad and nodecay(n, p)], 'weight_decay': 0.0}]
opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.05)
g = torch.Generator().manual_seed(a.seed)
B = 16; step = 0
for ep in range(a.epochs):
    m.train(); perm = torch.randperm(len(X), generator=g); tot = 0; n = 0
    for i in range(0, len(X), B):
        idx = perm[i:i+B]; xb = X[idx]; lb = L.unsqueeze(0).repeat(len(idx), 1, 1)
        mask = torch.zeros_like(xb, dtype=torch.bool)
        out = m(xb, mask, lb)[0]
        loss = torch.nn.functional.cross_entropy(out, Y[idx])
        opt.zero_grad(); loss.backward()
        if step < 3 or step % 20 == 0:
            gn = {}
            for nme, p in m.named_parameters():
                if p.grad is None: continue
                k = nme.split('.')[0] + ('.' + nme.split('.')[1] if nme.startswith(('mamba_blocks', 'classifier')) else '')
                gn[k] = gn.get(k, 0) + float(p.grad.double().norm()**2)
            # spread: for each stage, features (B, S, D) or (B*S, Q, E)
            sp = {}
            for k, v in stats.items():
                v = v.double()
                if k == 'cross_attn': v = v.reshape(len(idx), -1, v.shape[-2] * v.shape[-1])
                v = v.mean(1)  # over patches
                sp[k] = float(v.std(0).mean() / v.pow(2).mean().sqrt())
            print(f'step {step} loss {loss.item():.4f} spread ' + ' '.join(f'{k}={v:.3g}' for k, v in sp.items()))
            print('   gnorm ' + ' '.join(f'{k}={math.sqrt(v):.2e}' for k, v in gn.items()))
        if a.clip: torch.nn.utils.clip_grad_norm_(m.parameters(), a.clip)
        opt.step(); step += 1
        tot += loss.item() * len(idx); n += len(idx)
        if not math.isfinite(loss.item()): print('NaN at step', step); sys.exit(0)
    print(f'epoch {ep+1} train loss {tot/n:.4f}', flush=True)
