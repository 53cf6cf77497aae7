#!/usr/bin/env python3
"""Converts an OpenAI CLIP `.pt` or an open_clip checkpoint into the directory spn reads.

spn reads Hugging Face's CLIP layout (`openai/clip-vit-*`: config.json +
model.safetensors). Hugging Face has no layout for OpenAI's modified-ResNet towers
(RN50, RN50x4, ...), so for those the text tower uses Hugging Face's names and the
image tower keeps OpenAI's `visual.*` names, with `"model_type": "clip_resnet"` in
config.json. This script writes either kind from an OpenAI / open_clip state dict:

    pip install torch safetensors
    python3 scripts/convert-clip-checkpoint.py RN50.pt clip-rn50/
    python3 scripts/convert-clip-checkpoint.py open_clip_model.bin clip-vit-b-32/

Then copy the tokenizer files (vocab.json and merges.txt, e.g. from
huggingface.co/openai/clip-vit-base-patch32) into the same directory.
The sizes are read off the tensors' shapes, as OpenAI's build_model does.
"""
import argparse
import json
import pathlib


def _split_attention(out, prefix, source, name):
    """nn.MultiheadAttention's packed in_proj -> separate q/k/v projections."""
    weight = source[name + ".in_proj_weight"]
    bias = source[name + ".in_proj_bias"]
    for part, w, b in zip(("q_proj", "k_proj", "v_proj"), weight.chunk(3), bias.chunk(3)):
        out[f"{prefix}.self_attn.{part}.weight"] = w
        out[f"{prefix}.self_attn.{part}.bias"] = b
    out[f"{prefix}.self_attn.out_proj.weight"] = source[name + ".out_proj.weight"]
    out[f"{prefix}.self_attn.out_proj.bias"] = source[name + ".out_proj.bias"]


def _convert_blocks(out, source, openai_prefix, hf_prefix):
    layers = sorted({int(k[len(openai_prefix):].split(".")[0]) for k in source if k.startswith(openai_prefix)})
    for i in layers:
        block, layer = f"{openai_prefix}{i}", f"{hf_prefix}.{i}"
        _split_attention(out, layer, source, block + ".attn")
        for openai_name, hf_name in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                                     ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            out[f"{layer}.{hf_name}.weight"] = source[f"{block}.{openai_name}.weight"]
            out[f"{layer}.{hf_name}.bias"] = source[f"{block}.{openai_name}.bias"]
    return len(layers)


def infer_config(state):
    """open_clip-style model config from an OpenAI-layout state dict's shapes."""
    text_width = state["ln_final.weight"].shape[0]
    text = {
        "context_length": state["positional_embedding"].shape[0],
        "vocab_size": state["token_embedding.weight"].shape[0],
        "width": text_width,
        "heads": text_width // 64,
        "layers": len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")}),
    }
    if "visual.proj" in state:
        width = state["visual.conv1.weight"].shape[0]
        patch = state["visual.conv1.weight"].shape[-1]
        grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
        vision = {"layers": len({k.split(".")[3] for k in state if k.startswith("visual.transformer.resblocks.")}),
                  "width": width, "head_width": 64, "patch_size": patch, "image_size": patch * grid}
    else:
        layers = [len({k.split(".")[2] for k in state if k.startswith(f"visual.layer{b}.")}) for b in (1, 2, 3, 4)]
        width = state["visual.layer1.0.conv1.weight"].shape[0]
        spatial = round((state["visual.attnpool.positional_embedding"].shape[0] - 1) ** 0.5)
        vision = {"layers": layers, "width": width, "head_width": 64, "image_size": spatial * 32}
    return {"embed_dim": state["text_projection"].shape[1], "vision_cfg": vision, "text_cfg": text, "quick_gelu": True}


def convert(state, model_config):
    """(spn state dict, config.json dict) from an OpenAI-layout state dict and its open_clip config."""
    state = {k: v for k, v in state.items() if k != "attn_mask" and not k.endswith(".attn_mask")}
    vision_cfg, text_cfg = model_config["vision_cfg"], model_config["text_cfg"]
    act = "quick_gelu" if model_config.get("quick_gelu", False) else "gelu"
    out = {
        "text_model.embeddings.token_embedding.weight": state["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": state["positional_embedding"],
        "text_model.final_layer_norm.weight": state["ln_final.weight"],
        "text_model.final_layer_norm.bias": state["ln_final.bias"],
        "text_projection.weight": state["text_projection"].t().contiguous(),
        "logit_scale": state["logit_scale"],
    }
    text_layers = _convert_blocks(out, state, "transformer.resblocks.", "text_model.encoder.layers")
    width = text_cfg["width"]
    config = {
        "projection_dim": model_config["embed_dim"],
        "text_config": {
            "vocab_size": text_cfg["vocab_size"], "hidden_size": width, "intermediate_size": 4 * width,
            "num_hidden_layers": text_layers, "num_attention_heads": text_cfg["heads"],
            "max_position_embeddings": text_cfg["context_length"], "hidden_act": act, "layer_norm_eps": 1e-5,
            # 2 is the value of OpenAI-derived configs: pool at the largest token id (the end token).
            "eos_token_id": 2,
        },
    }
    if isinstance(vision_cfg["layers"], (list, tuple)):
        out.update({k: v for k, v in state.items() if k.startswith("visual.")})
        config["vision_config"] = {
            "model_type": "clip_resnet", "layers": list(vision_cfg["layers"]), "width": vision_cfg["width"],
            "heads": vision_cfg["width"] * 32 // vision_cfg.get("head_width", 64),
            "image_size": vision_cfg["image_size"],
        }
    else:
        out.update({
            "vision_model.embeddings.class_embedding": state["visual.class_embedding"],
            "vision_model.embeddings.position_embedding.weight": state["visual.positional_embedding"],
            "vision_model.embeddings.patch_embedding.weight": state["visual.conv1.weight"],
            "vision_model.pre_layrnorm.weight": state["visual.ln_pre.weight"],
            "vision_model.pre_layrnorm.bias": state["visual.ln_pre.bias"],
            "vision_model.post_layernorm.weight": state["visual.ln_post.weight"],
            "vision_model.post_layernorm.bias": state["visual.ln_post.bias"],
            "visual_projection.weight": state["visual.proj"].t().contiguous(),
        })
        layers = _convert_blocks(out, state, "visual.transformer.resblocks.", "vision_model.encoder.layers")
        vwidth = vision_cfg["width"]
        config["vision_config"] = {
            "hidden_size": vwidth, "intermediate_size": int(vwidth * vision_cfg.get("mlp_ratio", 4.0)),
            "num_hidden_layers": layers, "num_attention_heads": vwidth // vision_cfg.get("head_width", 64),
            "image_size": vision_cfg["image_size"], "patch_size": vision_cfg["patch_size"], "hidden_act": act,
            "layer_norm_eps": 1e-5,
        }
    return out, config


def load_state(path):
    import torch

    try:  # OpenAI's .pt files are TorchScript archives
        return torch.jit.load(str(path), map_location="cpu").state_dict()
    except RuntimeError:
        checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint)
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=pathlib.Path)
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()
    from safetensors.torch import save_file

    state = {k: v.float() if v.is_floating_point() else v for k, v in load_state(args.checkpoint).items()}
    converted, config = convert(state, infer_config(state))
    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in converted.items()}, str(args.out / "model.safetensors"))
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {args.out}/model.safetensors ({len(converted)} tensors) and config.json")


if __name__ == "__main__":
    main()
