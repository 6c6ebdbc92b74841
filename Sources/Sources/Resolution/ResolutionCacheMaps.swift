import CFSProbeBPF

/// A directory as the resolution caches know it: its inode on one mount, in
/// one cache epoch (`struct fsp_cache_key`; `mount` is the kernel's address
/// of the mount). With the epoch in the key, an entry is never replaced by a
/// later epoch's, so an anchor of an older epoch still finds its own.
package struct DirectoryKey: Hashable, Sendable {
    package var inode: UInt64
    package var mount: UInt64
    package var epoch: UInt64

    package init(inode: UInt64, mount: UInt64, epoch: UInt64 = 0) {
        self.inode = inode
        self.mount = mount
        self.epoch = epoch
    }

    package init(_ key: fsp_cache_key) {
        self.init(inode: key.inode, mount: key.mount, epoch: key.epoch)
    }

    package var cacheKey: fsp_cache_key { fsp_cache_key(inode: inode, mount: mount, epoch: epoch) }
}

/// The kernel maps of the resolution caches, as user space uses them.
/// `KernelProbe` is the real one; tests use a stand-in, so resolution can
/// be checked without a kernel.
protocol ResolutionCacheMaps: AnyObject {
    /// perf_buffer: tells the kernel user space knows this directory's path.
    func insertCachedDirectory(_ key: DirectoryKey, stamp: fsp_cache_stamp) throws(ProbeError)
    /// perf_buffer: user space forgot this directory's path.
    func removeCachedDirectory(_ key: DirectoryKey)
    /// fragments: one directory's cached name and parent, if cached.
    func fragment(_ key: DirectoryKey) -> fsp_fragment?
    /// fragments: forget a directory's fragment (a chain broken above it).
    func removeFragment(_ key: DirectoryKey)
    /// single_fragment: one directory's cached mount-relative path, if cached.
    func singleFragment(_ key: DirectoryKey) -> fsp_single_fragment?
}
