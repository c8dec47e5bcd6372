"""The official PyTorch InternVideo2 on the CPU, measured like encoder_bench.mjs measures iv2.

Builds `PretrainInternVideo2` from the official `internvideo2.py` (InternVideo2/multi_modality/models/backbones/
internvideo2/ of github.com/OpenGVLab/InternVideo), run as it is on its plain path (use_flash_attn,
use_fused_rmsnorm and use_fused_mlp off), the way the golden fixtures were made. Libraries that path does not use
are stood in for when they are not installed: timm's DropPath / to_2tuple / trunc_normal_, einops (only the flash
path calls it) and the flash-attention module.

Usage: python3 torch_reference.py --official DIR --spec JSON
  DIR: a checkout of the InternVideo repository (or the internvideo2 backbone folder itself)
  JSON: {"model": "S"|"B", "train": bool, "frames": 8, "size": 224, "batch": 1, "checkpoint": 0, "threads": 2,
         "reps": 1}; checkpoint N > 0 builds the model with use_checkpoint=True, checkpoint_num=N (training only)
Prints one line `@@{json}` with seconds per iteration (best of reps), FLOPs-free facts and peak RSS.
"""
import argparse
import importlib
import json
import os
import resource
import sys
import time
import types

SUBDIR = os.path.join('InternVideo2', 'multi_modality', 'models', 'backbones', 'internvideo2')
SIZES = {'S': dict(embed_dim=384, depth=12, num_heads=6), 'B': dict(embed_dim=768, depth=12, num_heads=12)}


def backbone_dir(path):
    for d in (path, os.path.join(path, SUBDIR)):
        if os.path.isfile(os.path.join(d, 'internvideo2.py')) and os.path.isfile(os.path.join(d, 'pos_embed.py')):
            return d
    raise FileNotFoundError(f'{path}: no internvideo2.py and pos_embed.py (expected the InternVideo repository or {SUBDIR})')


def stand_ins(torch):
    """Modules the official file imports but its plain path does not need, when they are missing."""
    try:
        import timm.models.layers  # noqa: F401
    except ImportError:
        layers = types.ModuleType('timm.models.layers')

        class DropPath(torch.nn.Module):
            def __init__(self, p=0.):
                super().__init__()
                self.p = p

            def forward(self, x):
                if self.p == 0. or not self.training:
                    return x
                keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.p)
                return x * keep / (1 - self.p)

        layers.DropPath = DropPath
        layers.to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)
        layers.trunc_normal_ = torch.nn.init.trunc_normal_
        for name in ('timm', 'timm.models'):
            sys.modules.setdefault(name, types.ModuleType(name))
        sys.modules['timm.models.layers'] = layers
    try:
        import einops  # noqa: F401
    except ImportError:
        einops = types.ModuleType('einops')

        def rearrange(*_a, **_k):
            raise NotImplementedError('einops is not installed (only the flash-attention path uses it)')

        einops.rearrange = rearrange
        sys.modules['einops'] = einops


def load_official(path, torch):
    d = backbone_dir(path)
    stand_ins(torch)
    # A package over the official folder, so that its relative imports (.pos_embed) resolve, without running its
    # __init__.py (which imports the CLIP towers and their dependencies).
    pkg = types.ModuleType('iv2_official')
    pkg.__path__ = [d]
    sys.modules['iv2_official'] = pkg
    flash = types.ModuleType('iv2_official.flash_attention_class')

    class FlashAttention:  # the official one imports flash_attn at load time; the plain path never builds it
        def __init__(self, *_a, **_k):
            raise NotImplementedError('flash attention is off in this reference')

    flash.FlashAttention = FlashAttention
    sys.modules['iv2_official.flash_attention_class'] = flash
    return importlib.import_module('iv2_official.internvideo2'), d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--official', required=True)
    ap.add_argument('--spec', required=True)
    args = ap.parse_args()
    spec = json.loads(args.spec)
    import torch
    threads = int(spec.get('threads') or len(os.sched_getaffinity(0)))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    iv2, d = load_official(args.official, torch)
    frames, size, batch = int(spec.get('frames') or 8), int(spec.get('size') or 224), int(spec.get('batch') or 1)
    ckpt = int(spec.get('checkpoint') or 0) if spec.get('train') else 0
    model = iv2.PretrainInternVideo2(
        in_chans=3, patch_size=14, img_size=size, qkv_bias=False, drop_path_rate=0., mlp_ratio=4, init_values=1e-5,
        qk_normalization=True, use_flash_attn=False, use_fused_rmsnorm=False, use_fused_mlp=False,
        attn_pool_num_heads=16, clip_embed_dim=768, num_frames=frames, tubelet_size=1, clip_return_layer=0,
        clip_teacher_final_dim=768, use_checkpoint=ckpt > 0, checkpoint_num=ckpt, **SIZES[spec['model']])
    video = torch.randn(batch, 3, frames, size, size)

    def embed():
        # iv2's VideoEncoder.embed: tokens after the last block, then the attention pool (x_pool_vis)
        return model.clip_projector(model(video, x_vis_only=True))

    if spec.get('train'):
        model.train()
        skip = model.no_weight_decay()
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (no_decay if p.ndim <= 1 or name.endswith('.bias') or name in skip else decay).append(p)
        opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05}, {'params': no_decay, 'weight_decay': 0.}], lr=1e-4)

        def run():
            opt.zero_grad(set_to_none=True)
            loss = embed().square().mean()
            loss.backward()
            opt.step()
            return loss.item()
    else:
        model.eval()

        def run():
            with torch.no_grad():
                return embed().sum().item()

    run()  # warm-up
    best = float('inf')
    for _ in range(int(spec.get('reps') or 1)):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    out = dict(secs=best, frames=frames, size=size, batch=batch, checkpoint=ckpt, threads=threads, torch=torch.__version__, official=d,
               maxRssMiB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    sys.stdout.write('\n@@' + json.dumps(out) + '\n')


if __name__ == '__main__':
    main()
