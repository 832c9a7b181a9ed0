// runtime/green/context_fcontext.hpp — jump and make_context over Boost.Context's
// jump_fcontext and make_fcontext, for the architectures spindle has no jump of its own.
//
// Concept: jump_fcontext returns the departing context to the thread that lands, not to
// the one that leaves, so the leaving thread passes the slot where it must go as the
// jump's data, and whoever lands stores it there: after its own jump returns, or, in a
// context that starts, in the trampoline that then calls the entry function.
// Chosen by runtime/green/context.hpp, which states the contract of both operations.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/context.cpp.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>

// Called through the GOT, not through a PLT stub: one jump fewer per switch
// (libboost_context is a shared library, so the call cannot be direct). GCC's noplt
// attribute on a redeclaration does what -fno-plt does for this one function.
namespace boost::context::detail {
extern "C" [[gnu::noplt]] transfer_t jump_fcontext(fcontext_t const to, void* vp);
}  // namespace boost::context::detail

namespace spindle::green::detail {

inline void store_departed(boost::context::detail::transfer_t from) noexcept {
  *static_cast<context*>(from.data) = from.fctx;
}

inline void jump(context to, context* save) noexcept {
  store_departed(boost::context::detail::jump_fcontext(to, save));
}

template <context_entry Entry>
context make_context(const stack_span& stack, void* top) noexcept {
  std::size_t below =
      static_cast<std::size_t>(static_cast<std::byte*>(top) - static_cast<std::byte*>(stack.low));
  return boost::context::detail::make_fcontext(
      top, below, [](boost::context::detail::transfer_t from) noexcept {
        store_departed(from);
        Entry();
      });
}

}  // namespace spindle::green::detail
