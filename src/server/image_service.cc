#include "server/image_service.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "common/parse.h"
#include "server/grpc_status.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

void toCri(const image::Image& img, v1::Image* out) {
  out->set_id(img.id);
  for (const auto& t : img.repoTags) out->add_repo_tags(t);
  for (const auto& d : img.repoDigests) out->add_repo_digests(d);
  out->set_size(static_cast<uint64_t>(img.size));
  out->mutable_spec()->set_image(img.id);
  out->set_pinned(img.pinned);
  // The kubelet checks runAsNonRoot against these: a numeric User gives a
  // uid, a name gives a username to resolve in the container.
  std::string user = img.parsed.user.substr(0, img.parsed.user.find(':'));
  if (user.empty()) return;
  // A number too big for a uid is no uid: it stays a name, which no
  // /etc/passwd resolves, and the container fails to start with the reason.
  if (auto uid = parseNumber<int64_t>(user)) {
    out->mutable_uid()->set_value(*uid);
  } else {
    out->set_username(user);
  }
}

grpc::Status ImageService::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                                      v1::ListImagesResponse* resp) {
  const std::string& want = req->filter().image().image();
  if (!want.empty()) {
    if (auto img = images_.find(want)) toCri(*img, resp->add_images());
    return grpc::Status::OK;
  }
  for (const auto& img : images_.list()) toCri(img, resp->add_images());
  return grpc::Status::OK;
}

grpc::Status ImageService::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                                       v1::ImageStatusResponse* resp) {
  const std::string& want = req->image().image();
  if (want.empty()) return invalid("ImageStatus: image.image is required");
  auto img = images_.find(want);
  if (!img) return grpc::Status::OK;  // absent: an empty response, as the kubelet expects
  toCri(*img, resp->mutable_image());
  if (req->verbose()) {
    nlohmann::json info;
    info["imageSpec"] = nlohmann::json::parse(img->config, nullptr, false);
    if (auto manifest = images_.content().read(img->manifestDigest))
      info["manifest"] = nlohmann::json::parse(*manifest, nullptr, false);
    info["chainIDs"] = img->chainIds;
    info["manifestDigest"] = img->manifestDigest;
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

grpc::Status ImageService::PullImage(grpc::ServerContext*, const v1::PullImageRequest* req,
                                     v1::PullImageResponse* resp) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return invalid("PullImage: image.image is required");
  const auto& a = req->auth();
  image::RegistryAuth auth{a.username(), a.password(), a.auth(), a.identity_token(), a.registry_token()};
  auto id = images_.pull(ref, auth);
  if (!id) return toStatus(id.error());
  resp->set_image_ref(*id);
  return grpc::Status::OK;
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                                       v1::RemoveImageResponse*) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return invalid("RemoveImage: image.image is required");
  return toStatus(images_.remove(ref));
}

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                       v1::ImageFsInfoResponse* resp) {
  auto now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto fill = [now](v1::FilesystemUsage* fs, const std::string& mount, int64_t bytes, int64_t inodes) {
    fs->set_timestamp(now);
    fs->mutable_fs_id()->set_mountpoint(mount);
    fs->mutable_used_bytes()->set_value(static_cast<uint64_t>(bytes));
    fs->mutable_inodes_used()->set_value(static_cast<uint64_t>(inodes));
  };
  auto images = images_.imageFsUsage();
  fill(resp->add_image_filesystems(), paths_.root(), images.bytes, images.inodes);
  auto containers = containers_.writableLayers();
  fill(resp->add_container_filesystems(), paths_.containersDir(), containers.bytes, containers.inodes);
  return grpc::Status::OK;
}

}  // namespace crix::server
