#!/usr/bin/env python3
"""Builds the golden fixtures in tests/golden/ that the C++ CLIP tests compare with.

The reference implementations are Hugging Face `transformers` (CLIP ViT and text
towers), `open_clip` (OpenAI's modified-ResNet CLIP, which transformers lacks) and
open_clip's copy of OpenAI's byte-level BPE tokenizer, all from PyPI:

    python3 -m venv /tmp/golden-env
    /tmp/golden-env/bin/pip install torch transformers safetensors open_clip_torch
    /tmp/golden-env/bin/python scripts/make-golden.py tests/golden

Writes, with fixed seeds (rerunning gives the same numbers on the same versions):
  tokenizer/  vocab.json + merges.txt: CLIP's vocabulary cut to its first 4000 merges
              (the whole one is 1.7 MB); cases.json: texts with their reference token
              ids (77-token rows, and the untruncated BPE ids)
  clip_vit/   config.json + model.safetensors: a tiny random transformers CLIPModel;
              expected.safetensors: inputs and float64 reference outputs
  clip_rn/    the same for a tiny random open_clip ModifiedResNet CLIP, its weights
              converted by scripts/convert-clip-checkpoint.py (which is thus tested)
  preprocess/ three small PNGs (landscape, portrait, near-square) and what
              torchvision + PIL make of them at 32 px: CLIP's Resize(bicubic) +
              CenterCrop, and CLIP4CIR's TargetPad(1.25) before them (uint8, before
              the mean/std normalisation)
Weights are stored as float16 and the references are computed from the same rounded
weights in float64, so the files stay small and the comparison is exact up to the C++
side's float32 arithmetic.
"""
import argparse
import gzip
import importlib.util
import json
import pathlib
import tempfile

import numpy as np
import open_clip
import torch
import torchvision.transforms as T
import transformers
from PIL import Image
from open_clip.tokenizer import SimpleTokenizer
from safetensors.torch import save_file

MERGES_KEPT = 4000
CONTEXT = 77
TEXT_VOCAB = 1000  # the models' token table; the tokenizer fixture has its own vocabulary

TEXTS = [
    "a photo of a cat",
    "Make the dress RED and add long sleeves.",
    "is darker, has no logo and   is   longer",
    "change the dog's collar; it shouldn't be blue!!!",
    "we're they've I'm you'll he'd 'quoted' ''double''",
    "\u201ccurly\u201d quotes \u2018single\u2019 and it\u2019s fine",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber stra\u00dfe",
    "Cafe\u0301 with a combining accent",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \uff11\uff12\uff13 text",
    "the \ufb01sh \ufb02ag o\ufb03ce",
    "\u732b\u304c\u597d\u304d \u4e2d\u6587\u6807\u70b9\uff0c\u5b57",
    "emoji \U0001F600\U0001F457 and \u2764\ufe0f hearts",
    "numbers 12345 and 3.14 and 1,000,000 and \u00bd \u2163",
    "AT&amp;T &lt;b&gt; &quot;bold&quot; &#39;x&#39; &#x263A; &amp;amp;",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em space",
    "  leading and trailing spaces  ",
    "UPPER lower MiXeD \u0130stanbul \u03a3\u039f\u03a6\u0399\u0391",
    "symbols @#$%^&*()_+-=[]{}|\\:;\"<>,./?`~",
    "hyphen-ated words and under_scores and e-mail@example.com",
    "",
    "!",
    "a" * 300,
    " ".join(["the shirt is more colorful and has a graphic print"] * 12),
    "control\u0007chars\u200band zero\u200dwidth",
]


