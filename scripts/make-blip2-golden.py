#!/usr/bin/env python3
"""Builds the golden fixtures in tests/golden/ that the C++ BLIP-2 / SPRC tests compare with.

The references are Hugging Face `transformers` (BertTokenizer, both its Rust-backed
form and the pure-Python BertTokenizerLegacy, which LAVIS/SPRC used; Blip2VisionModel
and Blip2QFormerModel inside a tiny random Blip2ForImageTextRetrieval). Exactly as it
was run for the committed fixtures (torch from spn's LibTorch wheel, transformers in a
venv of its own):

    python3 -m venv /work/venv-hf
    /work/venv-hf/bin/pip install transformers==5.23.0 safetensors
    PYTHONPATH=$(cat ~/.cache/spn/torch-2.11.0/torch-dir)/.. \\
        /work/venv-hf/bin/python scripts/make-blip2-golden.py tests/golden

Writes, with fixed seeds:
  bert_tokenizer/  vocab.txt: a small WordPiece vocabulary written here (bert-base-
                   uncased's layout: [PAD] 0, [unused*], [UNK] 100, [CLS] 101, [SEP] 102,
                   [MASK] 103, then characters, ##continuations and whole words), so the
                   30522-line vocabulary need not be committed; cases.json: texts with
                   BLIP's caption cleaning and the reference token rows, cleaned and not
  blip2/           config.json + model.safetensors: a tiny random
                   Blip2ForImageTextRetrieval (weights rounded to float16);
                   expected.safetensors: inputs and float64 reference outputs of the
                   vision tower + ln_vision and of SPRC's Q-Former passes
"""
import argparse
import json
import pathlib
import re
import tempfile

import torch
import transformers
from safetensors.torch import save_file
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

MAX_LENGTH = 32  # SPRC's max_txt_len

TEXTS = [
    "a photo of a cat",
    "Make the dress RED and add long sleeves.",
    "is darker, has no logo and   is   longer",
    "change the dog's collar; it shouldn't be blue!!!",
    "unaffable unaffableness",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber stra\u00dfe",
    "Cafe\u0301 with a combining accent",
    "\u732b\u304c\u597d\u304d \u4e2d\u6587\u6807\u70b9\uff0c\u5b57 cat\u732bdog",
    "emoji \U0001F600 and \u2764\ufe0f hearts",
    "numbers 12345 and 3.14 and 1,000,000",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em space",
    "  leading and trailing spaces  \n",
    "UPPER lower MiXeD \u0130stanbul \u03a3\u039f\u03a6\u0399\u0391 \u00c5ngstr\u00f6m",
    "symbols @#$%^&*()_+-=[]{}|\\:;\"<>,./?`~",
    "quotes \u201ccurly\u201d \u2018single\u2019 \u00abguillemets\u00bb \u2014 dash \u2026",
    "hyphen-ated words and under_scores and e-mail@example.com",
    "control\u0007chars\u200band zero\u200dwidth\ufffdreplacement",
    "",
    "!",
    "...",
    "x" * 100 + " " + "y" * 101,
    "a" * 99 + "!",
    "the shirt is more colorful and has a graphic print",
    " ".join(["the shirt is more colorful and has a graphic print"] * 6),
    " ".join(f"w{i}" for i in range(60)),
    "a.b!c\"d(e)f*g#h:i;j~k",
    "one\ttab and two\t\ttabs",
]

# Whole words and pieces of the small vocabulary: enough for the texts above to be
# split into several pieces, with some characters (\u00df, emoji, most CJK) left out so
# that [UNK] appears.
WORDS = ["a", "the", "photo", "of", "cat", "dog", "dress", "red", "make", "and", "add", "long", "sleeve", "##s",
         "is", "dark", "##er", "has", "no", "logo", "change", "collar", "it", "should", "##n", "blue", "be",
         "un", "##aff", "##able", "##ness", "cafe", "naive", "resume", "uber", "with", "combining", "accent",
         "emoji", "hearts", "numbers", "tab", "new", "##line", "space", "leading", "trailing", "upper", "lower",
         "mixed", "istanbul", "symbols", "quotes", "curly", "single", "dash", "word", "under", "score", "mail",
         "example", "com", "control", "char", "zero", "width", "shirt", "more", "color", "##ful", "graphic",
         "print", "one", "two", "##12", "##3", "000", "14", "\u732b", "\u4e2d", "\u03c3\u03bf\u03c6\u03b9\u03b1",
         "angstrom", "x" * 100, "##pl", "##ace", "rep", "##ment", "hyp", "##hen", "##ated"]


def write_vocab(path):
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    tokens += chars + ["##" + c for c in chars if c.isalnum()]
    tokens += [w for w in WORDS if w not in tokens]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return len(tokens)


