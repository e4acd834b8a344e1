// crixctl: a CRI client for crixd or any other CRI runtime socket.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cmd/crixctl/bench.h"
#include "common/paths.h"
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

grpc::Status verboseStatus(const Client& c, v1::StatusResponse* resp) {
  auto stub = v1::RuntimeService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::StatusRequest req;
  req.set_verbose(true);
  return stub->Status(&ctx, req, resp);
}

int info(const Client& c) {
  v1::StatusResponse resp;
  if (auto s = verboseStatus(c, &resp); !s.ok()) return report(s, "status");
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

v1::ImageSpec spec(const std::string& image) {
  v1::ImageSpec s;
  s.set_image(image);
  return s;
}

void printJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  std::cout << out;
}

int pull(const Client& c, const std::string& image, const std::string& creds) {
  auto stub = v1::ImageService::NewStub(c.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(1));  // big images take time
  v1::PullImageRequest req;
  *req.mutable_image() = spec(image);
  if (auto colon = creds.find(':'); colon != std::string::npos) {
    req.mutable_auth()->set_username(creds.substr(0, colon));
    req.mutable_auth()->set_password(creds.substr(colon + 1));
  }
  v1::PullImageResponse resp;
  if (auto s = stub->PullImage(&ctx, req, &resp); !s.ok()) return report(s, "pull " + image);
  std::cout << "Image is up to date for " << resp.image_ref() << "\n";
  return 0;
}

// crixd reads archives only from its import directory (<root>/import):
// the archive is linked there (copied when it is on another filesystem),
// pulled by that name, and unlinked.
int importArchive(const Client& c, const std::string& archive) {
  v1::StatusResponse resp;
  if (auto s = verboseStatus(c, &resp); !s.ok()) return report(s, "status");
  auto it = resp.info().find("config");
  auto config = it == resp.info().end() ? nlohmann::json() : nlohmann::json::parse(it->second, nullptr, false);
  if (!config.is_object() || !config.contains("root")) {
    std::cerr << "crixctl: image import: the runtime does not say where its root is (is it crixd?)\n";
    return 1;
  }
  std::string dir = crix::Paths(config["root"].get<std::string>(), "").importDir();
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path source = fs::absolute(archive, ec);
  fs::path staged = fs::path(dir) / ("crixctl-" + std::to_string(::getpid()) + "-" + source.filename().string());
  fs::create_hard_link(source, staged, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(source, staged, ec);
  }
  if (ec) {
    std::cerr << "crixctl: image import: cannot put " << source.string() << " into " << dir << ": " << ec.message()
              << "\n";
    return 1;
  }
  int rc = pull(c, "oci-archive:" + staged.string(), "");
  fs::remove(staged, ec);
  return rc;
}

int images(const Client& c) {
  auto stub = v1::ImageService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::ListImagesResponse resp;
  if (auto s = stub->ListImages(&ctx, {}, &resp); !s.ok()) return report(s, "list images");
  std::printf("%-60s %-14s %10s\n", "IMAGE", "ID", "SIZE");
  for (const auto& img : resp.images()) {
    std::string id = img.id().substr(img.id().find(':') + 1, 13);
    std::string size = std::to_string(img.size() / 1000) + "kB";
    if (img.repo_tags().empty()) std::printf("%-60s %-14s %10s\n", "<none>", id.c_str(), size.c_str());
    for (const auto& tag : img.repo_tags()) std::printf("%-60s %-14s %10s\n", tag.c_str(), id.c_str(), size.c_str());
  }
  return 0;
}

int inspecti(const Client& c, const std::string& image) {
  auto stub = v1::ImageService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::ImageStatusRequest req;
  *req.mutable_image() = spec(image);
  req.set_verbose(true);
  v1::ImageStatusResponse resp;
  if (auto s = stub->ImageStatus(&ctx, req, &resp); !s.ok()) return report(s, "image status");
  if (!resp.has_image()) {
    std::cerr << "crixctl: no such image " << image << "\n";
    return 1;
  }
  printJson(resp);
  std::cout << "\n";
  return 0;
}

int rmi(const Client& c, const std::string& image) {
  auto stub = v1::ImageService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::RemoveImageRequest req;
  *req.mutable_image() = spec(image);
  v1::RemoveImageResponse resp;
  if (auto s = stub->RemoveImage(&ctx, req, &resp); !s.ok()) return report(s, "remove " + image);
  std::cout << "Deleted: " << image << "\n";
  return 0;
}

int imagefsinfo(const Client& c) {
  auto stub = v1::ImageService::NewStub(c.channel());
  grpc::ClientContext ctx;
  c.prepare(ctx);
  v1::ImageFsInfoResponse resp;
  if (auto s = stub->ImageFsInfo(&ctx, {}, &resp); !s.ok()) return report(s, "image fs info");
  printJson(resp);
  std::cout << "\n";
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
  std::string image, creds, archive;
  auto* pullCmd = app.add_subcommand("pull", "pull an image");
  pullCmd->add_option("image", image, "image reference")->required();
  pullCmd->add_option("--creds", creds, "registry credentials, USER:PASSWORD");
  auto* imagesCmd = app.add_subcommand("images", "list images");
  auto* inspectiCmd = app.add_subcommand("inspecti", "show an image's status, config and manifest");
  inspectiCmd->add_option("image", image, "image reference or ID")->required();
  auto* rmiCmd = app.add_subcommand("rmi", "remove an image (or one of its tags)");
  rmiCmd->add_option("image", image, "image reference or ID")->required();
  auto* fsCmd = app.add_subcommand("imagefsinfo", "show the disk space images and containers use");
  auto* imageCmd = app.add_subcommand("image", "image archive commands");
  auto* importCmd = imageCmd->add_subcommand("import", "load an OCI layout or docker save archive");
  importCmd->add_option("file", archive, "archive file (tar or tar.gz)")->required()->check(CLI::ExistingFile);
  imageCmd->require_subcommand(1);
  crix::bench::Options benchOpts;
  auto* benchCmd = crix::bench::addBenchCommand(app, benchOpts);
  CLI11_PARSE(app, argc, argv);
  if (*versionCmd) return version(client);
  if (*infoCmd) return info(client);
  if (*pullCmd) return pull(client, image, creds);
  if (*imagesCmd) return images(client);
  if (*inspectiCmd) return inspecti(client, image);
  if (*rmiCmd) return rmi(client, image);
  if (*fsCmd) return imagefsinfo(client);
  if (*benchCmd) {
    benchOpts.endpoint = client.endpoint;
    return crix::bench::runBench(benchOpts);
  }
  if (*importCmd) return importArchive(client, archive);
  return 1;
}
