// crixctl: a CRI client for crixd or any other CRI runtime socket.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "crix/proto/api.grpc.pb.h"

namespace {

namespace v1 = ::runtime::v1;

struct Client {
  std::string endpoint = "unix:///run/crix/crix.sock";
  int timeoutSeconds = 10;

  std::shared_ptr<grpc::Channel> channel() const {
    std::string target = endpoint;
    if (!target.empty() && target[0] == '/') target = "unix://" + target;
    return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  }
  void prepare(grpc::ClientContext& ctx) const {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeoutSeconds));
  }
};

int report(const grpc::Status& s, const std::string& what) {
  std::cerr << "crixctl: " << what << ": " << s.error_message() << " (code " << s.error_code() << ")\n";
  return 1;
}

int version(const Client& c) {
  auto stub = v1::RuntimeService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::VersionRequest req;
  v1::VersionResponse resp;
  if (auto s = stub->Version(&ctx, req, &resp); !s.ok()) return report(s, "version");
  std::cout << "Version:  " << resp.version() << "\n"
            << "RuntimeName:  " << resp.runtime_name() << "\n"
            << "RuntimeVersion:  " << resp.runtime_version() << "\n"
            << "RuntimeApiVersion:  " << resp.runtime_api_version() << "\n";
  return 0;
}

int info(const Client& c) {
  auto stub = v1::RuntimeService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  if (auto s = stub->Status(&ctx, req, &resp); !s.ok()) return report(s, "status");
  std::string statusJson;
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(resp.status(), &statusJson, opts);
  nlohmann::json out;
  out["status"] = nlohmann::json::parse(statusJson);
  // Verbose values are JSON documents by convention; show them as such.
  for (const auto& [k, v] : resp.info()) {
    auto parsed = nlohmann::json::parse(v, nullptr, false);
    out["info"][k] = parsed.is_discarded() ? nlohmann::json(v) : parsed;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"crixctl: a client for CRI runtimes"};
  Client client;
  app.add_option("-r,--endpoint", client.endpoint, "CRI endpoint (unix:///path or a socket path)")
      ->capture_default_str();
  app.add_option("-t,--timeout", client.timeoutSeconds, "per-call timeout in seconds")->capture_default_str();
  app.require_subcommand(1);
  app.fallthrough();
  auto* versionCmd = app.add_subcommand("version", "print the runtime's name and versions");
  auto* infoCmd = app.add_subcommand("info", "print the runtime's status conditions and configuration");
  CLI11_PARSE(app, argc, argv);
  if (*versionCmd) return version(client);
  if (*infoCmd) return info(client);
  return 1;
}
