#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex with two condition variables, the minimum a blocking
/// bounded queue needs ("not empty" for consumers, "not full" for producers).
///
/// `Synchronization.Mutex` has no condition variables, and Foundation's
/// `NSCondition` has only one; the mutex and conditions live in heap memory
/// that never moves, as pthreads require.
package final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        precondition(pthread_mutex_init(mutex, nil) == 0)
        precondition(pthread_cond_init(notEmpty, nil) == 0)
        precondition(pthread_cond_init(notFull, nil) == 0)
    }

    deinit {
        pthread_cond_destroy(notFull)
        pthread_cond_destroy(notEmpty)
        pthread_mutex_destroy(mutex)
        notFull.deallocate()
        notEmpty.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits (lock held) until a producer signals "not empty".
    package func waitNotEmpty() { pthread_cond_wait(notEmpty, mutex) }
    /// Waits (lock held) until a consumer signals "not full".
    package func waitNotFull() { pthread_cond_wait(notFull, mutex) }

    package func signalNotEmpty() { pthread_cond_signal(notEmpty) }
    package func broadcastNotEmpty() { pthread_cond_broadcast(notEmpty) }
    package func broadcastNotFull() { pthread_cond_broadcast(notFull) }
}
