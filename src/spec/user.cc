#include "spec/user.h"

#include <sstream>

#include "common/parse.h"

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

bool listed(const std::string& members, const std::string& name) {
  std::istringstream in(members);
  for (std::string m; std::getline(in, m, ',');)
    if (m == name) return true;
  return false;
}

// A uid or gid field (digits already) of an entry the user needs; the
// image's files are untrusted, so one beyond 32 bits is an error, not a
// truncation.
Result<uint32_t> id(const std::string& file, const std::string& entry, const std::string& field,
                    const std::string& text) {
  auto n = parseNumber<uint32_t>(text);
  if (!n)
    return fail(Code::InvalidArgument,
                field + " \"" + text + "\" of " + entry + " in the container's " + file + " does not fit 32 bits");
  return *n;
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
    if (f[0] != u && f[2] != u) continue;
    r.name = f[0];
    r.uid = TRY(id("/etc/passwd", "user \"" + f[0] + "\"", "uid", f[2]));
    r.gid = TRY(id("/etc/passwd", "user \"" + f[0] + "\"", "gid", f[3]));
    found = true;
    break;
  }
  if (!found) {
    if (!numeric(u)) return fail(Code::InvalidArgument, "user \"" + u + "\" is not in the container's /etc/passwd");
    auto uid = parseNumber<uint32_t>(u);
    if (!uid) return fail(Code::InvalidArgument, "uid \"" + u + "\" does not fit 32 bits");
    r.uid = *uid;
    r.gid = 0;  // no entry: group root, as Docker and containerd do
  }
  std::istringstream gr(group);
  for (std::string line; std::getline(gr, line);) {
    auto f = fields(line);
    if (f.size() < 3 || !numeric(f[2])) continue;
    // Only the entries the user needs are read: a strange line elsewhere in
    // the image's file does not stop the container.
    bool named = !g.empty() && (f[0] == g || f[2] == g);
    bool member = f.size() >= 4 && !r.name.empty() && listed(f[3], r.name);
    if (!named && !member) continue;
    uint32_t gid = TRY(id("/etc/group", "group \"" + f[0] + "\"", "gid", f[2]));
    if (named) {
      r.gid = gid;
      g.clear();
    }
    if (member) r.groups.push_back(gid);
  }
  if (!g.empty()) {
    if (!numeric(g)) return fail(Code::InvalidArgument, "group \"" + g + "\" is not in the container's /etc/group");
    auto gid = parseNumber<uint32_t>(g);
    if (!gid) return fail(Code::InvalidArgument, "gid \"" + g + "\" does not fit 32 bits");
    r.gid = *gid;
  }
  return r;
}

}  // namespace crix::spec
