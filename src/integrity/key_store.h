// The recorder's signing keys on disk, under <data>/keys/ (docs/design/integrity.md, "Keys"):
//   keys/            0700, owner only
//   key-N.seed       0600: the 32-byte Ed25519 seed (libsodium derives the key pair from it)
//   key-N.pem        0644: the public key, PEM SubjectPublicKeyInfo (what openssl reads)
// N counts from 1; the highest N is the current key, which signs new checkpoints. Rotating adds
// key-N+1 and keeps every older file: an old public key stays valid for what it signed (the
// catalog's signing_key table keeps them too, and evidence bundles carry them).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "integrity/chain.h"

namespace vigil {

struct StoredKey {
  int number = 0;
  PublicKey public_key{};
  std::string fingerprint;
  std::filesystem::path pem_file;
};

// The current key pair; creates keys/ and key-1 when there is no key yet. Throws Error naming
// the file when a key file is unreadable or malformed.
KeyPair load_or_create_signing_key(const std::filesystem::path& data_dir);
// Creates the next key (key-N+1) and returns it: it signs from the next start of vigil serve.
KeyPair rotate_signing_key(const std::filesystem::path& data_dir);
// Every public key in keys/, oldest first.
std::vector<StoredKey> stored_public_keys(const std::filesystem::path& data_dir);

// What a recorder needs to sign checkpoints (record/recorder.h).
struct CheckpointSigner {
  KeyPair key;
  std::string fingerprint;
  // The audit log's chain head, part of every checkpoint; null: zeros (no audit chain wired).
  std::function<Sha256()> audit_head;
  // A checkpoint at least this often while a camera records, and at every segment close.
  std::chrono::seconds period{60};
};

}  // namespace vigil
