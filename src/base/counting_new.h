// For benchmark binaries: replaces the global operator new with one that counts calls, so a
// benchmark can report heap allocations per operation (wva::HeapAllocations()). Include it in
// exactly one source file of a binary (it defines the replaceable operators); never in a library.
#pragma once

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <atomic>
#include <cstdlib>
#include <new>

namespace wva {
namespace counting_new_internal {
inline std::atomic<long> allocations{0};
}  // namespace counting_new_internal

// Heap allocations through operator new since the start of the process.
inline long HeapAllocations() {
  return counting_new_internal::allocations.load(std::memory_order_relaxed);
}
}  // namespace wva

void* operator new(std::size_t n) {
  wva::counting_new_internal::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
