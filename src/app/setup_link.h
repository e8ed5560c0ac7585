// The first-run setup link: while no user exists, `vigil serve` logs a link that opens the web
// UI's "First start" form with the one-time setup token filled in, and keeps it in
// <data>/setup-url (0600: whoever reads it may create the first admin) so that
// `vigil setup-url` prints it again, e.g. after a package installed and started the service and
// the journal scrolled by. The file is removed once the token is spent.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace vigil {

// `base_url` is the server's address ending in '/' (HttpServer::url()). The token goes in the
// URL's fragment, which browsers never send to the server (nor to a proxy's access log).
std::string setup_link(const std::string& base_url, const std::string& token);

// Writes <data>/setup-url atomically (owner-only). Throws Error with the file name on failure.
void write_setup_link(const std::filesystem::path& data_dir, const std::string& link);
// Removes it; a missing file is fine.
void remove_setup_link(const std::filesystem::path& data_dir);
// The link vigil serve wrote, or nullopt when there is none (setup done, or never started).
std::optional<std::string> read_setup_link(const std::filesystem::path& data_dir);

}  // namespace vigil