def pre_caption(caption, max_words=50):
    """BLIP's caption cleaning (LAVIS BlipCaptionProcessor.pre_caption)."""
    caption = re.sub(r"[.!\"()*#:;~]", " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption)
    caption = caption.rstrip("\n").strip(" ")
    words = caption.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else caption


def make_tokenizer(out):
    out.mkdir(parents=True, exist_ok=True)
    vocab_size = write_vocab(out / "vocab.txt")
    legacy = BertTokenizerLegacy(vocab_file=str(out / "vocab.txt"))
    fast = transformers.BertTokenizer(vocab=dict(legacy.vocab))
    for tokenizer in (legacy, fast):
        tokenizer.add_special_tokens({"bos_token": "[DEC]"})  # as LAVIS's init_tokenizer
        assert tokenizer.bos_token_id == vocab_size, "[DEC] must follow the vocabulary"

    def row(tokenizer, text):
        return tokenizer(text, padding="max_length", truncation=True, max_length=MAX_LENGTH)["input_ids"]

    cases = []
    for text in TEXTS:
        cleaned = pre_caption(text)
        case = {"text": text, "cleaned": cleaned, "pieces": legacy.tokenize(text),
                "ids": legacy.convert_tokens_to_ids(legacy.tokenize(text)), "row": row(legacy, text),
                "cleaned_row": row(legacy, cleaned)}
        for key, value in (("row", row(fast, text)), ("cleaned_row", row(fast, cleaned))):
            assert value == case[key], f"BertTokenizer and BertTokenizerLegacy differ on {text!r}"
        cases.append(case)
    document = {"max_length": MAX_LENGTH, "max_words": 50, "dec_id": vocab_size, "cases": cases}
    (out / "cases.json").write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return vocab_size


CAPTIONS = [
    "is red and has long sleeves",
    "Change the dog's collar; make it BLUE and add a logo with more color.",
    "caf\u00e9 photo",
]
TEXT_LENGTH = 12  # token rows of the model fixture (SPRC: 32); one caption is cut
IMAGE_SIZE = 21


def randomize(module, generator):
    """Replaces the library initialisation with larger random values, so no layer is trivially identity."""
    with torch.no_grad():
        for name, tensor in module.named_parameters():
            noise = torch.randn(tensor.shape, generator=generator, dtype=torch.float64).to(tensor.dtype)
            if ("norm" in name or "LayerNorm" in name) and name.endswith("weight"):
                tensor.copy_(1 + 0.1 * noise)
            else:
                tensor.copy_(0.1 * noise)
        for layer in module.vision_model.encoder.layers:  # EVA has no k bias
            third = layer.self_attn.qkv.bias.numel() // 3
            layer.self_attn.qkv.bias[third : 2 * third] = 0


def rounded(tensor):
    return tensor.detach().half().double()


def unit(x):
    return torch.nn.functional.normalize(x, dim=-1)


def make_blip2(out, vocab_size, tokenizer):
    generator = torch.Generator().manual_seed(5)
    queries = 4
    config = transformers.Blip2Config(
        vision_config=dict(hidden_size=32, intermediate_size=56, num_hidden_layers=2, num_attention_heads=4,
                           image_size=IMAGE_SIZE, patch_size=7),
        qformer_config=dict(vocab_size=vocab_size, hidden_size=24, num_hidden_layers=3, num_attention_heads=4,
                            intermediate_size=48, max_position_embeddings=TEXT_LENGTH + queries + 4,
                            use_qformer_text_input=True),
        text_config=dict(model_type="opt", vocab_size=16, hidden_size=8, num_hidden_layers=1, ffn_dim=8,
                         num_attention_heads=2, word_embed_proj_dim=8),
        num_query_tokens=queries, image_text_hidden_size=16,
    )
    config._attn_implementation = "eager"
    model = transformers.Blip2ForImageTextRetrieval(config).eval()
    randomize(model, generator)
    model = model.double()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(rounded(tensor))
    # LAVIS's ln_vision has eps 1e-5 where Hugging Face's post_layernorm has the blocks'
    # 1e-6; spn's default is LAVIS's (vision_config.ln_vision_eps, absent here).
    model.vision_model.post_layernorm.eps = 1e-5
    prompt_tokens = rounded(0.1 * torch.randn(1, queries, 24, generator=generator, dtype=torch.float64))
    temp = rounded(torch.tensor(0.05, dtype=torch.float64))

    pixels = torch.randn(3, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator, dtype=torch.float64)
    cleaned = [pre_caption(c) for c in CAPTIONS]
    tokens = torch.tensor(tokenizer(cleaned, padding="max_length", truncation=True, max_length=TEXT_LENGTH)["input_ids"])
    text_mask = (tokens != 0).long()
    batch = tokens.shape[0]
    qformer, embeddings = model.qformer, model.embeddings
    mask = torch.cat([torch.ones(batch, queries, dtype=torch.long), text_mask], 1)
    with torch.no_grad():
        image_tokens = model.vision_model(pixel_values=pixels).last_hidden_state
        image_mask = torch.ones(image_tokens.shape[:2], dtype=torch.long)
        query_tokens = model.query_tokens.expand(batch, -1, -1)
        # 1. target features: the query tokens cross-attend to the image
        hidden = qformer(query_embeds=query_tokens, encoder_hidden_states=image_tokens,
                         encoder_attention_mask=image_mask).last_hidden_state
        target_features = unit(model.vision_projection(hidden))
        # 2. fusion: query tokens + text, cross-attending to the reference image
        fused = qformer(query_embeds=embeddings(input_ids=tokens, query_embeds=query_tokens), query_length=queries,
                        attention_mask=mask, encoder_hidden_states=image_tokens,
                        encoder_attention_mask=image_mask).last_hidden_state[:, :queries]
        # 3. composed query, without image. SPRC's Q-Former gives every position the text
        # FFN and no cross-attention then; transformers does the same with query_length=0.
        composed_input = embeddings(input_ids=tokens, query_embeds=fused)
        hidden = qformer(query_embeds=composed_input, query_length=0, attention_mask=mask).last_hidden_state
        composed = unit(model.text_projection(hidden[:, queries]))
        # The same pass by hand from the layers' modules, as SPRC's branch reads: self-
        # attention, then the text FFN (intermediate/output) at every position.
        x = qformer.layernorm(composed_input)
        additive = ((1 - mask.double()) * -10000.0)[:, None, None, :]
        for layer in qformer.encoder.layer:
            x = layer.feed_forward_chunk(layer.attention(x, attention_mask=additive))
        by_hand = (unit(model.text_projection(x[:, queries])) - composed).abs().max().item()
        assert by_hand < 1e-12, f"SPRC's no-image branch and query_length=0 differ by {by_hand}"
        # 5. prompt branch: [CLS; prompt tokens; words 1..] with positions 0..T+Q-1
        words = embeddings.word_embeddings(tokens)
        prompt_input = torch.cat([words[:, :1], prompt_tokens.expand(batch, -1, -1), words[:, 1:]], 1)
        prompt_input = prompt_input + embeddings.position_embeddings(torch.arange(prompt_input.shape[1]))[None]
        hidden = qformer(query_embeds=prompt_input, query_length=0, attention_mask=mask).last_hidden_state
        prompt_query = unit(model.text_projection(hidden[:, 0]))
        # the text alone (BLIP-2's text features)
        hidden = qformer(query_embeds=embeddings(input_ids=tokens), query_length=0,
                         attention_mask=text_mask).last_hidden_state
        text_features = unit(model.text_projection(hidden[:, 0]))
        # 4. similarity: the best target token, over the temperature
        similarity = torch.einsum("be,nqe->bnq", composed, target_features).max(-1).values / temp

    out.mkdir(parents=True, exist_ok=True)
    config_dict = config.to_dict()
    (out / "config.json").write_text(json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
    state = {k: v.half().contiguous() for k, v in model.state_dict().items()}
    state["prompt_tokens"] = prompt_tokens.half().contiguous()
    state["temp"] = temp.half().contiguous()
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    expected = {"pixels": pixels.float(), "tokens": tokens, "image_tokens": image_tokens, "target_features": target_features,
                "fused": fused, "composed_query": composed, "prompt_query": prompt_query,
                "text_features": text_features, "similarity": similarity}
    expected = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in expected.items()}
    save_file(expected, str(out / "expected.safetensors"),
              metadata={"captions": json.dumps(CAPTIONS), "no_image_branch_by_hand_max_abs_difference": f"{by_hand:.3g}"})
    print(f"blip2: {sum(v.numel() for v in state.values())} weights; SPRC's no-image branch by hand vs "
          f"query_length=0: max |difference| {by_hand:.3g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=pathlib.Path, help="fixture directory (tests/golden)")
    args = parser.parse_args()
    torch.manual_seed(0)
    vocab_size = make_tokenizer(args.out / "bert_tokenizer")
    tokenizer = BertTokenizerLegacy(vocab_file=str(args.out / "bert_tokenizer" / "vocab.txt"))
    make_blip2(args.out / "blip2", vocab_size + 1, tokenizer)  # + [DEC]
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    (args.out / "VERSIONS-blip2.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
