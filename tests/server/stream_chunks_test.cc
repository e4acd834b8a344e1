// The Stream* RPCs' chunking: whole items, in order, none twice or lost,
// each message within its budget unless one item alone is larger.
#include "server/stream_chunks.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crix/proto/api.pb.h"

namespace crix::server {
namespace {

namespace v1 = ::runtime::v1;

v1::ListContainersResponse containers(const std::vector<size_t>& annotationBytes) {
  v1::ListContainersResponse all;
  for (size_t i = 0; i < annotationBytes.size(); ++i) {
    auto* c = all.add_containers();
    c->set_id("c" + std::to_string(i));
    (*c->mutable_annotations())["big"] = std::string(annotationBytes[i], 'x');
  }
  return all;
}

std::vector<std::vector<std::string>> chunked(v1::ListContainersResponse all, size_t budget, size_t* largest) {
  std::vector<std::vector<std::string>> out;
  *largest = 0;
  bool done = sendInChunks<v1::StreamContainersResponse>(
      *all.mutable_containers(), &v1::StreamContainersResponse::mutable_containers,
      [&](const v1::StreamContainersResponse& chunk) {
        *largest = std::max(*largest, chunk.ByteSizeLong());
        out.emplace_back();
        for (const auto& c : chunk.containers()) out.back().push_back(c.id());
        return true;
      },
      budget);
  EXPECT_TRUE(done);
  return out;
}

TEST(StreamChunks, WholeItemsInOrderWithinTheBudget) {
  size_t largest = 0;
  auto got = chunked(containers({400, 400, 400, 400, 400}), 1000, &largest);
  EXPECT_EQ(got, (std::vector<std::vector<std::string>>{{"c0", "c1"}, {"c2", "c3"}, {"c4"}}));
  EXPECT_LE(largest, 1000u);

  // One item over the budget goes alone; an empty list sends nothing.
  got = chunked(containers({100, 5000, 100}), 1000, &largest);
  EXPECT_EQ(got, (std::vector<std::vector<std::string>>{{"c0"}, {"c1"}, {"c2"}}));
  EXPECT_TRUE(chunked(containers({}), 1000, &largest).empty());
}

TEST(StreamChunks, AClientThatGoesStopsTheStream) {
  auto all = containers({400, 400, 400, 400});
  int sent = 0;
  bool done = sendInChunks<v1::StreamContainersResponse>(
      *all.mutable_containers(), &v1::StreamContainersResponse::mutable_containers,
      [&](const v1::StreamContainersResponse&) { return ++sent < 1; }, 500);
  EXPECT_FALSE(done);
  EXPECT_EQ(sent, 1);
}

}  // namespace
}  // namespace crix::server
