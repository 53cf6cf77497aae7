#!/usr/bin/env python3
"""Builds tests/golden/zeroshot/: the fixtures of the zero-shot building blocks' tests.

The text tower is tests/golden/clip_vit (the tiny random CLIPModel of make-golden.py),
loaded here as a transformers CLIPTextModelWithProjection. The pseudo-word injections
of the reference implementations are replicated on its inputs_embeds path: token
embeddings edited, then transformers' own position embeddings, encoder (causal mask),
final LayerNorm and projection, pooled where the reference pools:
  Pic2Word training (composed_image_retrieval model/model.py encode_text_img): the
      pseudo word inserted before the end token, the last position dropped, pooled
      one position after the end token;
  Pic2Word test (encode_text_img_retrieval): the first `*` (265) replaced;
  SEARLE (src/encode_with_pseudo_tokens.py): the first `$` (259) replaced;
  RTD (encode_with_pseudo_tokens.py, encode_with_pseudo_tokens_HF): every `$` replaced.
The Pic2Word functions take one position for the whole batch (the first row's); here
each row is computed on its own, which is the same when the prompts share the prefix.
Pic2Word's IM2TEXT and SEARLE's φ are rebuilt as in the references (same module
structure, so the same parameter names), random, in eval mode.

The placeholder cases use the whole CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz of
OpenAI's CLIP or open_clip, given as --bpe) through transformers' CLIPTokenizer; the C++
test checks the committed cut vocabulary (tests/golden/tokenizer) gives the same ids.

    PYTHONPATH=$(cat ~/.cache/spn/torch-2.11.0/torch-dir)/.. \\
        /work/venv-hf/bin/python scripts/make-zeroshot-golden.py tests/golden --bpe bpe_simple_vocab_16e6.txt.gz
"""
import argparse
import gzip
import json
import pathlib

import torch
import transformers
from safetensors.torch import save_file

DOLLAR, STAR = 259, 265
IMAGE_DIM = 24  # the tiny CLIP's projection_dim: the image features' width
HIDDEN = 32  # its text width: the pseudo words' width

PLACEHOLDER_TEXTS = [
    "a photo of $ that is red",
    "a photo of * , is red",
    "a photo of $, red",
    "a photo of *, red",
    "a photo of $. that",
    "a photo of $that",
    "a photo of *red",
    "a photo of $$ that",
    "$ and $ and *",
    "a photo of ( $ )",
]


def bytes_to_unicode():
    """GPT-2's printable stand-ins for the 256 bytes, as CLIP's vocabulary spells them."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def clip_tokenizer(bpe_path):
    """transformers' CLIPTokenizer on the whole CLIP vocabulary, laid out as OpenAI's simple_tokenizer does."""
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    symbols = list(bytes_to_unicode().values())
    symbols += [s + "</w>" for s in symbols]
    symbols += ["".join(m.split(" ")) for m in merges]
    symbols += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {s: i for i, s in enumerate(symbols)}
    return transformers.CLIPTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges])


def placeholder_cases(bpe_path):
    tokenizer = clip_tokenizer(bpe_path)
    assert tokenizer("$", add_special_tokens=False)["input_ids"] == [DOLLAR]
    assert tokenizer("*", add_special_tokens=False)["input_ids"] == [STAR]
    return [{"text": t, "bpe": tokenizer(t, add_special_tokens=False)["input_ids"]} for t in PLACEHOLDER_TEXTS]


def load_text_tower(clip_dir):
    config = transformers.CLIPConfig.from_pretrained(clip_dir)
    text_config = config.text_config
    text_config.projection_dim = config.projection_dim
    model = transformers.CLIPTextModelWithProjection(text_config)
    state = transformers.CLIPModel.from_pretrained(clip_dir).state_dict()
    model.load_state_dict({k: v for k, v in state.items() if k.startswith(("text_model.", "text_projection."))})
    return model.double().eval()


def encode_embeddings(model, embeddings, pooled_at):
    """transformers' text tower from the token embeddings on, pooled at `pooled_at`."""
    text = model.text_model
    x = text.embeddings(inputs_embeds=embeddings)
    length = x.shape[1]
    causal = torch.full((length, length), torch.finfo(x.dtype).min, dtype=x.dtype).triu(1)[None, None]
    x = text.final_layer_norm(text.encoder(inputs_embeds=x, attention_mask=causal).last_hidden_state)
    return model.text_projection(x[torch.arange(x.shape[0]), pooled_at])


def rows(generator, eos, contents, length=77):
    """Token rows: start, `contents` (ids; None draws a random id that is no placeholder), end, zeros."""
    out = torch.zeros(len(contents), length, dtype=torch.long)
    for i, content in enumerate(contents):
        ids = [eos - 1]
        for c in content:
            while c is None:
                c = int(torch.randint(1, eos - 1, (1,), generator=generator))
                c = None if c in (DOLLAR, STAR) else c
            ids.append(c)
        out[i, : len(ids) + 1] = torch.tensor(ids + [eos])
    return out


