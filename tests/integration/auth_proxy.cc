#include "integration/auth_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace crix::test {
namespace {

std::string readHead(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && ::read(fd, &c, 1) == 1) head += c;
  return head;
}

void writeAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string header(const std::string& head, const std::string& name) {
  std::string lower = head;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto p = lower.find("\r\n" + name + ":");
  if (p == std::string::npos) return "";
  auto start = p + 3 + name.size();
  auto end = head.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += t[(val >> bits) & 63];
      bits -= 6;
    }
  }
  if (bits > -6) out += t[((val << 8) >> (bits + 8)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

int connectTo(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(hostPort.substr(colon + 1))));
  inet_pton(AF_INET, hostPort.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

AuthProxy::AuthProxy(std::string upstream) : upstream_(std::move(upstream)) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listenFd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  host_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  thread_ = std::thread([this] { serve(); });
}

AuthProxy::~AuthProxy() {
  stop_ = true;
  thread_.join();
  ::close(listenFd_);
}

void AuthProxy::serve() {
  while (!stop_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::thread([this, fd] {
      handle(fd);
      ::close(fd);
    }).detach();
  }
}

void AuthProxy::handle(int fd) {
  std::string head = readHead(fd);
  auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  std::string method = head.substr(0, sp1), path = head.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string auth = header(head, "authorization");

  if (path.starts_with("/token")) {
    if (auth != "Basic " + base64(std::string(kUser) + ":" + kPassword)) {
      writeAll(fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    ++tokens_;
    std::string body = std::string(R"({"token":")") + kToken + "\"}";
    writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n" + body);
    return;
  }
  if (auth != std::string("Bearer ") + kToken) {
    std::string repo = path.size() > 4
                           ? path.substr(4, path.find("/manifests/") != std::string::npos ? path.find("/manifests/") - 4
                                                                                          : path.find("/blobs/") - 4)
                           : "";
    writeAll(fd, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://" + host_ +
                     "/token\",service=\"crix-test\",scope=\"repository:" + repo +
                     ":pull\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  int up = connectTo(upstream_);
  if (up < 0) {
    writeAll(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  std::string accept = header(head, "accept");
  std::string range = header(head, "range");
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + upstream_ + "\r\nConnection: close\r\n";
  if (!accept.empty()) req += "Accept: " + accept + "\r\n";
  if (!range.empty()) req += "Range: " + range + "\r\n";
  writeAll(up, req + "\r\n");
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(up, buf.data(), buf.size());
    if (n <= 0) break;
    writeAll(fd, std::string(buf.data(), static_cast<size_t>(n)));
  }
  ::close(up);
}

}  // namespace crix::test
