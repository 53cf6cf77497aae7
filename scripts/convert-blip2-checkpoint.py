#!/usr/bin/env python3
"""Converts a LAVIS BLIP-2 / SPRC / SPN4CIR checkpoint into the weights file spn reads.

spn reads BLIP-2 in Hugging Face's Blip2ForImageTextRetrieval layout (what
Salesforce/blip2-itm-vit-g holds). SPRC's and SPN4CIR's checkpoints are LAVIS state
dicts: `torch.save({"Blip2QformerCirAlignPrompt": model.state_dict(), ...})` (SPRC's
utils.py), LAVIS's own `{"model": state_dict}`, or a bare state dict. This script renames
every tensor (the table in README.md, "BLIP-2 and SPRC: the building blocks"), fuses
EVA's separate q/v biases into the qkv bias [q, 0, v] Hugging Face stores, drops what spn
does not use (the language-model head `Qformer.cls.*`, BERT's `position_ids` buffer) and
writes model.safetensors:

    pip install torch safetensors
    python3 scripts/convert-blip2-checkpoint.py sprc_cirr.pt models/sprc-cirr \
        --like models/blip2-itm-vit-g

`--like DIR` copies config.json and vocab.txt from a Hugging Face BLIP-2 directory (the
checkpoint holds no config). SPN4CIR's stage-2 query side (`Qformer_query.*`,
`text_proj_q.*`, a trainable copy of the Q-Former and of text_proj) is renamed with the
same rules under `qformer_query.`, `embeddings_query.` and `text_projection_query.`
(`--query-side drop` leaves it out). A name the rules do not know stops the script: a
silently dropped tensor would leave spn's model at its initial values.
"""
import argparse
import pathlib
import re
import shutil
import sys

import torch

# (LAVIS pattern, Hugging Face replacement), applied in order, first match wins; None drops.
VISION_RULES = [
    (r"visual_encoder\.cls_token", "vision_model.embeddings.class_embedding"),
    (r"visual_encoder\.pos_embed", "vision_model.embeddings.position_embedding"),
    (r"visual_encoder\.patch_embed\.proj\.(weight|bias)", r"vision_model.embeddings.patch_embedding.\1"),
    (r"visual_encoder\.blocks\.(\d+)\.norm1\.(weight|bias)", r"vision_model.encoder.layers.\1.layer_norm1.\2"),
    (r"visual_encoder\.blocks\.(\d+)\.norm2\.(weight|bias)", r"vision_model.encoder.layers.\1.layer_norm2.\2"),
    (r"visual_encoder\.blocks\.(\d+)\.attn\.qkv\.weight", r"vision_model.encoder.layers.\1.self_attn.qkv.weight"),
    (r"visual_encoder\.blocks\.(\d+)\.attn\.proj\.(weight|bias)",
     r"vision_model.encoder.layers.\1.self_attn.projection.\2"),
    (r"visual_encoder\.blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)", r"vision_model.encoder.layers.\1.mlp.\2.\3"),
    (r"ln_vision\.(weight|bias)", r"vision_model.post_layernorm.\1"),
]


# The Q-Former's rules, for "Qformer" (target side) and "Qformer_query" (SPN's query copy).
def qformer_rules(lavis, encoder, embeddings):
    bert = lavis + r"\.bert\."
    return [
        (bert + r"embeddings\.LayerNorm\.(weight|bias)", encoder + r".layernorm.\1"),
        (bert + r"embeddings\.(word_embeddings|position_embeddings)\.weight", embeddings + r".\1.weight"),
        (bert + r"embeddings\.position_ids", None),
        (bert + r"encoder\.layer\.(\d+)\.(attention|crossattention)\.self\.(query|key|value)\.(weight|bias)",
         encoder + r".encoder.layer.\1.\2.attention.\3.\4"),
        (bert + r"encoder\.layer\.(\d+)\.(attention|crossattention)\.output\.(dense|LayerNorm)\.(weight|bias)",
         encoder + r".encoder.layer.\1.\2.output.\3.\4"),
        (bert + r"encoder\.layer\.(\d+)\.(intermediate|intermediate_query)\.dense\.(weight|bias)",
         encoder + r".encoder.layer.\1.\2.dense.\3"),
        (bert + r"encoder\.layer\.(\d+)\.(output|output_query)\.(dense|LayerNorm)\.(weight|bias)",
         encoder + r".encoder.layer.\1.\2.\3.\4"),
        (lavis + r"\.cls\..*", None),  # the language-model head
    ]


