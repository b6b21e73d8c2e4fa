// Finding the commit a run's `git` record names (git.snapshot, else lumo's
// 8-hex git.commit; see lumodb/code.h), with errors that say what to try.
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "code/git_util.h"
#include "code/repo.h"
#include "lumodb/code.h"

namespace lumodb {
namespace {

using nlohmann::json;

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsHex(const std::string& s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  if (ec) return path;
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return abs;
}

}  // namespace

Status OpenCodeRepository(const std::string& path, const std::string& whose, git::Repository* out) {
  git::Init();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("repository " + path + " (" + whose +
                            ") does not exist here; pass --repo DIR naming a clone that "
                            "holds its commits");
  }
  git_repository* raw = nullptr;
  int rc = git_repository_open_ext(&raw, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0) {
    const git_error* e = git_error_last();
    return Status::NotFound(
        "no git repository at " + path + " (" + whose + ")" +
        (e != nullptr && e->message != nullptr ? std::string(": ") + e->message : std::string()) +
        "; pass --repo DIR naming a clone that holds its commits");
  }
  out->reset(raw);
  return Status::OK();
}

Status OpenSnapshot(const CodeSnapshot& snapshot, git::Repository* repo, git::Commit* commit) {
  Status s = OpenCodeRepository(snapshot.repo, "repository of run " + snapshot.run, repo);
  if (!s.ok()) return s;
  git_oid oid;
  if (git_oid_fromstr(&oid, snapshot.commit.c_str()) != 0) {
    return Status::InvalidArgument("commit id '" + snapshot.commit + "' of run " + snapshot.run +
                                   " is not 40 hex characters");
  }
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo->get(), &oid);
  if (rc != 0) {
    return git::Error(rc, "commit " + snapshot.commit + " of run " + snapshot.run +
                              " in repository " + snapshot.repo);
  }
  commit->reset(raw);
  return Status::OK();
}

Status ResolveCodeSnapshot(const std::string& run_json, const std::string& repo_override,
                           CodeSnapshot* out) {
  json run = json::parse(run_json, nullptr, false);
  if (run.is_discarded() || !run.is_object()) {
    return Status::Corruption("run record is not a JSON object");
  }
  const std::string exp = StringField(run, "exp_name");
  const std::string test = StringField(run, "test_name");
  const std::string name = exp.empty() ? test : exp + "/" + test;

  auto git_it = run.find("git");
  if (git_it == run.end() || !git_it->is_object()) {
    return Status::NotFound("run " + name +
                            " has no git record: no code snapshot was taken (the run was not "
                            "started in a git work tree, or its GitCommit hook was off)");
  }
  const json& git_record = *git_it;
  std::string id = StringField(git_record, "snapshot");
  const char* id_key = "git.snapshot";
  if (id.empty()) {
    id = StringField(git_record, "commit");
    id_key = "git.commit";
  }
  if (id.empty()) {
    // Ours: {"error": ...}; lumo's: {"code": -1, "msg": ...}.
    std::string why = StringField(git_record, "error");
    if (why.empty()) why = StringField(git_record, "msg");
    return Status::NotFound(
        "run " + name + " has no code snapshot" +
        (why.empty() ? std::string(": its git record names no commit") : ": " + why));
  }
  if (!IsHex(id) || id.size() < GIT_OID_MINPREFIXLEN || id.size() > GIT_OID_HEXSZ) {
    return Status::Corruption(std::string(id_key) + " of run " + name + " is '" + id +
                              "', not a commit id (4 to 40 hex characters)");
  }

  std::string repo_path = repo_override;
  std::string whose = "given by --repo";
  if (repo_path.empty()) {
    repo_path = StringField(git_record, "repo");
    whose = "git.repo of run " + name;
    if (repo_path.empty()) {
      return Status::NotFound("run " + name +
                              " records no repository (git.repo); pass --repo DIR naming a "
                              "clone that holds commit " +
                              id);
    }
  }
  repo_path = AbsolutePath(repo_path);
  git::Repository repo;
  Status s = OpenCodeRepository(repo_path, whose, &repo);
  if (!s.ok()) return s;

  git_oid prefix;
  if (git_oid_fromstrn(&prefix, id.data(), id.size()) != 0) {
    return Status::Corruption(std::string(id_key) + " of run " + name + " is '" + id +
                              "', not a commit id");
  }
  git_object* raw = nullptr;
  int rc = git_object_lookup_prefix(&raw, repo.get(), &prefix, id.size(), GIT_OBJECT_COMMIT);
  git::Object object(raw);
  if (rc == GIT_EAMBIGUOUS) {
    return Status::Ambiguous("commit id " + id + " of run " + name + " names several objects in " +
                             repo_path + "; the run recorded no longer id");
  }
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound("commit " + id + " (" + id_key + " of run " + name +
                            ") is not in repository " + repo_path +
                            "; pass --repo DIR naming a clone that holds it");
  }
  if (rc != 0) return git::Error(rc, "looking up commit " + id + " in " + repo_path);

  out->run = name;
  out->repo = repo_path;
  out->commit = git::OidHex(git_object_id(object.get()));
  out->recorded_id = id;
  return Status::OK();
}

}  // namespace lumodb
