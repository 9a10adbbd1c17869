// Clang thread-safety analysis attributes (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html).
// Under clang with -Wthread-safety (the `clang-tsa` preset) a read or write of a GUARDED_BY member
// without its mutex held, or a call to a REQUIRES function without it, fails the build. Other
// compilers see empty macros.
#pragma once

#if defined(__clang__)
#define WVA_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define WVA_THREAD_ANNOTATION_(x)
#endif

// On a class: its instances are a capability (a mutex).
#define CAPABILITY(x) WVA_THREAD_ANNOTATION_(capability(x))
// On a class: RAII objects that hold a capability for their lifetime.
#define SCOPED_CAPABILITY WVA_THREAD_ANNOTATION_(scoped_lockable)
// On a member: read and written only with the capability held.
#define GUARDED_BY(x) WVA_THREAD_ANNOTATION_(guarded_by(x))
// On a pointer member: the pointee is read and written only with the capability held.
#define PT_GUARDED_BY(x) WVA_THREAD_ANNOTATION_(pt_guarded_by(x))
// On a function: callers must hold (REQUIRES) or must not hold (EXCLUDES) the capability.
#define REQUIRES(...) WVA_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) WVA_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
// On a function: it acquires / releases the capability (held on return / no longer held).
#define ACQUIRE(...) WVA_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define RELEASE(...) WVA_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) WVA_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
// On a function: tells the analysis the capability is held (checked at run time by the callee).
#define ASSERT_CAPABILITY(x) WVA_THREAD_ANNOTATION_(assert_capability(x))
// On a function that returns a reference to a capability.
#define RETURN_CAPABILITY(x) WVA_THREAD_ANNOTATION_(lock_returned(x))
// Escape hatch for code the analysis cannot follow; every use says why next to it.
#define NO_THREAD_SAFETY_ANALYSIS WVA_THREAD_ANNOTATION_(no_thread_safety_analysis)
