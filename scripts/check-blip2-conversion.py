"""ctest `blip2_conversion`: scripts/convert-blip2-checkpoint.py on a LAVIS-layout checkpoint
made here from the tiny golden BLIP-2 (tests/golden/blip2) must give back the golden
weights exactly, SPN4CIR's query side under its documented names, and refuse names it
does not know and half-given EVA biases without writing anything.

The LAVIS names are written out here by hand, not with the converter's rules, so a wrong
rule shows. Run with the torch installation's Python and the safetensors package:
    PYTHONPATH=build/convert-pylib ~/.cache/spn/torch-2.11.0/bin/python3 scripts/check-blip2-conversion.py
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "blip2"
CONVERTER = ROOT / "scripts" / "convert-blip2-checkpoint.py"


def lavis_name(hf):
    """Hugging Face name -> LAVIS name, by hand."""
    parts = hf.split(".")
    if hf == "vision_model.embeddings.class_embedding":
        return "visual_encoder.cls_token"
    if hf == "vision_model.embeddings.position_embedding":
        return "visual_encoder.pos_embed"
    if hf.startswith("vision_model.embeddings.patch_embedding."):
        return "visual_encoder.patch_embed.proj." + parts[-1]
    if hf.startswith("vision_model.post_layernorm."):
        return "ln_vision." + parts[-1]
    if hf.startswith("vision_model.encoder.layers."):
        block, rest = parts[3], ".".join(parts[4:])
        rest = {"layer_norm1.weight": "norm1.weight", "layer_norm1.bias": "norm1.bias",
                "layer_norm2.weight": "norm2.weight", "layer_norm2.bias": "norm2.bias",
                "self_attn.qkv.weight": "attn.qkv.weight",
                "self_attn.projection.weight": "attn.proj.weight", "self_attn.projection.bias": "attn.proj.bias",
                "mlp.fc1.weight": "mlp.fc1.weight", "mlp.fc1.bias": "mlp.fc1.bias",
                "mlp.fc2.weight": "mlp.fc2.weight", "mlp.fc2.bias": "mlp.fc2.bias"}[rest]
        return f"visual_encoder.blocks.{block}.{rest}"
    if hf.startswith("qformer.layernorm."):
        return "Qformer.bert.embeddings.LayerNorm." + parts[-1]
    if hf.startswith("embeddings."):
        return "Qformer.bert." + hf
    if hf.startswith("qformer.encoder.layer."):
        rest = ".".join(parts[4:]).replace("attention.attention.", "attention.self.")
        return f"Qformer.bert.encoder.layer.{parts[3]}.{rest}"
    return {"vision_projection.weight": "vision_proj.weight", "vision_projection.bias": "vision_proj.bias",
            "text_projection.weight": "text_proj.weight", "text_projection.bias": "text_proj.bias"}.get(hf, hf)


def lavis_checkpoint(golden):
    state = {}
    for name, tensor in golden.items():
        if name.endswith("self_attn.qkv.bias"):  # EVA stores q and v biases apart, no k bias
            q, k, v = tensor.chunk(3)
            assert torch.equal(k, torch.zeros_like(k)), name
            block = name.split(".")[3]
            state[f"visual_encoder.blocks.{block}.attn.q_bias"] = q.clone()
            state[f"visual_encoder.blocks.{block}.attn.v_bias"] = v.clone()
        else:
            state[lavis_name(name)] = tensor.clone()
    # What a LAVIS Q-Former also holds and spn does not use.
    state["Qformer.bert.embeddings.position_ids"] = torch.arange(20).unsqueeze(0)
    state["Qformer.cls.predictions.bias"] = torch.zeros(5)
    # SPN4CIR's query side: copies of the Q-Former and text_proj, trained apart (perturbed here).
    for name in list(state):
        if name.startswith("Qformer.bert."):
            state["Qformer_query." + name[len("Qformer."):]] = state[name] + 1
        elif name.startswith("text_proj."):
            state["text_proj_q." + name[len("text_proj."):]] = state[name] + 1
    return state


def convert(checkpoint_path, out_dir, *extra):
    return subprocess.run([sys.executable, str(CONVERTER), str(checkpoint_path), str(out_dir), *extra],
                          capture_output=True, text=True)


def main():
    golden = load_file(str(GOLDEN / "model.safetensors"))
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        state = lavis_checkpoint(golden)
        torch.save({"Blip2QformerCirAlignPrompt": state, "epoch": 3}, tmp / "sprc.pt")
        result = convert(tmp / "sprc.pt", tmp / "out", "--like", str(GOLDEN))
        if result.returncode != 0:
            sys.exit("converter failed:\n" + result.stdout + result.stderr)
        converted = load_file(str(tmp / "out" / "model.safetensors"))
        for name, tensor in golden.items():
            if name not in converted or not torch.equal(converted[name], tensor):
                failures.append(f"{name}: missing or different")
        query_side = {n: t for n, t in converted.items() if n not in golden}
        expected_query_side = {}
        for name, tensor in golden.items():
            if name.startswith("qformer."):
                expected_query_side["qformer_query." + name[len("qformer."):]] = tensor + 1
            elif name.startswith("embeddings."):
                expected_query_side[name.replace("embeddings.", "embeddings_query.", 1)] = tensor + 1
            elif name.startswith("text_projection."):
                expected_query_side[name.replace("text_projection.", "text_projection_query.")] = tensor + 1
        if sorted(query_side) != sorted(expected_query_side):
            failures.append(f"query side names: {sorted(set(query_side) ^ set(expected_query_side))}")
        failures += [f"{n}: different" for n, t in expected_query_side.items()
                     if n in query_side and not torch.equal(query_side[n], t)]
        for name in ("config.json", "vocab.txt"):
            if (tmp / "out" / name).read_bytes() != (GOLDEN / name).read_bytes():
                failures.append(f"{name} not copied")
        json.loads((tmp / "out" / "config.json").read_text())

        # --query-side drop, a bare state dict
        torch.save(state, tmp / "bare.pt")
        result = convert(tmp / "bare.pt", tmp / "dropped", "--query-side", "drop")
        dropped = load_file(str(tmp / "dropped" / "model.safetensors")) if result.returncode == 0 else {}
        if sorted(dropped) != sorted(golden):
            failures.append("--query-side drop: " + result.stderr)

        # Refusals: nothing written
        for label, broken in (("unknown name", dict(state, **{"Qformer.bert.pooler.dense.weight": torch.zeros(2)})),
                              ("q_bias alone", {k: v for k, v in state.items() if not k.endswith("v_bias")})):
            torch.save({"model": broken}, tmp / "broken.pt")
            result = convert(tmp / "broken.pt", tmp / "refused")
            written = (tmp / "refused" / "model.safetensors").exists()
            if result.returncode == 0 or written:
                failures.append(f"{label}: accepted (exit {result.returncode}, written {written})")
            elif label == "unknown name" and "Qformer.bert.pooler.dense.weight" not in result.stderr:
                failures.append(f"{label}: the error does not name the tensor: {result.stderr}")
    if failures:
        sys.exit("blip2 conversion: " + "; ".join(failures))
    print(f"blip2 conversion: {len(golden)} golden tensors and {len(expected_query_side)} query-side tensors "
          "round-trip exactly; unknown names and a lone q_bias are refused")


if __name__ == "__main__":
    main()
