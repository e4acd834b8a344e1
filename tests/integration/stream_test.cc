// The Stream* lists against their unary twins over the real crixd: the
// same items, in messages a kubelet's client (16 MiB at most) accepts even
// where the unary reply is over that limit.
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "integration/pod_fixture.h"

namespace crix::test {
namespace {

constexpr int kKubeletMaxMessage = 16 << 20;

class StreamTest : public PodFixture {
 protected:
  // A channel that takes what the kubelet's does.
  std::shared_ptr<grpc::Channel> kubeletChannel() {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kKubeletMaxMessage);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel("unix://" + d_->socket(), grpc::InsecureChannelCredentials(), args);
  }
  // Every message of a stream, and its final status.
  template <typename Response, typename Call>
  std::vector<Response> readAll(Call call, grpc::Status* status) {
    auto ctx = rpcContext(60000);
    auto reader = call(ctx.get());
    std::vector<Response> out;
    Response r;
    while (reader->Read(&r)) out.push_back(r);
    *status = reader->Finish();
    return out;
  }
};

TEST_F(StreamTest, StreamsCarryWhatTheUnaryListsDoInMessagesUnderTheKubeletsLimit) {
  // Pod stats first: one pod's stats carry its containers' annotations, so
  // with the big ones below the one item would be over any limit.
  auto early = v1::RuntimeService::NewStub(kubeletChannel());
  grpc::Status status;
  auto podStatChunks = readAll<v1::StreamPodSandboxStatsResponse>(
      [&](grpc::ClientContext* ctx) { return early->StreamPodSandboxStats(ctx, v1::StreamPodSandboxStatsRequest{}); },
      &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int podStats = 0;
  for (const auto& chunk : podStatChunks) podStats += chunk.pod_sandbox_stats_size();
  EXPECT_EQ(podStats, 1);

  // 70 containers with 250 KB of annotations each: about 17.5 MB in one
  // ListContainers reply.
  std::set<std::string> all, labelled;
  for (int i = 0; i < 70; ++i) {
    auto c = config("big-" + std::to_string(i), {"sleep", "3600"});
    (*c.mutable_annotations())["payload"] = std::string(250 << 10, 'a' + i % 26);
    if (i % 3 == 0) (*c.mutable_labels())["third"] = "yes";
    std::string id;
    auto s = create(c, &id);
    ASSERT_TRUE(s.ok()) << s.error_message();
    all.insert(id);
    if (i % 3 == 0) labelled.insert(id);
  }
  auto stub = v1::RuntimeService::NewStub(kubeletChannel());

  v1::ListContainersRequest unary;
  v1::ListContainersResponse unaryResp;
  auto s = stub->ListContainers(rpcContext(60000).get(), unary, &unaryResp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "the unary reply is over 16 MiB: " << s.error_message();

  auto chunks = readAll<v1::StreamContainersResponse>(
      [&](grpc::ClientContext* ctx) { return stub->StreamContainers(ctx, v1::StreamContainersRequest{}); }, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(chunks.size(), 1u);
  std::multiset<std::string> streamed;
  for (const auto& chunk : chunks) {
    EXPECT_LT(chunk.ByteSizeLong(), static_cast<size_t>(kKubeletMaxMessage));
    for (const auto& c : chunk.containers()) streamed.insert(c.id());
  }
  EXPECT_EQ(streamed, std::multiset<std::string>(all.begin(), all.end())) << "each once";

  // With a filter the unary reply fits: the stream carries the same items.
  unary.mutable_filter()->mutable_label_selector()->insert({"third", "yes"});
  s = stub->ListContainers(rpcContext(60000).get(), unary, &unaryResp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::StreamContainersRequest filtered;
  *filtered.mutable_filter() = unary.filter();
  chunks = readAll<v1::StreamContainersResponse>(
      [&](grpc::ClientContext* ctx) { return stub->StreamContainers(ctx, filtered); }, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::ListContainersResponse joined;
  for (const auto& chunk : chunks) joined.mutable_containers()->MergeFrom(chunk.containers());
  EXPECT_EQ(joined.containers_size(), static_cast<int>(labelled.size()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(joined, unaryResp));

  // The other lists: the same items as their unary twins.
  v1::ListPodSandboxResponse pods;
  ASSERT_TRUE(stub->ListPodSandbox(rpcContext().get(), {}, &pods).ok());
  auto podChunks = readAll<v1::StreamPodSandboxesResponse>(
      [&](grpc::ClientContext* ctx) { return stub->StreamPodSandboxes(ctx, v1::StreamPodSandboxesRequest{}); },
      &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::ListPodSandboxResponse podsJoined;
  for (const auto& chunk : podChunks) podsJoined.mutable_items()->MergeFrom(chunk.pod_sandboxes());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(podsJoined, pods));

  auto images = v1::ImageService::NewStub(kubeletChannel());
  v1::ListImagesResponse imageList;
  ASSERT_TRUE(images->ListImages(rpcContext().get(), {}, &imageList).ok());
  auto imageChunks = readAll<v1::StreamImagesResponse>(
      [&](grpc::ClientContext* ctx) { return images->StreamImages(ctx, v1::StreamImagesRequest{}); }, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::ListImagesResponse imagesJoined;
  for (const auto& chunk : imageChunks) imagesJoined.mutable_images()->MergeFrom(chunk.images());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(imagesJoined, imageList));
  EXPECT_GT(imagesJoined.images_size(), 0);

  auto statChunks = readAll<v1::StreamContainerStatsResponse>(
      [&](grpc::ClientContext* ctx) { return stub->StreamContainerStats(ctx, v1::StreamContainerStatsRequest{}); },
      &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> statIds;
  for (const auto& chunk : statChunks)
    for (const auto& st : chunk.container_stats()) statIds.insert(st.attributes().id());
  EXPECT_EQ(statIds, all);
}

}  // namespace
}  // namespace crix::test
