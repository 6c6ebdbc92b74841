import CFSProbeBPF

/// How the kernel shortens its dentry walks (`--dentry-resolution-mode`).
///
/// In every mode the kernel stops a walk at the first directory it finds in
/// a cache, writes an anchor for it instead of its names, and goes on from
/// the root of that directory's mount; user space puts the directory's path
/// back (`PathResolver`). The modes differ in who holds the paths:
public enum ResolutionMode: String, CaseIterable, Sendable {
    /// The kernel caches one (name, parent) fragment per directory it
    /// walks; user space follows the chain of an anchor's fragments.
    case fragments
    /// The kernel caches the whole mount-relative path of a directory in
    /// one entry; user space reads it in one lookup.
    case singleFragment = "single_fragment"
    /// User space caches the paths it read in events and tells the kernel
    /// which directories it knows; anchors never need a kernel lookup.
    case perfBuffer = "perf_buffer"

    /// Kernel cache entries when none are asked for. A single_fragment
    /// entry holds a whole path (4 KiB), so it gets fewer.
    public var defaultKernelCacheEntries: Int { self == .singleFragment ? 1024 : 16_384 }

    /// Most kernel cache entries accepted. The kernel allocates LRU maps
    /// whole at load, so this bounds the memory asked of it (about 300
    /// bytes an entry for fragments, 4 KiB for single_fragment).
    public var maxKernelCacheEntries: Int { self == .singleFragment ? 1 << 16 : 1 << 20 }

    var kernelMode: fsp_resolution_mode {
        switch self {
        case .fragments: FSP_RESOLVE_FRAGMENTS
        case .singleFragment: FSP_RESOLVE_SINGLE_FRAGMENT
        case .perfBuffer: FSP_RESOLVE_PERF_BUFFER
        }
    }
}
