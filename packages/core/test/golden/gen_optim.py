"""Golden values for @iv2/core's optimizer utilities, written by PyTorch itself (/usr/bin/python3, torch 1.13):
torch.optim.AdamW over 20 steps with two parameter groups, torch.nn.utils.clip_grad_norm_, the stage-1
cosine schedule as numpy computes it (np.linspace warm-up, then cosine over the remaining iterations), and the
stage-2 LambdaLR cosine schedule through torch.optim.lr_scheduler.LambdaLR."""
import json
import math
import numpy as np
import torch

torch.manual_seed(0)
p1 = torch.randn(4, 3, requires_grad=True)
p2 = torch.randn(5, requires_grad=True)
init = {'w': p1.detach().clone(), 'b': p2.detach().clone()}
opt = torch.optim.AdamW([{'params': [p1], 'weight_decay': 0.05}, {'params': [p2], 'weight_decay': 0.0, 'lr': 2e-3}],
                        lr=1e-2, betas=(0.9, 0.98), eps=1e-6)
grads, states = [], []
for step in range(20):
    g1, g2 = torch.randn(4, 3), torch.randn(5)
    grads.append({'w': g1.flatten().tolist(), 'b': g2.flatten().tolist()})
    p1.grad, p2.grad = g1.clone(), g2.clone()
    opt.step()
    states.append({'w': p1.detach().flatten().tolist(), 'b': p2.detach().flatten().tolist()})
adamw = {'init': {k: v.flatten().tolist() for k, v in init.items()}, 'shapes': {'w': [4, 3], 'b': [5]},
         'grads': grads, 'params': states, 'lr': 1e-2, 'lr_b': 2e-3, 'betas': [0.9, 0.98], 'eps': 1e-6, 'weight_decay': 0.05}

clip = []
for max_norm in [0.5, 100.0]:
    a, b = torch.randn(3, 3), torch.randn(7)
    pa, pb = torch.zeros(3, 3, requires_grad=True), torch.zeros(7, requires_grad=True)
    pa.grad, pb.grad = a.clone(), b.clone()
    total = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm)
    clip.append({'max_norm': max_norm, 'a': a.flatten().tolist(), 'b': b.flatten().tolist(), 'norm': float(total),
                 'a_clipped': pa.grad.flatten().tolist(), 'b_clipped': pb.grad.flatten().tolist()})

base, final, epochs, niter, warm_ep = 2.4e-3, 1.6e-4, 10, 7, 2
warmup = np.linspace(0, base, warm_ep * niter)
iters = np.arange(epochs * niter - warm_ep * niter)
cos = np.array([final + 0.5 * (base - final) * (1 + math.cos(math.pi * i / len(iters))) for i in iters])
stage1 = np.concatenate((warmup, cos)).tolist()

p = torch.zeros(1, requires_grad=True)
o = torch.optim.SGD([p], lr=1e-4)
total_steps, warm_steps, floor = 50, 10, 0.01


def lam(step):
    if step < warm_steps:
        return max(floor, step / max(1, warm_steps))
    progress = (step - warm_steps) / max(1, total_steps - warm_steps)
    return max(floor, 0.5 * (1 + math.cos(math.pi * progress)))


sched = torch.optim.lr_scheduler.LambdaLR(o, lam)
stage2 = []
for _ in range(total_steps):
    stage2.append(o.param_groups[0]['lr'])
    o.step()
    sched.step()

json.dump({'adamw': adamw, 'clip': clip,
           'stage1_cosine': {'base': base, 'final': final, 'total': epochs * niter, 'warmup': warm_ep * niter, 'lr': stage1},
           'stage2_lambda': {'base': 1e-4, 'total': total_steps, 'warmup': warm_steps, 'floor': floor, 'lr': stage2}},
          open('optim.json', 'w'))
print('ok')
