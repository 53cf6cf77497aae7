#!/usr/bin/env python3
"""Builds tests/golden/zeroshot/trainers.safetensors: a few optimizer steps of each zero-shot
trainer, as its reference code runs them, for tests/zero_shot_trainer_parity_test.cpp.

The CLIP is tests/golden/clip_vit (the tiny random transformers CLIPModel of
make-golden.py), in float64, frozen. The pseudo-word encodings are make-zeroshot-golden.py's
replicas of the references' (checked there against transformers' own forward). Every
random draw of the references is an input here instead (the images, the OTI words and
initial tokens, the template and phrase picks, RTD's noise), dropout is off (the mapping
networks in eval mode) and the learning rate is constant; larger learning rates than the
papers' make a few steps move the weights visibly.

  Pic2Word (google-research/composed_image_retrieval, src/trainer.py get_loss_img2text,
      src/main.py's optimizer): IM2TEXT maps the frozen image features; "a photo of" with
      the word inserted before the end token (model.py encode_text_img); both sides
      L2-normalised, logits = exp(logit_scale) * image @ text^T, the mean of the two cross
      entropies; AdamW with biases out of the weight decay, betas (0.9, 0.98), eps 1e-6.
  SEARLE's phi (miccunifi/SEARLE, src/train_phi.py): contrastive_loss(OTI words, phi(image
      features), 0.25) of src/utils.py + 0.75 * CosineEmbeddingLoss(phrase as written,
      phrase with phi's word in place of the concept), the first `$` replaced
      (src/encode_with_pseudo_tokens.py); AdamW(phi.parameters()) with torch's betas and eps.
  SEARLE's OTI (src/oti_inversion.py): one token per image from the given initial tokens;
      per step a template and a phrase per image; (cos + 0.5 gpt) / 1.5 with
      CosineEmbeddingLoss against the image features and the written phrase; AdamW on the
      tokens; the EMA 0.99 of the tokens.
  RTD (jaeseokbyun/RTD, train_text_encoder.py): a trainable copy of the text tower; the
      original tower's features of the target and reference captions are the targets;
      phi (frozen) maps the reference caption's features plus the given noise; the copy
      encodes "a photo of $ that {condition}" and "a photo of $" with every `$` replaced
      (encode_with_pseudo_tokens_HF); contrastive_loss(targets, queries, 0.07); AdamW on
      every parameter of the copy.

    PYTHONPATH=$(cat ~/.cache/spn/torch-2.11.0/torch-dir)/.. \\
        /work/venv-hf/bin/python scripts/make-zeroshot-trainer-golden.py tests/golden
"""
import argparse
import copy
import importlib.util
import json
import pathlib

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file

# The fixtures' building blocks (the tiny CLIP's text tower, the injections, the mapping
# networks) are make-zeroshot-golden.py's.
_spec = importlib.util.spec_from_file_location("zeroshot_golden", pathlib.Path(__file__).with_name("make-zeroshot-golden.py"))
zs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zs)

BATCH, STEPS, CONTEXT = 7, 3, 16  # 7 rows: uneven shards on 2 and 3 ranks
OTI_IMAGES, OTI_STEPS, OTI_TEMPLATES, OTI_PHRASES = 3, 5, 4, (2, 3, 2)
IMAGE_SIZE = 32
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def contrastive_loss(v1, v2, temperature):
    """SEARLE's and RTD's src/utils.py contrastive_loss, as written there."""
    v1, v2 = F.normalize(v1, dim=1), F.normalize(v2, dim=1)
    numerator = torch.exp(torch.diag(torch.inner(v1, v2)) / temperature)
    numerator = torch.cat((numerator, numerator), 0)
    joint = torch.cat((v1, v2), 0)
    products = torch.exp(torch.mm(joint, joint.t()) / temperature)
    denominator = torch.sum(products - products * torch.eye(joint.shape[0], dtype=joint.dtype), 0)
    return -torch.mean(torch.log(numerator / denominator))


