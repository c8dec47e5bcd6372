"""Checkpoint goldens written by PyTorch itself (/usr/bin/python3, torch 1.13):
- torch_state.pth: torch.save of {'model': state_dict, 'epoch', 'args': argparse.Namespace} with F32, F16, BF16,
  I64 and BOOL tensors, a non-contiguous (transposed) view and a tensor sharing its storage with another;
- torch_state.safetensors: the same tensors in safetensors, bytes laid out by hand per the format's spec (the
  safetensors pip package cannot be installed here);
- torch_state.json: every tensor's values as float64/int, to compare against;
- torch_state_legacy.pth: the same checkpoint in the legacy (pre-1.6, non-zip) format,
  torch.save(..., _use_new_zipfile_serialization=False);
- hostile_*.pth: zip checkpoints whose pickle names os.system, builtins.eval, subprocess.Popen;
- hostile_legacy_os_system.pth: a legacy-format file whose main pickle names os.system;
- torch_state_config.pth: a DeepSpeed-style {'module': …} checkpoint with a training script's own config class
  (utils.config.TrainConfig) and a numpy scalar beside the weights."""
import argparse
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile
import numpy as np
import torch

torch.manual_seed(0)
base = torch.randn(6, 4)
sd = {
    'blocks.0.attn.qkv.weight': torch.randn(12, 4),
    'blocks.0.norm1.weight': torch.randn(4).half(),
    'pos_embed': torch.randn(1, 5, 4).bfloat16(),
    'steps': torch.tensor([3, -7, 2**31 - 1], dtype=torch.int64),
    'mask': torch.tensor([True, False, True]),
    'transposed': base.t(),
    'row_view': base[2:4],
}
ckpt = {'model': sd, 'epoch': 7, 'args': argparse.Namespace(lr=1e-3, model='tiny')}
torch.save(ckpt, 'torch_state.pth')
torch.save(ckpt, 'torch_state_legacy.pth', _use_new_zipfile_serialization=False)

ref = {k: {'shape': list(v.shape), 'data': (v.float() if v.is_floating_point() else v.long()).flatten().tolist()} for k, v in sd.items()}
ref['bool_keys'] = ['mask']
json.dump(ref, open('torch_state.json', 'w'))

# safetensors by hand: header JSON (dtype, shape, data_offsets) padded to 8 bytes, then the bytes.
DT = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64', torch.bool: 'BOOL'}
header, blobs, off = {}, [], 0
for k in sorted(sd):
    t = sd[k].contiguous()
    b = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
    header[k] = {'dtype': DT[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header, separators=(',', ':')).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open('torch_state.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def hostile(name, module, attr, arg):
    """A torch.save-shaped zip whose data.pkl calls module.attr(arg) when unpickled by a naive loader."""
    payload = b'\x80\x02c' + module.encode() + b'\n' + attr.encode() + b'\n' + pickle.dumps((arg,), protocol=2)[2:-1] + b'R.'
    with zipfile.ZipFile(f'hostile_{name}.pth', 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', payload)
        z.writestr('archive/version', '3\n')


hostile('os_system', 'os', 'system', 'touch /tmp/iv2-pwned')
hostile('builtins_eval', 'builtins', 'eval', '__import__("os").system("touch /tmp/iv2-pwned")')
hostile('subprocess_popen', 'subprocess', 'Popen', 'touch /tmp/iv2-pwned')
# The same trick with STACK_GLOBAL (protocol 4), as modern pickles name globals.
payload = (b'\x80\x04' + b'\x8c\x02os' + b'\x8c\x06system' + b'\x93' + b'\x8c\x14touch /tmp/iv2-pwned' + b'\x85R.')
with zipfile.ZipFile('hostile_stack_global.pth', 'w', zipfile.ZIP_STORED) as z:
    z.writestr('archive/data.pkl', payload)
# Legacy layout: magic number, protocol version and sys_info pickles, then the main pickle (here the payload).
legacy_head = b''.join(pickle.dumps(x, protocol=2) for x in (0x1950a86a20f9469cfc6c, 1001, {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}))
with open('hostile_legacy_os_system.pth', 'wb') as f:
    f.write(legacy_head + b'\x80\x02cos\nsystem\n' + pickle.dumps(('touch /tmp/iv2-pwned',), protocol=2)[2:-1] + b'R.')

# A config class from the training code, as official checkpoints may carry; loaders must not import it.
cfg_mod = types.ModuleType('utils.config')
sys.modules['utils.config'] = cfg_mod
sys.modules['utils'] = types.ModuleType('utils')
sys.modules['utils'].config = cfg_mod


class TrainConfig:
    def __init__(self, **kw):
        self.__dict__.update(kw)


TrainConfig.__module__ = 'utils.config'
cfg_mod.TrainConfig = TrainConfig
torch.save({'module': {'vision_encoder.pos_embed': sd['pos_embed']}, 'config': TrainConfig(lr=1e-4, layer_decay=0.9),
            'best_score': np.float64(0.5)}, 'torch_state_config.pth')
print('ok')
