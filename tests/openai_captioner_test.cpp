// The openai captioner against local HTTP servers started by the test: normal replies
// (in flight and round-robin over two servers), failures that retries absorb, and each
// way a server can fail for good (500s, garbage, empty captions, replies past the
// timeout, nobody listening), which must stop the run with the image named.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "data/captioning.h"
#include "data/image_io.h"
#include "http_test_server.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using testing::HttpTestServer;

class OpenAiCaptioner : public ::testing::Test {
 protected:
  void SetUp() override {
    auto comm = make_local_communicator();
    dir_ = testing::shared_temp_dir(*comm, "openai");
    split_.name = "train";
    split_.root = dir_;
    for (int i = 0; i < 7; ++i) {
      const std::string name = "img" + std::to_string(i);
      split_.index_of[name] = i;
      split_.images.push_back(name);
      split_.relative_paths.push_back(name + ".png");
      RgbImage image;  // sizes differ, so the files' base64 lengths differ
      image.width = 3 + i;
      image.height = 4;
      image.pixels.assign(static_cast<size_t>(image.width * image.height * 3), static_cast<uint8_t>(30 * i));
      write_png(dir_ / split_.relative_paths.back(), image);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  ExperimentConfig config(const std::vector<std::string>& urls, const std::string& extra = "") {
    std::string list;
    for (const auto& url : urls) list += (list.empty() ? "\"" : ", \"") + url + "\"";
    return load_config_text(
        "[positives]\ncaptioner = \"openai\"\n[positives.openai]\nurls = [" + list + "]\nbackoff_s = 0.01\n" + extra,
        "exp.toml", {});
  }

  std::vector<std::string> caption_all(const ExperimentConfig& cfg) {
    auto comm = make_local_communicator();
    auto captioner = make_captioner(cfg, split_);
    std::vector<int64_t> all = {0, 1, 2, 3, 4, 5, 6};
    return caption_images(*comm, *captioner, split_, all, dir_ / ("out" + std::to_string(++runs_)), false);
  }

  std::string error_of(const ExperimentConfig& cfg) {
    try {
      caption_all(cfg);
    } catch (const UserError& error) {
      return error.what();
    }
    return "";
  }

  std::string expected_caption(int i) const {
    const size_t bytes = read_file(split_.image_path(i)).size();
    return HttpTestServer::caption_for(4 * ((bytes + 2) / 3));
  }

  fs::path dir_;
  CirrSplit split_;
  int runs_ = 0;
};

TEST_F(OpenAiCaptioner, CaptionsEveryImageRoundRobinOverServers) {
  HttpTestServer a(HttpTestServer::Mode::Captions), b(HttpTestServer::Mode::Captions);
  const auto captions = caption_all(config({a.url(), b.url()}, "in_flight = 3\n"));
  ASSERT_EQ(captions.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(captions[i], expected_caption(i)) << "image " << i;
  EXPECT_EQ(a.requests() + b.requests(), 7);
  EXPECT_GE(a.requests(), 3);
  EXPECT_GE(b.requests(), 3);
}

TEST_F(OpenAiCaptioner, RetriesAbsorbPassingFailures) {
  HttpTestServer flaky(HttpTestServer::Mode::Captions, /*failures_first=*/2);
  const auto captions = caption_all(config({flaky.url()}));
  for (int i = 0; i < 7; ++i) EXPECT_EQ(captions[i], expected_caption(i));
  EXPECT_EQ(flaky.requests(), 7 + 2);
}

TEST_F(OpenAiCaptioner, LastingFailuresStopWithTheImageNamed) {
  {
    HttpTestServer failing(HttpTestServer::Mode::Error500);
    const std::string error = error_of(config({failing.url()}, "retries = 2\n"));
    EXPECT_NE(error.find("positives.openai: image 'img"), std::string::npos) << error;
    EXPECT_NE(error.find(failing.url() + ": HTTP 500: overloaded (gave up after 3 attempts)"), std::string::npos)
        << error;
  }
  {
    HttpTestServer garbage(HttpTestServer::Mode::Garbage);
    const std::string error = error_of(config({garbage.url()}, "retries = 1\n"));
    EXPECT_NE(error.find("reply is not JSON: <html>not json (gave up after 2 attempts)"), std::string::npos) << error;
  }
  {
    HttpTestServer empty(HttpTestServer::Mode::EmptyCaption);
    const std::string error = error_of(config({empty.url()}, "retries = 0\n"));
    EXPECT_NE(error.find("the model returned an empty caption"), std::string::npos) << error;
  }
  {
    HttpTestServer slow(HttpTestServer::Mode::Slow, 0, /*delay_ms=*/1500);
    const std::string error = error_of(config({slow.url()}, "retries = 1\ntimeout_s = 0.2\nin_flight = 1\n"));
    EXPECT_NE(error.find("Timeout"), std::string::npos) << error;
  }
  std::string nobody;
  {
    HttpTestServer closed(HttpTestServer::Mode::Captions);
    nobody = closed.url();
  }
  const std::string error = error_of(config({nobody}, "retries = 1\n"));
  EXPECT_NE(error.find(nobody + ": Couldn't connect to server"), std::string::npos) << error;
  // Nothing that looks complete is left behind.
  for (int run = 1; run <= runs_; ++run)
    EXPECT_FALSE(fs::exists(dir_ / ("out" + std::to_string(run)) / "captions.json"));
}

}  // namespace
}  // namespace spn
