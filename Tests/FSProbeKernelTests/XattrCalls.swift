import Foundation

/// The xattr system calls, through dlsym: Swift's Glibc module does not
/// import <sys/xattr.h>.
struct XattrCalls {
    private typealias SetByPath = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer, Int, Int32) -> Int32
    private typealias SetByDescriptor = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer, Int, Int32) -> Int32
    private typealias RemoveByPath = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int32
    private typealias RemoveByDescriptor = @convention(c) (Int32, UnsafePointer<CChar>) -> Int32

    private static func function<T>(_ name: String, as type: T.Type) -> T {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("no \(name) in libc") }
        return unsafeBitCast(symbol, to: type)
    }

    private let setxattr = Self.function("setxattr", as: SetByPath.self)
    private let lsetxattr = Self.function("lsetxattr", as: SetByPath.self)
    private let fsetxattr = Self.function("fsetxattr", as: SetByDescriptor.self)
    private let removexattr = Self.function("removexattr", as: RemoveByPath.self)
    private let fremovexattr = Self.function("fremovexattr", as: RemoveByDescriptor.self)

    /// `name` as a C string (it may hold any byte but NUL).
    private func withName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (name + [0]).withUnsafeBufferPointer { body(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }
    }

    private typealias Syscall6 = @convention(c) (Int, Int, UnsafeRawPointer, Int, UnsafeRawPointer, UnsafeRawPointer?, Int) -> Int
    private let syscall6 = Self.function("syscall", as: Syscall6.self)

    /// setxattrat(2) (6.13+; x86_64 number 463, no glibc wrapper): -1 and
    /// errno ENOSYS on older kernels.
    func setAt(_ dirfd: Int32, _ path: String, atFlags: Int32, _ name: String, _ value: [UInt8], _ flags: UInt32) -> Int {
        value.withUnsafeBytes { bytes in
            // struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; }
            var args: (UInt64, UInt32, UInt32) = (UInt64(UInt(bitPattern: bytes.baseAddress)), UInt32(bytes.count), flags)
            return withUnsafeBytes(of: &args) { argsBytes in
                path.withCString { p in
                    withName(Array(name.utf8)) { n in
                        syscall6(463, Int(dirfd), p, Int(atFlags), n, argsBytes.baseAddress, 16)
                    }
                }
            }
        }
    }

    /// removexattrat(2) (6.13+; x86_64 number 466).
    func removeAt(_ dirfd: Int32, _ path: String, atFlags: Int32, _ name: String) -> Int {
        path.withCString { p in
            withName(Array(name.utf8)) { n in syscall6(466, Int(dirfd), p, Int(atFlags), n, nil, 0) }
        }
    }

    func set(_ path: String, _ name: String, _ value: [UInt8], _ flags: Int32) -> Int32 {
        withName(Array(name.utf8)) { n in value.withUnsafeBytes { setxattr(path, n, $0.baseAddress!, $0.count, flags) } }
    }

    func setNoFollow(_ path: String, _ name: [UInt8], _ value: [UInt8], _ flags: Int32) -> Int32 {
        withName(name) { n in value.withUnsafeBytes { lsetxattr(path, n, $0.baseAddress!, $0.count, flags) } }
    }

    func setByDescriptor(_ fd: Int32, _ name: String, _ value: [UInt8], _ flags: Int32) -> Int32 {
        withName(Array(name.utf8)) { n in value.withUnsafeBytes { fsetxattr(fd, n, $0.baseAddress!, $0.count, flags) } }
    }

    func remove(_ path: String, _ name: [UInt8]) -> Int32 {
        withName(name) { removexattr(path, $0) }
    }

    func removeByDescriptor(_ fd: Int32, _ name: String) -> Int32 {
        withName(Array(name.utf8)) { fremovexattr(fd, $0) }
    }
}

/// <sys/xattr.h>'s XATTR_CREATE and XATTR_REPLACE.
let xattrCreate: Int32 = 1
let xattrReplace: Int32 = 2