def cosine_embedding(a, b):
    return torch.nn.CosineEmbeddingLoss()(a, b, torch.ones(1, dtype=torch.long))


def image_features_of(clip, images):
    """CLIP's un-normalised image features (encode_image) of images in [-1, 1]: normalised with
    CLIP's mean and std as its preprocessing does, the pooled vision output, projected."""
    mean = torch.tensor(CLIP_MEAN, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=images.dtype).view(1, 3, 1, 1)
    pixels = ((images + 1) * 0.5 - mean) / std
    return clip.visual_projection(clip.vision_model(pixel_values=pixels).pooler_output)


def encode(tower, tokens, words, mode):
    """The text tower's features of `tokens` with `words` injected as the references do."""
    eos = tower.config.eos_token_id
    x = tower.text_model.embeddings.token_embedding(tokens)
    end = (tokens == eos).int().argmax(1)
    rows = torch.arange(tokens.shape[0])
    if mode == "insert_before_end":  # Pic2Word's encode_text_img; pooled one after the end
        parts = [torch.cat([x[i, : end[i]], words[i, None], x[i, end[i] : -1]]) for i in rows]
        return zs.encode_embeddings(tower, torch.stack(parts), end + 1)
    if mode == "replace_first_dollar":  # SEARLE's encode_with_pseudo_tokens
        at = (tokens == zs.DOLLAR).int().argmax(1)
        x = x.clone()
        x[rows, at] = words
        return zs.encode_embeddings(tower, x, end)
    # RTD's encode_with_pseudo_tokens_HF: every `$`
    x = torch.where((tokens == zs.DOLLAR)[..., None], words[:, None], x)
    return zs.encode_embeddings(tower, x, end)


def token_rows(generator, eos, contents):
    return zs.rows(generator, eos, contents, CONTEXT)


def adamw_steps(parameters, optimizer, step_loss):
    """`STEPS` optimizer steps; the loss of each."""
    losses = []
    for s in range(STEPS):
        optimizer.zero_grad()
        loss = step_loss(s)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float64)


def random_images(generator, *shape):
    """Images in [-1, 1] (spn's image interface), float32 values (what the C++ side reads) in float64."""
    return (torch.rand(*shape, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator) * 2 - 1).double()


def pic2word(clip, tower, images, generator, out):
    eos, R = tower.config.eos_token_id, None
    prompt = token_rows(generator, eos, [[R, R, R]] * BATCH)  # "a photo of", the same ids on each row
    prompt[1:] = prompt[0]
    im2text = zs.randomized_half(zs.Im2Text(zs.IMAGE_DIM, 16, zs.HIDDEN, 2), generator)
    initial = {k: v.float().clone() for k, v in im2text.state_dict().items()}
    scale = clip.logit_scale.exp().detach()
    # src/main.py: "bn", "ln", "bias" and "logit_scale" out of the weight decay.
    exclude = lambda n: "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n
    named = list(im2text.named_parameters())
    optimizer = torch.optim.AdamW([{"params": [p for n, p in named if exclude(n)], "weight_decay": 0.0},
                                   {"params": [p for n, p in named if not exclude(n)], "weight_decay": 0.1}],
                                  lr=1e-3, betas=(0.9, 0.98), eps=1e-6)

    def step_loss(s):
        with torch.no_grad():
            image_features = image_features_of(clip, images[s])
        text_features = encode(tower, prompt, im2text(image_features), "insert_before_end")
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        logits_per_image = scale * image_features @ text_features.t()
        truth = torch.arange(BATCH)
        return (F.cross_entropy(logits_per_image, truth) + F.cross_entropy(logits_per_image.t(), truth)) / 2

    out.update({"pic2word.prompt": prompt,
                "pic2word.losses": adamw_steps(im2text.parameters(), optimizer, step_loss)})
    out.update({f"pic2word.trained.{k}": v for k, v in im2text.state_dict().items()})
    return initial


