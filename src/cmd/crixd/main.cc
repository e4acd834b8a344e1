// crixd: the crix CRI daemon.
#include <signal.h>

#include <iostream>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "cmd/crixd/daemon.h"
#include "common/log.h"
#include "common/version.h"
#include "config/config.h"

namespace {

using crix::config::Config;

// A flag is applied as the one-key TOML document it stands for, so that
// flags and files share one set of parsing and validation rules.
struct Flag {
  const char* name;
  const char* section;  // "" for top-level keys
  const char* key;
  const char* help;
  std::string value;
};

crix::Result<> applyFlag(Config& cfg, const Flag& f) {
  toml::table doc;
  if (*f.section)
    doc.insert(f.section, toml::table{{f.key, f.value}});
  else
    doc.insert(f.key, f.value);
  std::ostringstream os;
  os << doc;
  return crix::config::applyToml(cfg, os.str(), std::string("flag --") + f.name);
}

}  // namespace

int main(int argc, char** argv) {
  // Block termination signals before any thread starts so that every thread
  // inherits the mask and only the main thread's sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"crixd: a Kubernetes container runtime serving CRI v1"};
  app.set_version_flag("--version", std::string("crixd ") + crix::kVersion + " (" + crix::kGitCommit + ")");
  std::string configFile = crix::config::kDefaultConfigFile;
  std::string dropInDir = crix::config::kDefaultDropInDir;
  app.add_option("--config", configFile, "configuration file")->capture_default_str();
  app.add_option("--config-dir", dropInDir, "drop-in directory, *.toml applied in name order")->capture_default_str();
  std::vector<Flag> flags = {
      {"listen", "", "listen", "CRI socket path", ""},
      {"root", "", "root", "persistent state directory", ""},
      {"state-dir", "", "state_dir", "runtime state directory (tmpfs)", ""},
      {"log-level", "", "log_level", "debug, info, warn or error", ""},
      {"shutdown-timeout", "", "shutdown_timeout", "how long SIGTERM waits for running calls", ""},
      {"cgroup-driver", "runtime", "cgroup_driver", "cgroupfs or systemd", ""},
      {"conmon", "runtime", "conmon", "conmon binary", ""},
      {"default-runtime", "runtime", "default_runtime", "the runtime handler pods get by default", ""},
      {"cni-config-dir", "network", "cni_config_dir", "CNI network configuration directory", ""},
      {"pause-image", "image", "pause_image", "the infra container image", ""},
      {"metrics-address", "metrics", "address", "serve Prometheus metrics on host:port (off by default)", ""},
  };
  for (auto& f : flags) app.add_option(std::string("--") + f.name, f.value, f.help);
  app.fallthrough();
  auto* configCmd = app.add_subcommand("config", "print the effective configuration as TOML and exit");
  CLI11_PARSE(app, argc, argv);

  Config cfg;
  bool explicitConfig = app.count("--config") > 0;
  auto loaded = crix::config::applyFile(cfg, configFile, explicitConfig);
  if (loaded) loaded = crix::config::applyDropIns(cfg, dropInDir);
  for (const auto& f : flags) {
    if (loaded && !f.value.empty()) loaded = applyFlag(cfg, f);
  }
  if (loaded) loaded = crix::config::validate(cfg);
  if (!loaded) {
    crix::log::error("bad configuration", {{"error", loaded.error().message()}});
    return 2;
  }
  if (*configCmd) {
    std::cout << crix::config::toToml(cfg);
    return 0;
  }
  crix::log::setLevel(*crix::log::parseLevel(cfg.logLevel));
  return crix::cmd::runDaemon(cfg);
}
