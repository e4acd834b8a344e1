#include "spec/user.h"

#include <sstream>

namespace crix::spec {
namespace {

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::string f;
  std::istringstream in(line);
  while (std::getline(in, f, ':')) out.push_back(f);
  return out;
}

bool numeric(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<ResolvedUser> resolveUser(const std::string& user, const std::string& passwd, const std::string& group) {
  ResolvedUser r;
  auto colon = user.find(':');
  // Built, not assigned: GCC 12 warns falsely (-Wrestrict) on assigning a literal here.
  const std::string u = colon == 0 || user.empty() ? std::string(1, '0') : user.substr(0, colon);
  std::string g = colon == std::string::npos ? std::string() : user.substr(colon + 1);
  bool found = false;
  std::istringstream pw(passwd);
  for (std::string line; std::getline(pw, line);) {
    auto f = fields(line);
    if (f.size() < 4 || !numeric(f[2]) || !numeric(f[3])) continue;
    if (f[0] == u || f[2] == u) {
      r.name = f[0];
      r.uid = static_cast<uint32_t>(std::stoul(f[2]));
      r.gid = static_cast<uint32_t>(std::stoul(f[3]));
      found = true;
      break;
    }
  }
  if (!found) {
    if (!numeric(u)) return fail(Code::InvalidArgument, "user \"" + u + "\" is not in the container's /etc/passwd");
    r.uid = static_cast<uint32_t>(std::stoul(u));
    r.gid = 0;  // no entry: group root, as Docker and containerd do
  }
  std::istringstream gr(group);
  for (std::string line; std::getline(gr, line);) {
    auto f = fields(line);
    if (f.size() < 3 || !numeric(f[2])) continue;
    uint32_t gid = static_cast<uint32_t>(std::stoul(f[2]));
    if (!g.empty() && (f[0] == g || f[2] == g)) {
      r.gid = gid;
      g.clear();
    }
    if (f.size() >= 4 && !r.name.empty()) {
      std::istringstream members(f[3]);
      for (std::string m; std::getline(members, m, ',');)
        if (m == r.name) r.groups.push_back(gid);
    }
  }
  if (!g.empty()) {
    if (!numeric(g)) return fail(Code::InvalidArgument, "group \"" + g + "\" is not in the container's /etc/group");
    r.gid = static_cast<uint32_t>(std::stoul(g));
  }
  return r;
}

}  // namespace crix::spec