def reference_features(model, tokens, words, eos):
    """The four injections, each as its reference does it, one row at a time."""
    embed = model.text_model.embeddings.token_embedding
    first_eos = lambda row: int((row == eos).nonzero()[0])
    out = {"insert_before_end": [], "replace_first_star": [], "replace_first_dollar": [], "replace_every_dollar": []}
    with torch.no_grad():
        for row, word in zip(tokens, words):
            row, word = row[None], word[None]
            x = embed(row)
            end = first_eos(row[0])
            inserted = torch.cat([x[:, :end], word[:, None], x[:, end:-1]], dim=1)
            out["insert_before_end"].append(encode_embeddings(model, inserted, torch.tensor([end + 1])))
            for key, token in (("replace_first_star", STAR), ("replace_first_dollar", DOLLAR)):
                if (row == token).any():
                    at = int((row[0] == token).nonzero()[0])
                    replaced = torch.cat([x[:, :at], word[:, None], x[:, at + 1 :]], dim=1)
                    out[key].append(encode_embeddings(model, replaced, torch.tensor([end])))
            if (row == DOLLAR).any():
                every = torch.where(row[..., None] == DOLLAR, word[:, None], x)
                out["replace_every_dollar"].append(encode_embeddings(model, every, torch.tensor([end])))
    return {k: torch.cat(v) for k, v in out.items()}


class Im2Text(torch.nn.Module):
    """Pic2Word's IM2TEXT, module for module (the parameter names follow)."""

    def __init__(self, embed_dim, middle_dim, output_dim, n_layer, dropout=0.1):
        super().__init__()
        self.fc_out = torch.nn.Linear(middle_dim, output_dim)
        blocks, dim = [], embed_dim
        for _ in range(n_layer):
            blocks.append(torch.nn.Sequential(torch.nn.Linear(dim, middle_dim), torch.nn.Dropout(dropout), torch.nn.ReLU()))
            dim = middle_dim
        self.layers = torch.nn.Sequential(*blocks)

    def forward(self, x):
        return self.fc_out(self.layers(x))


def phi(input_dim, hidden_dim, output_dim, dropout=0.5):
    """SEARLE's φ: the Sequential it wraps under `layers`."""
    module = torch.nn.Module()
    module.layers = torch.nn.Sequential(
        torch.nn.Linear(input_dim, hidden_dim), torch.nn.GELU(), torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden_dim, hidden_dim), torch.nn.GELU(), torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden_dim, output_dim))
    module.forward = module.layers.forward
    return module


def randomized_half(module, generator):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((0.2 * torch.randn(p.shape, generator=generator, dtype=torch.float64)).half().double())
    return module.double().eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=pathlib.Path, help="fixture directory (tests/golden)")
    parser.add_argument("--bpe", type=pathlib.Path, required=True, help="CLIP's bpe_simple_vocab_16e6.txt.gz")
    args = parser.parse_args()
    out = args.out / "zeroshot"
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(17)

    model = load_text_tower(str(args.out / "clip_vit"))
    eos = model.config.eos_token_id
    # Placeholders early, late, twice, and rows of different lengths; the last row ends
    # one position before the context's end (the most Pic2Word's insertion allows).
    R = None
    tokens = rows(generator, eos, [
        [R, R, R, STAR, R, DOLLAR, R],
        [R, R, R, DOLLAR, STAR, R, R, R, R, R, R, DOLLAR, STAR, R],
        [DOLLAR, R, R, STAR],
        [R] * 40 + [STAR, DOLLAR, DOLLAR] + [R] * 31,
    ])
    # Inputs rounded to float32, the C++ side's type, before the float64 references.
    words = torch.randn(tokens.shape[0], HIDDEN, generator=generator).double()
    with torch.no_grad():
        plain = model(input_ids=tokens).text_embeds
        seam = encode_embeddings(model, model.text_model.embeddings.token_embedding(tokens), (tokens == eos).int().argmax(1))
    assert (plain - seam).abs().max() < 1e-12, "the inputs_embeds path differs from transformers' forward"
    expected = {"tokens": tokens, "words": words.float(), "plain": plain.float()}
    expected.update({k: v.float() for k, v in reference_features(model, tokens, words, eos).items()})

    # The mapping networks, and the composed queries they make with the first three rows.
    im2text = randomized_half(Im2Text(IMAGE_DIM, 16, HIDDEN, 2), generator)
    searle_phi = randomized_half(phi(IMAGE_DIM, 40, HIDDEN), generator)
    image_features = torch.randn(tokens.shape[0], IMAGE_DIM, generator=generator).double()
    with torch.no_grad():
        pic2word_words, phi_words = im2text(image_features), searle_phi(image_features)
        composed_pic2word = reference_features(model, tokens, pic2word_words, eos)["replace_first_star"]
        composed_phi = reference_features(model, tokens, phi_words, eos)
    expected.update({"image_features": image_features.float(), "im2text": pic2word_words.float(),
                     "phi": phi_words.float(), "composed_pic2word": composed_pic2word.float(),
                     "composed_searle": composed_phi["replace_first_dollar"].float(),
                     "composed_rtd": composed_phi["replace_every_dollar"].float()})
    save_file({k: v.contiguous() for k, v in expected.items()}, str(out / "expected.safetensors"))
    save_file({k: v.half().contiguous() for k, v in im2text.state_dict().items()}, str(out / "im2text.safetensors"))
    save_file({k: v.half().contiguous() for k, v in searle_phi.state_dict().items()}, str(out / "phi.safetensors"))
    (out / "placeholders.json").write_text(json.dumps({"cases": placeholder_cases(args.bpe)}, indent=1) + "\n")
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    (out / "VERSIONS.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