HEAD_RULES = [
    (r"query_tokens", "query_tokens"),
    (r"prompt_tokens", "prompt_tokens"),
    (r"temp", "temp"),
    (r"vision_proj\.(weight|bias)", r"vision_projection.\1"),
    (r"text_proj\.(weight|bias)", r"text_projection.\1"),
    (r"itm_head\.(weight|bias)", r"itm_head.\1"),
]

QUERY_SIDE_RULES = qformer_rules("Qformer_query", "qformer_query", "embeddings_query") + [
    (r"text_proj_q\.(weight|bias)", r"text_projection_query.\1"),
]

RULES = VISION_RULES + qformer_rules("Qformer", "qformer", "embeddings") + HEAD_RULES


def lavis_state_dict(checkpoint, key):
    """The state dict inside whichever wrapper the checkpoint uses."""
    if key is not None:
        return checkpoint[key]
    if all(hasattr(v, "shape") for v in checkpoint.values()):
        return checkpoint
    if "model" in checkpoint:
        return checkpoint["model"]
    nested = [k for k, v in checkpoint.items() if isinstance(v, dict) and "query_tokens" in v]
    if len(nested) != 1:
        sys.exit(f"cannot tell which entry holds the model ({sorted(checkpoint)}): pass --key")
    return checkpoint[nested[0]]


def rename(name, rules):
    for pattern, replacement in rules:
        if re.fullmatch(pattern, name):
            return (None if replacement is None else re.sub("^" + pattern + "$", replacement, name)), True
    return None, False


def convert(state, keep_query_side):
    rules = RULES + (QUERY_SIDE_RULES if keep_query_side else [(r"(Qformer_query|text_proj_q)\..*", None)])
    out, unknown = {}, []
    q_biases = {}
    for name, tensor in state.items():
        bias = re.fullmatch(r"visual_encoder\.blocks\.(\d+)\.attn\.(q_bias|v_bias)", name)
        if bias:
            q_biases.setdefault(int(bias.group(1)), {})[bias.group(2)] = tensor
            continue
        new_name, known = rename(name, rules)
        if not known:
            unknown.append(name)
        elif new_name is not None:
            out[new_name] = tensor.detach().clone().contiguous()
    if unknown:
        sys.exit("tensors the mapping does not know (nothing written): " + ", ".join(sorted(unknown)[:20]))
    # EVA's attention has q and v biases and none for k; Hugging Face stores [q, 0, v].
    for block, parts in q_biases.items():
        if set(parts) != {"q_bias", "v_bias"}:
            sys.exit(f"visual_encoder.blocks.{block}.attn: q_bias and v_bias must come together")
        q, v = parts["q_bias"], parts["v_bias"]
        out[f"vision_model.encoder.layers.{block}.self_attn.qkv.bias"] = torch.cat([q, torch.zeros_like(q), v])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="LAVIS / SPRC / SPN4CIR .pth or .pt")
    parser.add_argument("out_dir", help="directory to write model.safetensors into")
    parser.add_argument("--like", help="Hugging Face BLIP-2 directory to copy config.json and vocab.txt from")
    parser.add_argument("--key", help="the checkpoint's entry holding the state dict (found when unique)")
    parser.add_argument("--query-side", choices=["keep", "drop"], default="keep",
                        help="SPN4CIR's Qformer_query / text_proj_q (default: keep, renamed)")
    args = parser.parse_args()

    from safetensors.torch import save_file

    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    state = convert(lavis_state_dict(checkpoint, args.key), args.query_side == "keep")
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written beside the final name and renamed, so a killed run leaves no truncated file.
    partial = out_dir / "model.safetensors.partial"
    save_file(state, str(partial), metadata={"format": "pt", "converted_from": pathlib.Path(args.checkpoint).name})
    partial.replace(out_dir / "model.safetensors")
    if args.like:
        for name in ("config.json", "vocab.txt"):
            shutil.copyfile(pathlib.Path(args.like) / name, out_dir / name)
    print(f"{len(state)} tensors -> {out_dir / 'model.safetensors'}")


if __name__ == "__main__":
    main()
