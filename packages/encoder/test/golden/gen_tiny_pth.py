"""The iv2-tiny fixture weights re-saved by torch.save as a stage-2-style checkpoint: {'module': {'vision_encoder.'
+ key: tensor}} plus a text-tower key, the layout of the official multi-modal checkpoints (/usr/bin/python3)."""
import json
import struct
import numpy as np
import torch

path = '../../../../fixtures/encoder/iv2-tiny/weights.safetensors'
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
sd = {}
for k, v in header.items():
    if k == '__metadata__':
        continue
    a, b = v['data_offsets']
    arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v['shape'])
    sd['vision_encoder.' + k] = torch.from_numpy(arr.copy())
sd['text_encoder.bert.embeddings.word_embeddings.weight'] = torch.zeros(4, 2)
torch.save({'module': sd, 'epoch': 1}, 'iv2_tiny_stage2.pth')
print(len(sd))
