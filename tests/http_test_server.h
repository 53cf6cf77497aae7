#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 for the openai captioner's tests: it answers
// chat-completion requests the way a healthy, slow, failing or broken server would.
// One connection at a time; every reply closes the connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace spn::testing {

class HttpTestServer {
 public:
  enum class Mode { Captions, Slow, Error500, Garbage, EmptyCaption };

  // `failures_first`: the first this many requests get a 500 whatever the mode.
  explicit HttpTestServer(Mode mode, int failures_first = 0, int delay_ms = 0)
      : mode_(mode), failures_first_(failures_first), delay_ms_(delay_ms) {
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(socket_, 16);
    socklen_t length = sizeof address;
    ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpTestServer() {
    stop_ = true;
    thread_.join();
    ::close(socket_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/chat/completions"; }
  int requests() const { return requests_; }
  void set_delay_ms(int delay_ms) { delay_ms_ = delay_ms; }

  // The caption a healthy server gives an image whose base64 data has `length` chars.
  static std::string caption_for(size_t length) { return "a scene of " + std::to_string(length) + " characters"; }

 private:
  void serve() {
    while (!stop_) {
      pollfd waiting{socket_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;
      const int connection = ::accept(socket_, nullptr, nullptr);
      if (connection < 0) continue;
      const std::string request = read_request(connection);
      const int number = ++requests_;
      respond(connection, request, number);
      ::close(connection);
    }
  }

  static std::string read_request(int connection) {
    std::string data;
    char buffer[65536];
    size_t body_start = std::string::npos, content_length = 0;
    while (true) {
      const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
      if (n <= 0) return data;
      data.append(buffer, static_cast<size_t>(n));
      if (body_start == std::string::npos && (body_start = data.find("\r\n\r\n")) != std::string::npos) {
        body_start += 4;
        const size_t header = data.find("Content-Length: ");
        if (header != std::string::npos) content_length = std::stoul(data.substr(header + 16));
      }
      if (body_start != std::string::npos && data.size() >= body_start + content_length) return data;
    }
  }

  void respond(int connection, const std::string& request, int number) {
    std::string status = "200 OK", body;
    if (number <= failures_first_ || mode_ == Mode::Error500) {
      status = "500 Internal Server Error";
      body = "overloaded";
    } else if (mode_ == Mode::Garbage) {
      body = "<html>not json";
    } else {
      if (mode_ == Mode::Slow) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      const size_t data = request.find("base64,") + 7;
      const std::string caption = mode_ == Mode::EmptyCaption ? " \\t " : caption_for(request.find('"', data) - data);
      body = R"({"choices": [{"index": 0, "message": {"role": "assistant", "content": "  )" + caption + R"(\n"}}]})";
    }
    const std::string reply = "HTTP/1.1 " + status +
                              "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
    ::send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  Mode mode_;
  int failures_first_;
  std::atomic<int> delay_ms_;
  int socket_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace spn::testing
