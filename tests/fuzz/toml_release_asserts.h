// Forced into the config target's toml++ (compiled in, header-only): toml++'s internal asserts
// off, as in Debian's libtomlplusplus that vigil links, which answers "[[\0..." and "[[[1]]]"
// with a parse_error (checked with a program linked against it). toml++ 3.3's debug asserts
// fire on such input just before its own error path (upstream marzer/tomlplusplus#301), so
// fuzzing with them on would only ever find that; ASan and UBSan still check the parser.
#pragma once
#define TOML_ASSERT(expr) static_assert(true)