def phrase_pairs(generator, eos, count):
    """Phrase rows with the concept (one random id) as written, and with `$` in its place."""
    R = None
    written = token_rows(generator, eos, [[R, R, R, R, R]] * count)
    with_word = written.clone()
    with_word[:, 2] = zs.DOLLAR
    return with_word, written


def searle_phi(clip, tower, images, generator, out):
    eos = tower.config.eos_token_id
    oti_words = torch.randn(STEPS, BATCH, zs.HIDDEN, generator=generator, dtype=torch.float64)
    pairs = [phrase_pairs(generator, eos, BATCH) for _ in range(STEPS)]
    phi = zs.randomized_half(zs.phi(zs.IMAGE_DIM, 40, zs.HIDDEN), generator)
    initial = {k: v.float().clone() for k, v in phi.state_dict().items()}
    optimizer = torch.optim.AdamW(phi.parameters(), lr=1e-3, weight_decay=0.01)

    def step_loss(s):
        with torch.no_grad():
            image_features = image_features_of(clip, images[s])
        estimated = phi(image_features)
        distillation = contrastive_loss(oti_words[s], estimated, 0.25)
        with_word, written = pairs[s]
        with torch.no_grad():
            phrase_features = tower(input_ids=written).text_embeds
        gpt = cosine_embedding(phrase_features, encode(tower, with_word, estimated, "replace_first_dollar"))
        return 1.0 * distillation + 0.75 * gpt

    out.update({"searle.oti_words": oti_words,
                "searle.phrases_with_word": torch.stack([p[0] for p in pairs]),
                "searle.phrases": torch.stack([p[1] for p in pairs]),
                "searle.losses": adamw_steps(phi.parameters(), optimizer, step_loss)})
    out.update({f"searle.trained.{k}": v for k, v in phi.state_dict().items()})
    return initial


def searle_oti(clip, tower, generator, out):
    eos, R = tower.config.eos_token_id, None
    images = random_images(generator, OTI_IMAGES)
    with torch.no_grad():
        image_features = image_features_of(clip, images)
    templates = token_rows(generator, eos, [[R, R, zs.DOLLAR], [zs.DOLLAR, R], [R, zs.DOLLAR, R, R], [zs.DOLLAR]])
    phrases = [phrase_pairs(generator, eos, n) for n in OTI_PHRASES]
    initial = 0.02 * torch.randn(OTI_IMAGES, zs.HIDDEN, generator=generator, dtype=torch.float64)
    template_picks = torch.randint(0, OTI_TEMPLATES, (OTI_STEPS, OTI_IMAGES), generator=generator)
    phrase_picks = torch.stack([torch.randint(0, n, (OTI_STEPS,), generator=generator) for n in OTI_PHRASES], 1)

    tokens = torch.nn.Parameter(initial.clone())
    ema = tokens.clone().detach()
    optimizer = torch.optim.AdamW([tokens], lr=2e-2, weight_decay=0.01)
    losses = []
    for s in range(OTI_STEPS):
        optimizer.zero_grad()
        template_features = encode(tower, templates[template_picks[s]], tokens, "replace_first_dollar")
        with_word = torch.stack([phrases[i][0][phrase_picks[s, i]] for i in range(OTI_IMAGES)])
        written = torch.stack([phrases[i][1][phrase_picks[s, i]] for i in range(OTI_IMAGES)])
        with torch.no_grad():
            written_features = tower(input_ids=written).text_embeds
        word_features = encode(tower, with_word, tokens, "replace_first_dollar")
        loss = (1.0 * cosine_embedding(template_features, image_features) +
                0.5 * cosine_embedding(word_features, written_features)) / 1.5
        loss.backward()
        optimizer.step()
        ema = 0.99 * ema + 0.01 * tokens.detach()
        losses.append(loss.item())
    out.update({"oti.images": images.float(), "oti.image_features": image_features, "oti.templates": templates,
                "oti.phrases_with_word": torch.cat([p[0] for p in phrases]),
                "oti.phrases": torch.cat([p[1] for p in phrases]),
                "oti.phrase_counts": torch.tensor(OTI_PHRASES), "oti.initial_tokens": initial,
                "oti.template_picks": template_picks, "oti.phrase_picks": phrase_picks,
                "oti.losses": torch.tensor(losses, dtype=torch.float64), "oti.tokens": tokens.detach(),
                "oti.ema_tokens": ema})


