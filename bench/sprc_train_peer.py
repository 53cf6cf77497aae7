#!/usr/bin/env python3
"""The peer of spn-bench-sprc-train: SPRC's stage-1 step on BLIP-2's Q-Former side with
Hugging Face transformers' Blip2ForImageTextRetrieval (random weights of
Salesforce/blip2-itm-vit-g's sizes, the ViT cut to one block: it is frozen and outside the
step, and both sides take the same random image tokens), the way SPRC's
blip2_qformer_cir_align_prompt.py computes it: target token sets, the fusion pass, the
composed query without image (transformers' query_length = 0 is SPRC's branch), the prompt
branch, itc + 0.4 rtc + 0.4 align, backward, torch.optim.AdamW (betas 0.9/0.98, eps 1e-7,
weight decay 0.05), in float32 and bf16 autocast. Prints one JSON line with seconds per
step and pairs/s per precision.

    python bench/sprc_train_peer.py THREADS BATCH REPEATS [cpu|cuda]

Run with the Python of the torch installation spn links, with transformers installed.
"""
import json
import sys

import torch
import torch.nn.functional as F
import transformers

from peer_timing import seconds_per_step

TEXT_LENGTH, TEXT_END = 32, 20


def main():
    threads, batch, repeats = (int(x) for x in sys.argv[1:4])
    device = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = transformers.Blip2Config(vision_config={"num_hidden_layers": 1},
                                      qformer_config={"use_qformer_text_input": True})
    model = transformers.Blip2ForImageTextRetrieval(config).to(device).train()
    queries, width = config.num_query_tokens, config.qformer_config.hidden_size
    prompt_tokens = torch.nn.Parameter(0.02 * torch.randn(1, queries, width, device=device))
    temp = torch.nn.Parameter(torch.tensor(0.07, device=device))
    trained = [p for n, p in model.named_parameters() if not n.startswith("vision_model.")] + [prompt_tokens, temp]
    optimizer = torch.optim.AdamW(trained, lr=1e-5, betas=(0.9, 0.98), eps=1e-7, weight_decay=0.05)

    patches = (config.vision_config.image_size // config.vision_config.patch_size) ** 2 + 1
    reference = torch.randn(batch, patches, config.vision_config.hidden_size, device=device)
    target = torch.randn(batch, patches, config.vision_config.hidden_size, device=device)
    image_mask = torch.ones(batch, patches, dtype=torch.long, device=device)
    tokens = torch.zeros(batch, TEXT_LENGTH, dtype=torch.long)
    tokens[:, 1:TEXT_END] = torch.randint(1000, 30000, (batch, TEXT_END - 1))
    tokens[:, 0], tokens[:, TEXT_END] = 101, 102
    tokens = tokens.to(device)
    text_mask = (tokens != 0).long()
    mask = torch.cat([torch.ones(batch, queries, dtype=torch.long, device=device), text_mask], 1)
    labels = torch.arange(batch, device=device)
    qformer, embeddings = model.qformer, model.embeddings

    def similarity(q, t):  # the best target token, over temp
        return torch.einsum("be,nqe->bnq", q, t).max(-1).values / temp

    def step(dtype):
        optimizer.zero_grad()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            query_tokens = model.query_tokens.expand(batch, -1, -1)
            hidden = qformer(query_embeds=query_tokens, encoder_hidden_states=target,
                             encoder_attention_mask=image_mask).last_hidden_state
            targets = F.normalize(model.vision_projection(hidden), dim=-1)
            fused = qformer(query_embeds=embeddings(input_ids=tokens, query_embeds=query_tokens),
                            query_length=queries, attention_mask=mask, encoder_hidden_states=reference,
                            encoder_attention_mask=image_mask).last_hidden_state[:, :queries]
            hidden = qformer(query_embeds=embeddings(input_ids=tokens, query_embeds=fused), query_length=0,
                             attention_mask=mask).last_hidden_state
            query = F.normalize(model.text_projection(hidden[:, queries]), dim=-1)
            words = embeddings.word_embeddings(tokens)
            prompt_input = torch.cat([words[:, :1], prompt_tokens.expand(batch, -1, -1), words[:, 1:]], 1)
            prompt_input = prompt_input + embeddings.position_embeddings(
                torch.arange(prompt_input.shape[1], device=device))[None]
            hidden = qformer(query_embeds=prompt_input, query_length=0, attention_mask=mask).last_hidden_state
            prompt = F.normalize(model.text_projection(hidden[:, 0]), dim=-1)
        targets, fused, query, prompt = (x.float() for x in (targets, fused, query, prompt))
        itc = F.cross_entropy(similarity(query, targets), labels)
        rtc = F.cross_entropy(similarity(prompt, targets), labels)
        align = F.mse_loss(fused.mean(1), prompt_tokens.detach().mean(1).expand(batch, -1))
        (itc + 0.4 * rtc + 0.4 * align).backward()
        optimizer.step()

    result = {"torch": torch.__version__, "transformers": transformers.__version__, "device": str(device)}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        seconds = seconds_per_step(lambda: step(dtype), repeats, device)
        result[name] = {"step_s": seconds, "pairs_per_s": batch / seconds}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
