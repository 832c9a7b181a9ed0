// Inline requests: the one-line form of a command that a person types into telnet
// ("SET greeting \"hello world\""), which Redis accepts beside the RESP arrays that
// client libraries send.
//
// Explained in: docs/10-spindle-kv.md (the protocol).
// Read next: examples/kv/inline.cpp.
#pragma once

#include <string_view>

#include "resp.hpp"

namespace spindle_kv {

// Splits one inline line (without its line ending) into arguments, as Redis's
// sdssplitargs does: blanks separate arguments; "double quotes" understand the escapes
// \n \r \t \b \a, \xHH and backslash-anything; 'single quotes' understand only \'; a
// quote may start mid-argument (a"b c" is "ab c") but a closing quote must end it.
// Returns false, with argv unspecified, when a quote is unbalanced or a closing quote
// is followed by something other than a blank. A blank line gives an empty argv.
bool split_inline_request(std::string_view line, Argv& argv);

}  // namespace spindle_kv
