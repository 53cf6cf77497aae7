#include "data/openai_captioner.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <list>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string data_url(const std::string& bytes) {
  const bool png = bytes.size() >= 4 && bytes.compare(0, 4, "\x89PNG") == 0;
  std::string encoded(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  encoded.resize(static_cast<size_t>(length));
  return std::string("data:image/") + (png ? "png" : "jpeg") + ";base64," + encoded;
}

// The reply's caption with whitespace collapsed; "" with `error` set when the reply is
// not a chat completion with text.
std::string caption_from_reply(const std::string& body, std::string& error) {
  const json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded()) {
    error = "reply is not JSON: " + body.substr(0, 120);
    return "";
  }
  const json* content = nullptr;
  if (reply.contains("choices") && reply["choices"].is_array() && !reply["choices"].empty() &&
      reply["choices"][0].contains("message") && reply["choices"][0]["message"].contains("content"))
    content = &reply["choices"][0]["message"]["content"];
  if (!content || !content->is_string()) {
    error = "reply has no choices[0].message.content string: " + body.substr(0, 120);
    return "";
  }
  std::istringstream words(content->get<std::string>());
  std::string caption;
  for (std::string word; words >> word;) caption += (caption.empty() ? "" : " ") + word;
  if (caption.empty()) error = "the model returned an empty caption";
  return caption;
}

size_t collect(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

struct Job {
  int64_t index = 0;
  std::string body;  // built at the first attempt, kept for retries
  int64_t attempts = 0;
  std::string last_error, last_url;
  Clock::time_point not_before;
};

struct Transfer {
  Job job;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string response;
};

class OpenAiCaptioner : public Captioner {
 public:
  OpenAiCaptioner(const PositivesConfig& config, std::string where) : config_(config.openai), where_(std::move(where)) {
    static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (initialised != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    prompt_ = replace_all(replace_all(config_.prompt, "{subject}", config_.subject), "{k}",
                          std::to_string(config.caption_words));
    if (const char* key = std::getenv(config_.api_key_env.c_str())) authorization_ = std::string("Bearer ") + key;
  }

  void caption(const CirrSplit& split, const std::vector<int64_t>& indices, const Done& done) override {
    std::deque<Job> waiting;
    for (int64_t index : indices) waiting.push_back(Job{index, "", 0, "", "", Clock::now()});
    Multi multi;
    while (!waiting.empty() || !multi.transfers.empty()) {
      // Start what may start; a job waiting out its backoff goes to the back.
      for (size_t n = waiting.size(); n > 0 && multi.transfers.size() < static_cast<size_t>(config_.in_flight); --n) {
        Job job = std::move(waiting.front());
        waiting.pop_front();
        if (job.not_before > Clock::now()) {
          waiting.push_back(std::move(job));
          continue;
        }
        if (job.body.empty()) job.body = request_body(split, job.index);
        start(multi, std::move(job));
      }
      if (multi.transfers.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      int running = 0;
      curl_multi_perform(multi.handle, &running);
      curl_multi_poll(multi.handle, nullptr, 0, 50, nullptr);
      curl_multi_perform(multi.handle, &running);
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi.handle, &queued)) {
        if (message->msg != CURLMSG_DONE) continue;
        auto transfer = std::find_if(multi.transfers.begin(), multi.transfers.end(),
                                     [&](const Transfer& t) { return t.easy == message->easy_handle; });
        std::string error;
        std::string caption;
        long status = 0;
        curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
        if (message->data.result != CURLE_OK)
          error = curl_easy_strerror(message->data.result);
        else if (status != 200)
          error = "HTTP " + std::to_string(status) + ": " + transfer->response.substr(0, 120);
        else
          caption = caption_from_reply(transfer->response, error);
        Job job = std::move(transfer->job);
        multi.finish(transfer);
        if (error.empty()) {
          done(job.index, caption);
          continue;
        }
        job.last_error = error;
        if (job.attempts > config_.retries)
          throw UserError(where_ + ": image '" + split.images[job.index] + "': " + job.last_url + ": " + error +
                          " (gave up after " + std::to_string(job.attempts) + " attempts)");
        const double wait = config_.backoff_s * static_cast<double>(1LL << std::min<int64_t>(job.attempts - 1, 20));
        job.not_before =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
        waiting.push_back(std::move(job));
      }
    }
  }

 private:
  // Owns the multi handle and the transfers in flight, so an exception cleans up.
  struct Multi {
    CURLM* handle = curl_multi_init();
    std::list<Transfer> transfers;
    ~Multi() {
      while (!transfers.empty()) finish(transfers.begin());
      curl_multi_cleanup(handle);
    }
    void finish(std::list<Transfer>::iterator transfer) {
      curl_multi_remove_handle(handle, transfer->easy);
      curl_easy_cleanup(transfer->easy);
      curl_slist_free_all(transfer->headers);
      transfers.erase(transfer);
    }
  };

  std::string request_body(const CirrSplit& split, int64_t index) const {
    const json message = {
        {"role", "user"},
        {"content",
         {{{"type", "text"}, {"text", prompt_}},
          {{"type", "image_url"}, {"image_url", {{"url", data_url(read_file(split.image_path(index)))}}}}}}};
    return json{{"model", config_.model}, {"temperature", config_.temperature}, {"messages", {message}}}.dump();
  }

  void start(Multi& multi, Job job) {
    job.last_url = config_.urls[next_url_++ % config_.urls.size()];
    ++job.attempts;
    multi.transfers.push_back(Transfer{std::move(job), curl_easy_init(), nullptr, ""});
    Transfer& transfer = multi.transfers.back();
    transfer.headers = curl_slist_append(transfer.headers, "Content-Type: application/json");
    if (!authorization_.empty())
      transfer.headers = curl_slist_append(transfer.headers, ("Authorization: " + authorization_).c_str());
    CURL* easy = transfer.easy;
    curl_easy_setopt(easy, CURLOPT_URL, transfer.job.last_url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer.job.body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(transfer.job.body.size()));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer.response);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_s * 1000));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(multi.handle, easy);
  }

  OpenAiCaptionerConfig config_;
  std::string where_;
  std::string prompt_;
  std::string authorization_;
  size_t next_url_ = 0;
};

}  // namespace

std::unique_ptr<Captioner> make_openai_captioner(const PositivesConfig& config, const std::string& where) {
  return std::make_unique<OpenAiCaptioner>(config, where);
}

}  // namespace spn
