// A move-only callable kept inside the object when it fits `capacity_bytes`: for completions
// stored once per request on a hot path. std::function allocates for any callable larger than two
// pointers, and a request's completion (where the reply goes, and what to evaluate) always is;
// that was one malloc and one free per write and per read. A callable larger than the capacity
// (a rare, bigger completion) is kept on the heap instead, as std::function would; hot call
// sites can assert that theirs is not (kStoredInline).
//
//   InlineFunction<void(const Status&), 64> done = [this, to](const Status& st) { ... };
//   done(OkStatus());
//
// Calling an empty one is a broken invariant (asserted).
//
// Thread safety: none, like std::function.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "common/assert.h"

namespace bw {

template <typename Signature, size_t capacity_bytes>
class InlineFunction;

template <typename R, typename... Args, size_t capacity_bytes>
class InlineFunction<R(Args...), capacity_bytes> {
 public:
  InlineFunction() = default;
  InlineFunction(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): as std::function

  // Whether a callable of type D is kept inside the object (else on the heap).
  template <typename D>
  static constexpr bool kStoredInline =
      sizeof(D) <= capacity_bytes &&
      alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;

  template <typename F, typename D = std::decay_t<F>,
            typename = std::enable_if_t<!std::is_same_v<D, InlineFunction> &&
                                        std::is_invocable_r_v<R, D&, Args...>>>
  InlineFunction(F&& f) {  // NOLINT(google-explicit-constructor): as std::function
    if constexpr (kStoredInline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      static_assert(sizeof(D*) <= capacity_bytes, "capacity_bytes below a pointer");
      ::new (static_cast<void*>(storage_)) D*(new D(std::forward<F>(f)));
      ops_ = &kHeapOps<D>;
    }
  }

  InlineFunction(InlineFunction&& other) noexcept { take(other); }
  InlineFunction& operator=(InlineFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  InlineFunction(const InlineFunction&) = delete;
  InlineFunction& operator=(const InlineFunction&) = delete;
  ~InlineFunction() { reset(); }

  explicit operator bool() const { return ops_ != nullptr; }

  R operator()(Args... args) {
    BW_ASSERT(ops_ != nullptr, "call of an empty InlineFunction");
    return ops_->invoke(storage_, std::forward<Args>(args)...);
  }

 private:
  struct Ops {
    R (*invoke)(void* self, Args&&... args);
    void (*relocate)(void* from, void* to);  // move-constructs at `to`, destroys `from`
    void (*destroy)(void* self);
  };
  template <typename D>
  static constexpr Ops kInlineOps = {
      .invoke = [](void* self, Args&&... args) -> R {
        return (*static_cast<D*>(self))(std::forward<Args>(args)...);
      },
      .relocate =
          [](void* from, void* to) {
            ::new (to) D(std::move(*static_cast<D*>(from)));
            static_cast<D*>(from)->~D();
          },
      .destroy = [](void* self) { static_cast<D*>(self)->~D(); },
  };
  // The storage holds a D* that owns the callable.
  template <typename D>
  static constexpr Ops kHeapOps = {
      .invoke = [](void* self, Args&&... args) -> R {
        return (**static_cast<D**>(self))(std::forward<Args>(args)...);
      },
      .relocate = [](void* from, void* to) { ::new (to) D*(*static_cast<D**>(from)); },
      .destroy = [](void* self) { delete *static_cast<D**>(self); },
  };

  void take(InlineFunction& other) {
    if (other.ops_ == nullptr) return;
    other.ops_->relocate(other.storage_, storage_);
    ops_ = other.ops_;
    other.ops_ = nullptr;
  }
  void reset() {
    if (ops_ == nullptr) return;
    ops_->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char storage_[capacity_bytes];
  const Ops* ops_ = nullptr;
};

}  // namespace bw
