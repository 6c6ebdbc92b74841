/// Symbolic names of Linux error numbers, for the `error` field.
///
/// A failed operation reports `retval = -errno`; consumers grep for `ENOENT`,
/// not for `-2`, and must not depend on the C library of the machine that reads
/// the log, so the table is fixed here rather than read from `strerror`.
/// Numbers are the generic Linux ABI (`asm-generic/errno*.h`, x86 and arm64),
/// plus the kernel-internal codes (512...) that VFS functions can return to an
/// fexit/kretprobe hook before the syscall layer translates them.
/// Unknown numbers are named `E<n>`.
public enum ErrnoName {
    /// The name of `errno`, e.g. `"ENOENT"` for 2, or `"E<n>"` when unknown.
    public static func name(_ errno: Int64) -> String {
        if let known = staticName(errno) { return known.description }
        return "E\(errno)"
    }

    /// The name of `errno` from the fixed table, or nil when it has none.
    public static func staticName(_ errno: Int64) -> StaticString? {
        if errno > 0 && errno < Int64(userVisible.count) {
            let name = userVisible[Int(errno)]
            return name.utf8CodeUnitCount == 0 ? nil : name
        }
        if errno >= 512 && errno < 512 + Int64(kernelInternal.count) {
            let name = kernelInternal[Int(errno - 512)]
            return name.utf8CodeUnitCount == 0 ? nil : name
        }
        return nil
    }

    /// Indexed by errno; "" marks numbers Linux does not use.
    static let userVisible: [StaticString] = [
        "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO",
        "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD", "EAGAIN",
        "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST",
        "EXDEV", "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE",
        "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE",
        "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK",
        "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "",
        "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST",
        "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR",
        "EXFULL", "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT",
        "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG",
        "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO",
        "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD",
        "EREMCHG", "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC",
        "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ",
        "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP",
        "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH",
        "ENETRESET", "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN",
        "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH",
        "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL",
        "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED",
        "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE",
        "ERFKILL", "EHWPOISON",
    ]

    /// Indexed by errno - 512 (`include/linux/errno.h`).
    static let kernelInternal: [StaticString] = [
        "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD", "ERESTART_RESTARTBLOCK",
        "EPROBE_DEFER", "EOPENSTALE", "ENOPARAM", "", "EBADHANDLE", "ENOTSYNC", "EBADCOOKIE",
        "ENOTSUPP", "ETOOSMALL", "ESERVERFAULT", "EBADTYPE", "EJUKEBOX", "EIOCBQUEUED", "ERECALLCONFLICT",
    ]
}

extension ByteOutput {
    /// Appends the errno name of a negative `retval` (see `ErrnoName`).
    mutating func appendErrnoName(_ errno: Int64) {
        if let name = ErrnoName.staticName(errno) {
            appendStatic(name)
        } else {
            append(UInt8(ascii: "E"))
            appendDecimal(errno)
        }
    }
}
