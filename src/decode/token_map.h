// Internal to the decoder: the state -> token map of the frame being expanded, and a pool
// allocator for tokens and links. Both are reused across frames and utterances so the hot loop
// does no heap allocation once warmed up.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace kaldiq::decode::internal {

// Open-addressing hash map from FST state to a value pointer, with elements kept in insertion
// order in a vector (iteration order is deterministic). Element indices are stable until
// Clear(), so the non-emitting queue can hold them.
template <class V>
class StateMap {
 public:
  struct Elem {
    int32_t state;
    uint32_t slot;
    V* val;
  };

  StateMap() { Rehash(1024); }

  // Returns the index of `state`'s element, inserting {state, nullptr} when absent.
  int32_t FindOrInsert(int32_t state) {
    uint32_t slot = Hash(state);
    while (true) {
      const int32_t idx = slots_[slot];
      if (idx < 0) break;
      if (elems_[idx].state == state) return idx;
      slot = (slot + 1) & mask_;
    }
    const int32_t idx = static_cast<int32_t>(elems_.size());
    elems_.push_back(Elem{state, slot, nullptr});
    slots_[slot] = idx;
    if (elems_.size() * 2 > slots_.size()) Rehash(slots_.size() * 2);
    return idx;
  }

  // Moves all elements out into *out (its old contents are discarded) and empties the map.
  void TakeElems(std::vector<Elem>* out) {
    for (const Elem& e : elems_) slots_[e.slot] = -1;
    out->swap(elems_);
    elems_.clear();
  }
  void Clear() {
    for (const Elem& e : elems_) slots_[e.slot] = -1;
    elems_.clear();
  }

  std::vector<Elem>& elems() { return elems_; }
  const std::vector<Elem>& elems() const { return elems_; }
  size_t size() const { return elems_.size(); }
  // Makes room for n elements without rehashing on the way.
  void Reserve(size_t n) {
    if (n * 2 > slots_.size()) {
      size_t s = slots_.size();
      while (n * 2 > s) s *= 2;
      Rehash(s);
    }
  }

 private:
  uint32_t Hash(int32_t state) const {
    return (static_cast<uint32_t>(state) * 2654435761u) >> shift_;
  }
  void Rehash(size_t num_slots) {
    slots_.assign(num_slots, -1);
    mask_ = static_cast<uint32_t>(num_slots - 1);
    shift_ = 32;
    for (size_t s = num_slots; s > 1; s >>= 1) --shift_;
    for (size_t i = 0; i < elems_.size(); ++i) {
      uint32_t slot = Hash(elems_[i].state);
      while (slots_[slot] >= 0) slot = (slot + 1) & mask_;
      slots_[slot] = static_cast<int32_t>(i);
      elems_[i].slot = slot;
    }
  }

  std::vector<int32_t> slots_;
  std::vector<Elem> elems_;
  uint32_t mask_ = 0;
  int shift_ = 32;
};

// Pool of trivially-copyable objects with a free list; Reset() recycles everything at once.
template <class T>
class Pool {
  static_assert(sizeof(T) >= sizeof(void*), "pool objects must hold a pointer");
  static constexpr size_t kBlock = 8192;

 public:
  T* New() {
    if (free_ != nullptr) {
      T* p = free_;
      // The next free object's address is stored in the first bytes of the free object (void*
      // so that clang's -Wsizeof-pointer-memaccess sees the intent).
      const void* link = p;
      std::memcpy(&free_, link, sizeof(T*));
      return p;
    }
    if (used_ == kBlock || blocks_.empty()) {
      if (blocks_.empty() || ++block_ == blocks_.size()) {
        blocks_.emplace_back(new T[kBlock]);
        block_ = blocks_.size() - 1;
      }
      used_ = 0;
    }
    return &blocks_[block_][used_++];
  }
  void Delete(T* p) {
    void* link = p;
    std::memcpy(link, &free_, sizeof(T*));
    free_ = p;
  }
  void Reset() {
    free_ = nullptr;
    block_ = 0;
    used_ = 0;
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  size_t block_ = 0;
  size_t used_ = 0;
  T* free_ = nullptr;
};

}  // namespace kaldiq::decode::internal