def rtd(tower, generator, out):
    eos, R, D = tower.config.eos_token_id, None, zs.DOLLAR
    # Per triplet: "a photo of $ that {condition}", "a photo of $", the reference and the
    # target caption; "a photo of" the same ids on every row.
    photo = [int(i) for i in token_rows(generator, eos, [[R, R, R]])[0, 1:4]]
    tokens = torch.stack([torch.stack([
        token_rows(generator, eos, [photo + [D, R, R, R] for _ in range(BATCH)]),
        token_rows(generator, eos, [photo + [D]] * BATCH),
        token_rows(generator, eos, [[R] * 6] * BATCH),
        token_rows(generator, eos, [[R] * 5] * BATCH)], 1) for _ in range(STEPS)])
    noise = 0.5 * torch.rand(STEPS, BATCH, 1, generator=generator, dtype=torch.float64) * \
        torch.randn(STEPS, BATCH, zs.IMAGE_DIM, generator=generator, dtype=torch.float64)
    phi = zs.randomized_half(zs.phi(zs.IMAGE_DIM, 40, zs.HIDDEN), generator)
    initial = {k: v.float().clone() for k, v in phi.state_dict().items()}
    trained = copy.deepcopy(tower).train().requires_grad_(True)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=1e-3, weight_decay=0.01)

    def step_loss(s):
        concat, special, reference, target = (tokens[s, :, k] for k in range(4))
        concat_tokens, target_tokens = torch.cat((concat, special)), torch.cat((target, reference))
        target_features = tower(input_ids=target_tokens).text_embeds
        reference_features = tower(input_ids=reference).text_embeds
        with torch.no_grad():
            estimated = phi(reference_features + noise[s])
        queries = encode(trained, concat_tokens, torch.cat((estimated, estimated)), "rtd")
        return contrastive_loss(target_features, queries, 0.07)

    out.update({"rtd.tokens": tokens, "rtd.noise": noise,
                "rtd.losses": adamw_steps(trained.parameters(), optimizer, step_loss)})
    # The trained copy's features of some rows, with and without a word.
    probes = token_rows(generator, eos, [photo + [D, R, R], [R, R, D, R, R, R, R], [D, R]])
    probe_words = torch.randn(3, zs.HIDDEN, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        out.update({"rtd.probes": probes, "rtd.probe_words": probe_words,
                    "rtd.probe_features": encode(trained.eval(), probes, probe_words, "rtd")})
    return initial


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=pathlib.Path, help="fixture directory (tests/golden)")
    args = parser.parse_args()
    out_dir = args.out / "zeroshot"
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(29)
    clip = transformers.CLIPModel.from_pretrained(str(args.out / "clip_vit")).double().eval()
    for p in clip.parameters():
        p.requires_grad_(False)
    tower = zs.load_text_tower(str(args.out / "clip_vit"))
    for p in tower.parameters():
        p.requires_grad_(False)

    # Each step's images, Pic2Word's and SEARLE's.
    images = random_images(generator, STEPS, BATCH)
    expected = {"images": images.float()}
    mappers = {"pic2word_im2text": pic2word(clip, tower, images, generator, expected),
               "searle_phi": searle_phi(clip, tower, images, generator, expected)}
    searle_oti(clip, tower, generator, expected)
    mappers["rtd_phi"] = rtd(tower, generator, expected)
    save_file({k: v.contiguous() for k, v in expected.items()}, str(out_dir / "trainers.safetensors"))
    for name, state in mappers.items():
        save_file({k: v.contiguous() for k, v in state.items()}, str(out_dir / f"{name}.safetensors"))
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    (out_dir / "VERSIONS.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
