#include "cgroups/stats.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace crix::cgroups {
namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A value the kernel would never write counts as 0; reading stats never throws.
TEST(CgroupStats, ValuesThatAreNotNumbersCountAsZero) {
  struct Row {
    std::string text;
    uint64_t want;
  } rows[] = {
      {"4096\n", 4096},
      {"4096", 4096},
      {"max\n", 0},
      {"", 0},
      {"\n", 0},
      {"12abc\n", 0},
      {"-5\n", 0},
      {" 7\n", 0},
      {"99999999999999999999999\n", 0},
      {"18446744073709551615\n", 18446744073709551615u},
  };
  for (const auto& r : rows) {
    test::TempDir tmp;
    std::filesystem::path root = tmp.path();
    write(root / "crix/crix-abc/cgroup.controllers", "cpu memory\n");
    write(root / "crix/crix-abc/memory.current", r.text);
    auto st = readStats("/crix/crix-abc", root.string());
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(st->memoryUsage, r.want) << r.text;

    // cgroup v1: the same reader for cpuacct.usage and memory.usage_in_bytes.
    write(root / "cpuacct/crix/crix-def/cpuacct.usage", r.text);
    write(root / "memory/crix/crix-def/memory.usage_in_bytes", r.text);
    auto v1 = readStats("/crix/crix-def", root.string());
    ASSERT_TRUE(v1) << v1.error().message();
    EXPECT_EQ(v1->cpuUsageNs, r.want) << r.text;
    EXPECT_EQ(v1->memoryUsage, r.want) << r.text;
  }
}

}  // namespace
}  // namespace crix::cgroups