def round_to_half(module):
    """Rounds every float tensor to float16 precision, in place, and returns a float64 copy."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return module.double()


def randomize(module, generator):
    """Replaces the library initialisation with larger random values, so no layer is trivially identity."""
    with torch.no_grad():
        for name, tensor in module.named_parameters():
            noise = torch.randn(tensor.shape, generator=generator, dtype=torch.float64).to(tensor.dtype)
            if name.endswith("logit_scale"):
                continue
            if ("norm" in name or ".ln" in name or "bn" in name or "layrnorm" in name) and name.endswith("weight"):
                tensor.copy_(1 + 0.1 * noise)
            else:
                tensor.copy_(0.1 * noise)
        for name, tensor in module.named_buffers():
            if name.endswith("running_mean"):
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=generator))
            elif name.endswith("running_var"):
                tensor.copy_(1 + 0.2 * torch.rand(tensor.shape, generator=generator))


def token_rows(generator, eos, lengths):
    """Token rows as a CLIP tokenizer lays them out: start, ids, end, zero padding."""
    rows = torch.zeros(len(lengths), CONTEXT, dtype=torch.long)
    for i, length in enumerate(lengths):
        rows[i, 0] = eos - 1
        rows[i, 1 : length + 1] = torch.randint(1, eos - 1, (length,), generator=generator)
        rows[i, length + 1] = eos
    return rows


def half_state(state):
    return {k: v.detach().half().contiguous() if v.is_floating_point() else v.contiguous() for k, v in state.items()}


def write_model(out, config, state, inputs, outputs):
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    save_file(half_state(state), str(out / "model.safetensors"), metadata={"format": "pt"})
    expected = {k: v.contiguous() for k, v in inputs.items()}
    expected.update({k: v.float().contiguous() for k, v in outputs.items()})
    save_file(expected, str(out / "expected.safetensors"))


def make_tokenizer(out):
    bundled = pathlib.Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(bundled).read().decode("utf-8").split("\n")
    header, merges = lines[0], lines[1 : MERGES_KEPT + 1]
    with tempfile.TemporaryDirectory() as tmp:
        cut = pathlib.Path(tmp) / "bpe.txt.gz"
        with gzip.open(cut, "wb") as f:
            f.write("\n".join([header] + merges).encode("utf-8"))
        tokenizer = SimpleTokenizer(bpe_path=str(cut), context_length=CONTEXT)
    vocab = {}
    for token, index in tokenizer.encoder.items():
        token = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}.get(token, token)
        vocab[token] = index
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    cases = []
    for text in TEXTS:
        row = tokenizer([text])[0].tolist()
        cases.append({"text": text, "bpe": tokenizer.encode(text), "row": row})
    (out / "cases.json").write_text(json.dumps({"context_length": CONTEXT, "cases": cases}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def make_vit(out):
    generator = torch.Generator().manual_seed(1)
    config = transformers.CLIPConfig(
        text_config=dict(vocab_size=TEXT_VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=CONTEXT, hidden_act="quick_gelu",
                         bos_token_id=TEXT_VOCAB - 2, eos_token_id=TEXT_VOCAB - 1, pad_token_id=0),
        vision_config=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8, hidden_act="quick_gelu"),
        projection_dim=24,
    )
    model = transformers.CLIPModel(config).eval()
    randomize(model, generator)
    model = round_to_half(model)
    pixels = torch.randn(3, 3, 32, 32, generator=generator, dtype=torch.float64)
    tokens = token_rows(generator, TEXT_VOCAB - 1, [3, 20, CONTEXT - 2])
    with torch.no_grad():
        image = model.get_image_features(pixel_values=pixels)
        text = model.get_text_features(input_ids=tokens)
    image = getattr(image, "pooler_output", image)
    text = getattr(text, "pooler_output", text)
    write_model(out, config.to_dict(), model.state_dict(), {"pixels": pixels.float(), "tokens": tokens},
                {"image_features": image, "text_features": text})


def make_resnet(out, convert):
    generator = torch.Generator().manual_seed(2)
    vision = dict(layers=[1, 2, 1, 1], width=4, head_width=32, image_size=64)
    text = dict(context_length=CONTEXT, vocab_size=TEXT_VOCAB, width=32, heads=4, layers=2)
    model = open_clip.model.CLIP(embed_dim=24, vision_cfg=vision, text_cfg=text, quick_gelu=True).eval()
    randomize(model, generator)
    model = round_to_half(model)
    pixels = torch.randn(2, 3, 64, 64, generator=generator, dtype=torch.float64)
    tokens = token_rows(generator, TEXT_VOCAB - 1, [5, 40])
    with torch.no_grad():
        image = model.encode_image(pixels)
        text_features = model.encode_text(tokens)
    state, config = convert.convert(model.state_dict(), {"embed_dim": 24, "vision_cfg": vision, "text_cfg": text,
                                                         "quick_gelu": True})
    write_model(out, config, state, {"pixels": pixels.float(), "tokens": tokens},
                {"image_features": image, "text_features": text_features})


def target_pad(image, target_ratio):
    """CLIP4CIR's TargetPad: black borders up to the aspect ratio `target_ratio` when it is exceeded."""
    w, h = image.size
    if max(w, h) / min(w, h) < target_ratio:
        return image
    scaled = max(w, h) / target_ratio
    hp, vp = max(int((scaled - w) / 2), 0), max(int((scaled - h) / 2), 0)
    return T.functional.pad(image, [hp, vp, hp, vp], 0, "constant")


def make_preprocess(out, size=32):
    generator = np.random.default_rng(4)
    out.mkdir(parents=True, exist_ok=True)
    clip = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size)])
    expected = {"center_crop": [], "targetpad": []}
    for i, (w, h) in enumerate([(45, 30), (30, 61), (40, 36)]):
        # a gradient plus noise: smooth and sharp content for the resampler
        ramp = np.linspace(0, 200, w)[None, :, None] + np.linspace(0, 50, h)[:, None, None]
        pixels = np.clip(ramp + generator.integers(0, 56, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(out / f"image{i}.png")
        image = Image.open(out / f"image{i}.png").convert("RGB")
        for mode, transform in (("center_crop", clip), ("targetpad", T.Compose([lambda x: target_pad(x, 1.25), clip]))):
            expected[mode].append(torch.from_numpy(np.array(transform(image))).permute(2, 0, 1))
    save_file({k: torch.stack(v).contiguous() for k, v in expected.items()}, str(out / "expected.safetensors"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=pathlib.Path, help="fixture directory (tests/golden)")
    args = parser.parse_args()
    torch.manual_seed(0)
    spec = importlib.util.spec_from_file_location("convert", pathlib.Path(__file__).parent / "convert-clip-checkpoint.py")
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    make_tokenizer(args.out / "tokenizer")
    make_vit(args.out / "clip_vit")
    make_resnet(args.out / "clip_rn", convert)
    make_preprocess(args.out / "preprocess")
    import PIL
    import torchvision
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "open_clip": open_clip.__version__, "torchvision": torchvision.__version__, "pillow": PIL.__version__}
    (args.out / "VERSIONS.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
