#pragma once
// The `openai` captioner: a multimodal model behind any OpenAI-compatible
// chat-completions endpoint that takes images (llama.cpp's server with LLaVA, vLLM,
// Ollama, ...). Each image file is sent as a base64 data URL with the configured
// prompt; up to `in_flight` requests per rank run at once (libcurl's multi interface),
// round-robin over the configured URLs. A timeout, an unreachable server, an HTTP
// error, a malformed reply or an empty caption is retried with exponential backoff,
// then reported as a UserError naming the image, the URL and the last error.
#include <memory>
#include <string>

#include "config/positives_config.h"
#include "data/captioning.h"

namespace spn {

// `where` prefixes errors (the config key that chose this captioner and its place).
std::unique_ptr<Captioner> make_openai_captioner(const PositivesConfig& config, const std::string& where);

}  // namespace spn
