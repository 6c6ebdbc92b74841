import CFSProbeBPF
import FSProbeCore
@testable import FSProbeSources
import FSProbeTestSupport
import XCTest

/// Paths with mount crossings and anchors (cached directories), resolved
/// and learnt the way the kernel source does, against stand-in kernel maps.
final class PathResolutionTests: XCTestCase {
    typealias Item = KernelRecordBuilder.Item

    static let mount: UInt64 = 0xffff_8880_0000_1000
    static let dataKey = DirectoryKey(inode: 500, mount: mount)
    static let projectKey = DirectoryKey(inode: 600, mount: mount)

    func stamp(epoch: UInt64, generation: UInt32 = 1) -> fsp_cache_stamp {
        fsp_cache_stamp(epoch: epoch, mnt_root: 0xffff_8880_0000_2000, mnt_id: 31, generation: generation,
                        verdict: 0, _pad: 0)
    }

    func record(_ items: [Item], flags: UInt16 = 0, learnable: KernelRecordBuilder.Learnable? = nil,
                target: [Item]? = nil, time: UInt64 = 1_000) -> [UInt8] {
        var builder = KernelRecordBuilder(type: target == nil ? .open : .rename, source: [])
        builder.sourceItems = items
        builder.sourceFlags = flags
        builder.sourceLearnable = learnable
        builder.targetItems = target
        builder.timestampBoot = time
        return builder.build()
    }

    func decode(_ record: [UInt8], with decoder: KernelRecordDecoder) throws -> FileEvent {
        try record.withUnsafeBytes { try decoder.decode($0) }
    }

    func decoder(_ resolver: PathResolver) -> KernelRecordDecoder {
        KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 0), backend: .fentry, resolver: resolver)
    }

    func perfBuffer(_ maps: FakeCacheMaps, entries: Int = 16, now: UInt64 = 5_000) -> PathResolver {
        PathResolver(mode: .perfBuffer, pathCacheEntries: entries, maps: maps, bootTime: { now })
    }

    // MARK: parsing and assembling

    func testItemsAreParsedForwards() {
        let anchor = Anchor(key: Self.dataKey, epoch: 9)
        var builder = KernelRecordBuilder(type: .open, source: [])
        builder.sourceItems = [.name("file"), .name("b"), .anchor(anchor), .mount, .name("mnt")]
        let record = builder.build()
        var items = PathItems()
        record.withUnsafeBytes { bytes in
            let data = UnsafeRawBufferPointer(rebasing: bytes[KernelRecordDecoder.headerSize...])
            XCTAssertTrue(items.parse(data))
        }
        // "file\0" 0..<4, "b\0" 5..<6, anchor 7..<33, "/M" 33..<35, "mnt\0" 35..<38
        XCTAssertEqual(items.items, [.name(0..<4), .name(5..<6), .anchor(anchor), .mount, .name(35..<38)])
        XCTAssertEqual(items.firstSegmentEnd, 2)
    }

    func testMountCrossingsAddNothing() throws {
        let items: [Item] = [.name("file"), .name("b"), .name("a"), .mount, .name("data"), .name("mnt")]
        let event = try decode(record(items), with: KernelRecordDecoder())
        XCTAssertEqual(event.source.string, "/mnt/data/a/b/file")
        XCTAssertTrue(event.source.resolution.isEmpty)
    }

    func testMalformedItemsAreUndecodableNotGuessed() {
        let cutAnchor = [UInt8(ascii: "/"), UInt8(ascii: "A")] + [UInt8](repeating: 1, count: 18)
        let streams: [[Item]] = [
            [.name("a"), .raw([UInt8(ascii: "/"), UInt8(ascii: "X")])],  // unknown marker
            [.name("a"), .raw([UInt8(ascii: "/")])],                     // marker cut short
            [.name("a"), .raw(cutAnchor)],                                // anchor cut short
            [.name("a"), .raw(Array("b".utf8))],                          // name without its NUL
        ]
        for items in streams {
            XCTAssertThrowsError(try decode(record(items), with: KernelRecordDecoder())) { error in
                XCTAssertEqual(error as? KernelRecordError, .malformedPath, "\(items)")
            }
        }
    }

    func testHostileNamesPassThroughAsBytes() throws {
        let newline: [UInt8] = Array("new\nline".utf8)
        let invalid: [UInt8] = [0x66, 0xFF, 0xFE]
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps)
        let decoder = decoder(resolver)
        // Learn the directory "/\xff..." of the mount, then use it as an anchor.
        let learnable = KernelRecordBuilder.Learnable(key: Self.dataKey, stamp: stamp(epoch: 3), level: 1)
        let first = try decode(record([.name(newline), .name(invalid), .mount, .name("m")], learnable: learnable),
                               with: decoder)
        XCTAssertEqual(first.source.bytes, Array("/m/".utf8) + invalid + [0x2F] + newline)
        let second = try decode(record([.name(newline), .anchor(Anchor(key: Self.dataKey, epoch: 3)), .mount, .name("m")]),
                                with: decoder)
        XCTAssertEqual(second.source.bytes, first.source.bytes)
        XCTAssertEqual(resolver.cachedPath(Self.dataKey.at(3))?.path, [0x2F] + invalid)
    }

    func testDeletedAndDetachedFlagsAreDecoded() throws {
        let event = try decode(record([.name("tmpfile")], flags: UInt16(FSP_PATH_DELETED | FSP_PATH_DETACHED)),
                               with: KernelRecordDecoder())
        XCTAssertEqual(event.source.resolution, [.deleted, .detached])
    }

    func testEventPathsDoNotShareTheDecodersScratchBuffer() throws {
        let decoder = KernelRecordDecoder()
        let first = try decode(record([.name("file"), .name("dir")]), with: decoder)
        let second = try decode(record([.name("other"), .name("dir")]), with: decoder)
        XCTAssertEqual(first.source.string, "/dir/file")
        XCTAssertEqual(second.source.string, "/dir/other")
        XCTAssertLessThan(first.source.bytes.capacity, 64, "sized to the path, not to the data area")
    }

    // MARK: anchors

    func testAnchorResolvesFromTheUserSpaceCache() throws {
        let maps = FakeCacheMaps()
        let decoder = decoder(perfBuffer(maps))
        let learnable = KernelRecordBuilder.Learnable(key: Self.dataKey, stamp: stamp(epoch: 7), level: 1)
        _ = try decode(record([.name("x"), .name("data"), .name("srv"), .mount, .name("mnt")], learnable: learnable),
                       with: decoder)
        XCTAssertEqual(maps.inserted.map(\.key), [Self.dataKey.at(7)])
        let event = try decode(record([.name("y"), .anchor(Anchor(key: Self.dataKey, epoch: 7)), .mount, .name("mnt")]),
                               with: decoder)
        XCTAssertEqual(event.source.string, "/mnt/srv/data/y")
        XCTAssertTrue(event.source.resolution.isEmpty)
        XCTAssertEqual(maps.lookups, 0, "perf_buffer never reads a kernel map")
    }

    func testAnchorOfAnotherEpochLeavesOnlyThePartBelowIt() throws {
        let maps = FakeCacheMaps()
        let decoder = decoder(perfBuffer(maps))
        let learnable = KernelRecordBuilder.Learnable(key: Self.dataKey, stamp: stamp(epoch: 7), level: 1)
        _ = try decode(record([.name("x"), .name("data"), .mount, .name("mnt")], learnable: learnable), with: decoder)
        let stale = Anchor(key: Self.dataKey, epoch: 8)
        let sub = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 8), level: 1)
        let event = try decode(record([.name("f"), .name("sub"), .anchor(stale), .mount, .name("mnt")], learnable: sub),
                               with: decoder)
        XCTAssertEqual(event.source.string, "/sub/f", "no invented path: only what lies below the anchor")
        XCTAssertTrue(event.source.resolution.contains(.unresolved))
        XCTAssertEqual(maps.inserted.count, 1, "an unresolved path teaches nothing")
    }

    func testUnknownAnchorInAnUpperMountKeepsTheLowerMountsPath() throws {
        let maps = FakeCacheMaps()
        let decoder = decoder(perfBuffer(maps))
        let learnable = KernelRecordBuilder.Learnable(key: Self.dataKey, stamp: stamp(epoch: 2), level: 1)
        _ = try decode(record([.name("x"), .name("data"), .mount], learnable: learnable), with: decoder)
        let unknown = Anchor(key: DirectoryKey(inode: 9, mount: 1), epoch: 2)
        let event = try decode(record([.name("f"), .anchor(Anchor(key: Self.dataKey, epoch: 2)), .mount, .anchor(unknown)]),
                               with: decoder)
        XCTAssertEqual(event.source.string, "/data/f")
        XCTAssertTrue(event.source.resolution.contains(.unresolved))
    }

    func testFragmentsChainIsFollowedToTheMountRoot() throws {
        let maps = FakeCacheMaps()
        maps.fragments[Self.projectKey.at(4)] = fragment("project", parent: 500, epoch: 4)
        maps.fragments[Self.dataKey.at(4)] = fragment("data", parent: 0, epoch: 4)
        let resolver = PathResolver(mode: .fragments, pathCacheEntries: 16, maps: maps)
        let decoder = decoder(resolver)
        let anchored = record([.name("f"), .anchor(Anchor(key: Self.projectKey, epoch: 4)), .mount, .name("mnt")])
        XCTAssertEqual(try decode(anchored, with: decoder).source.string, "/mnt/data/project/f")
        XCTAssertEqual(maps.lookups, 2)
        XCTAssertEqual(try decode(anchored, with: decoder).source.string, "/mnt/data/project/f")
        XCTAssertEqual(maps.lookups, 2, "the second time comes from user space's cache")
    }

    func testFragmentsOfAnotherEpochOrABrokenChainAreUnresolved() throws {
        let maps = FakeCacheMaps()
        maps.fragments[Self.projectKey.at(4)] = fragment("project", parent: 500, epoch: 4)
        maps.fragments[Self.dataKey.at(4)] = fragment("data", parent: 0, epoch: 3)
        let decoder = decoder(PathResolver(mode: .fragments, pathCacheEntries: 16, maps: maps))
        let stale = try decode(record([.name("f"), .anchor(Anchor(key: Self.projectKey, epoch: 4))]), with: decoder)
        XCTAssertEqual(stale.source.string, "/f")
        XCTAssertTrue(stale.source.resolution.contains(.unresolved))

        XCTAssertEqual(maps.removedFragments, [Self.projectKey.at(4)], "a fragment of another epoch breaks the chain too")

        maps.removedFragments = []
        maps.fragments[Self.projectKey.at(4)] = fragment("project", parent: 500, epoch: 4)
        maps.fragments[Self.dataKey.at(4)] = fragment("data", parent: 777, epoch: 4)  // parent never cached
        let broken = try decode(record([.name("f"), .anchor(Anchor(key: Self.projectKey, epoch: 4))]), with: decoder)
        XCTAssertTrue(broken.source.resolution.contains(.unresolved))
        XCTAssertEqual(maps.removedFragments, [Self.projectKey.at(4), Self.dataKey.at(4)],
                       "the fragments below the hole go, so the next walk puts the chain back")
        maps.fragments[Self.projectKey.at(4)] = fragment("project", parent: 500, epoch: 4)

        maps.fragments[Self.dataKey.at(4)] = fragment("data", parent: 600, epoch: 4)  // a cycle
        let cycle = try decode(record([.name("f"), .anchor(Anchor(key: Self.projectKey, epoch: 4))]), with: decoder)
        XCTAssertTrue(cycle.source.resolution.contains(.unresolved))
    }

    func testSingleFragmentIsReversedRootFirst() throws {
        let maps = FakeCacheMaps()
        var single = fsp_single_fragment()
        single.stamp = stamp(epoch: 6)
        let names = Array("project\0data\0".utf8)
        withUnsafeMutableBytes(of: &single.path) { $0.copyBytes(from: names) }
        single.len = UInt32(names.count)
        maps.singles[Self.projectKey.at(6)] = single
        let decoder = decoder(PathResolver(mode: .singleFragment, pathCacheEntries: 16, maps: maps))
        let event = try decode(record([.name("f"), .anchor(Anchor(key: Self.projectKey, epoch: 6)), .mount, .name("mnt")]),
                               with: decoder)
        XCTAssertEqual(event.source.string, "/mnt/data/project/f")
        let stale = try decode(record([.name("f"), .anchor(Anchor(key: DirectoryKey(inode: 1, mount: 2), epoch: 6))]),
                               with: decoder)
        XCTAssertTrue(stale.source.resolution.contains(.unresolved))
    }

    func testLeafFirstNamesReverseAndRefuseDamagedOnes() {
        func reversed(_ text: String) -> String? {
            Array(text.utf8).withUnsafeBytes { PathResolver.rootFirst(leafFirstNames: $0) }
                .map { String(decoding: $0, as: UTF8.self) }
        }
        XCTAssertEqual(reversed("b\0a\0"), "/a/b")
        XCTAssertEqual(reversed(""), "", "a mount's root: nothing to add")
        XCTAssertNil(reversed("b\0a"), "cut")
        XCTAssertNil(reversed("b\0\0"), "empty name")
        XCTAssertNil(reversed("/M\0"), "a marker is no name")
    }

    // MARK: learning (perf_buffer)

    func testLearningTheParentOfAFile() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps)
        let learnable = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1), level: 1)
        let items: [Item] = [.name("f"), .name("project"), .name("data"), .mount, .name("mnt")]
        _ = try decode(record(items, learnable: learnable), with: decoder(resolver))
        XCTAssertEqual(resolver.cachedPath(Self.projectKey.at(1))?.path, Array("/data/project".utf8))
        XCTAssertEqual(maps.inserted.map(\.key), [Self.projectKey.at(1)])
        XCTAssertEqual(maps.inserted.first?.stamp.epoch, 1)
    }

    func testLearningTheObjectItselfBelowAnAnchor() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps)
        let decoder = decoder(resolver)
        let data = KernelRecordBuilder.Learnable(key: Self.dataKey, stamp: stamp(epoch: 1), level: 0)
        _ = try decode(record([.name("data"), .name("srv")], learnable: data), with: decoder)
        XCTAssertEqual(resolver.cachedPath(Self.dataKey.at(1))?.path, Array("/srv/data".utf8))
        // mkdir srv/data/new/deeper: level 0 is the new directory, the segment ends at the anchor.
        let deeper = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1), level: 0)
        let event = try decode(record([.name("deeper"), .name("new"), .anchor(Anchor(key: Self.dataKey, epoch: 1))],
                                      learnable: deeper), with: decoder)
        XCTAssertEqual(event.source.string, "/srv/data/new/deeper")
        XCTAssertEqual(resolver.cachedPath(Self.projectKey.at(1))?.path, Array("/srv/data/new/deeper".utf8))
        XCTAssertEqual(maps.inserted.map(\.key), [Self.dataKey.at(1), Self.projectKey.at(1)])
    }

    func testLearningLevelOneBelowAnAnchor() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps)
        let decoder = decoder(resolver)
        let data = KernelRecordBuilder.Learnable(key: Self.dataKey, stamp: stamp(epoch: 1), level: 1)
        _ = try decode(record([.name("x"), .name("data"), .name("srv")], learnable: data), with: decoder)
        let project = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1), level: 1)
        _ = try decode(record([.name("f"), .name("project"), .anchor(Anchor(key: Self.dataKey, epoch: 1)), .mount],
                              learnable: project), with: decoder)
        XCTAssertEqual(resolver.cachedPath(Self.projectKey.at(1))?.path, Array("/srv/data/project".utf8))
    }

    func testNothingToLearnAtOrAboveTheSegmentsEnd() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps)
        let learnable = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1), level: 1)
        _ = try decode(record([.name("f"), .mount, .name("mnt")], learnable: learnable), with: decoder(resolver))
        XCTAssertNil(resolver.cachedPath(Self.projectKey.at(1)))
        XCTAssertTrue(maps.inserted.isEmpty)
    }

    func testAKnownDirectoryIsNotToldAgainForEveryEvent() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps, now: 5_000)
        let decoder = decoder(resolver)
        let learnable = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1), level: 1)
        let items: [Item] = [.name("f"), .name("project")]
        // A burst: the events made before the kernel was told all offer the directory.
        for time: UInt64 in [4_000, 4_100, 4_200] {
            _ = try decode(record(items, learnable: learnable, time: time), with: decoder)
        }
        XCTAssertEqual(maps.inserted.count, 1)
        // Another directory behind the same key (a reused inode) is learnt anew.
        let reused = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1, generation: 2), level: 1)
        _ = try decode(record([.name("f"), .name("other")], learnable: reused, time: 4_300), with: decoder)
        XCTAssertEqual(maps.inserted.count, 2)
        XCTAssertEqual(resolver.cachedPath(Self.projectKey.at(1))?.path, Array("/other".utf8))
    }

    func testAnOfferAfterTheKernelWasToldMeansTheKernelForgot() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps, now: 5_000)
        let decoder = decoder(resolver)
        let learnable = KernelRecordBuilder.Learnable(key: Self.projectKey, stamp: stamp(epoch: 1), level: 1)
        _ = try decode(record([.name("f"), .name("project")], learnable: learnable, time: 4_000), with: decoder)
        _ = try decode(record([.name("f"), .name("project")], learnable: learnable, time: 6_000), with: decoder)
        XCTAssertEqual(maps.inserted.count, 2, "the kernel's own LRU dropped it: tell it again")
    }

    func testEvictionInPerfBufferModeIsToldToTheKernel() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps, entries: 2)
        let decoder = decoder(resolver)
        for inode: UInt64 in [1, 2, 3] {
            let key = DirectoryKey(inode: inode, mount: Self.mount)
            let learnable = KernelRecordBuilder.Learnable(key: key, stamp: stamp(epoch: 1), level: 1)
            _ = try decode(record([.name("f"), .name("d\(inode)")], learnable: learnable), with: decoder)
        }
        XCTAssertEqual(maps.removed, [DirectoryKey(inode: 1, mount: Self.mount, epoch: 1)])
        XCTAssertEqual(resolver.cachedKeysByRecency.map(\.inode), [3, 2])
    }

    /// Learning what one event offers may evict the directory a later
    /// event, already made, stopped at: that event still resolves, and an
    /// event made after the removal cannot have stopped there.
    func testAnEventMadeBeforeItsAnchorWasEvictedStillResolves() throws {
        let maps = FakeCacheMaps()
        var now: UInt64 = 5_000
        let resolver = PathResolver(mode: .perfBuffer, pathCacheEntries: 2, maps: maps, bootTime: { now })
        let decoder = decoder(resolver)
        func key(_ inode: UInt64) -> DirectoryKey { DirectoryKey(inode: inode, mount: Self.mount, epoch: 1) }
        for inode: UInt64 in [1, 2, 3] {
            let learnable = KernelRecordBuilder.Learnable(key: key(inode), stamp: stamp(epoch: 1), level: 1)
            _ = try decode(record([.name("f"), .name("d\(inode)")], learnable: learnable, time: 4_000), with: decoder)
        }
        XCTAssertEqual(maps.removed, [key(1)], "d1 evicted at 5,000")
        let atD1: [Item] = [.name("y"), .anchor(Anchor(key: key(1)))]
        let madeBefore = try decode(record(atD1, time: 4_500), with: decoder)
        XCTAssertEqual(madeBefore.source.string, "/d1/y")
        XCTAssertTrue(madeBefore.source.resolution.isEmpty)
        let madeAfter = try decode(record(atD1, time: 5_001), with: decoder)
        XCTAssertTrue(madeAfter.source.resolution.contains(.unresolved), "made after the kernel forgot d1")
        XCTAssertEqual(resolver.retiredCount, 1)

        // Once an event made well after the removal is read, none made
        // before it is left: the evicted entry goes.
        now = 6_000
        _ = try decode(record([.name("z")], time: 5_000 + RetiredDirectoryPaths.grace + 1), with: decoder)
        XCTAssertEqual(resolver.retiredCount, 0)
        let late = try decode(record(atD1, time: 4_500), with: decoder)
        XCTAssertTrue(late.source.resolution.contains(.unresolved))
    }

    func testRetiredDirectoriesAreBoundedOldestFirst() {
        var retired = RetiredDirectoryPaths(limit: 2)
        func key(_ inode: UInt64) -> DirectoryKey { DirectoryKey(inode: inode, mount: Self.mount, epoch: 1) }
        for inode: UInt64 in 1...3 {
            retired.retire(key(inode), CachedDirectoryPath(epoch: 1, path: Array("/d\(inode)".utf8)),
                           removedAt: 100 * inode)
        }
        XCTAssertEqual(retired.count, 2)
        XCTAssertNil(retired.path(of: key(1), eventTime: 0), "the oldest went first")
        XCTAssertEqual(retired.path(of: key(3), eventTime: 0)?.path, Array("/d3".utf8))
        XCTAssertNil(retired.path(of: key(3), eventTime: 300), "made at the removal: the kernel had forgotten")
        // Retired again: the newer removal counts, the older queue place is stale.
        retired.retire(key(2), CachedDirectoryPath(epoch: 1, path: Array("/d2b".utf8)), removedAt: 400)
        retired.expire(readingEventMadeAt: 300 + RetiredDirectoryPaths.grace)
        XCTAssertEqual(retired.path(of: key(2), eventTime: 350)?.path, Array("/d2b".utf8))
        retired.expire(readingEventMadeAt: 401 + RetiredDirectoryPaths.grace)
        XCTAssertEqual(retired.count, 0)
    }

    func testTargetPathLearnsOnItsOwn() throws {
        let maps = FakeCacheMaps()
        let resolver = perfBuffer(maps)
        var builder = KernelRecordBuilder(type: .rename, source: [])
        builder.sourceItems = [.name("a"), .name("src")]
        builder.targetItems = [.name("b"), .name("dst")]
        builder.targetLearnable = .init(key: Self.projectKey, stamp: stamp(epoch: 1), level: 1)
        let event = try decode(builder.build(), with: decoder(resolver))
        XCTAssertEqual(event.target?.string, "/dst/b")
        XCTAssertEqual(maps.inserted.map(\.key), [Self.projectKey.at(1)])
        XCTAssertEqual(resolver.cachedPath(Self.projectKey.at(1))?.path, Array("/dst".utf8))
    }

    // MARK: LRU

    func testLRUEvictsTheLeastRecentlyUsedAndSaysWhich() {
        var cache = LRUCache<Int, String>(capacity: 3)
        XCTAssertNil(cache.put(1, "a"))
        XCTAssertNil(cache.put(2, "b"))
        XCTAssertNil(cache.put(3, "c"))
        XCTAssertEqual(cache.get(1), "a")       // 1 is now the most recent
        XCTAssertEqual(cache.put(4, "d")?.key, 2)    // 2 was the least recent
        XCTAssertNil(cache.get(2))
        XCTAssertNil(cache.put(3, "c2"), "replacing evicts nothing")
        XCTAssertEqual(cache.keysByRecency, [3, 4, 1])
        XCTAssertEqual(cache.peek(1), "a")
        XCTAssertEqual(cache.keysByRecency, [3, 4, 1], "peek leaves the order alone")
        XCTAssertEqual(cache.put(5, "e")?.value, "a")
        XCTAssertEqual(cache.count, 3)
        var one = LRUCache<Int, Int>(capacity: 1)
        one.put(1, 1)
        XCTAssertEqual(one.put(2, 2)?.key, 1)
        XCTAssertEqual(one.get(2), 2)
    }

    // MARK: helpers

    func fragment(_ name: String, parent: UInt64, epoch: UInt64) -> fsp_fragment {
        var value = fsp_fragment()
        value.stamp = stamp(epoch: epoch)
        value.parent_inode = parent
        value.name_len = UInt32(name.utf8.count)
        withUnsafeMutableBytes(of: &value.name) { $0.copyBytes(from: Array(name.utf8)) }
        return value
    }
}

extension DirectoryKey {
    /// The same directory's key in another cache epoch.
    func at(_ epoch: UInt64) -> DirectoryKey { DirectoryKey(inode: inode, mount: mount, epoch: epoch) }
}

/// The kernel maps, in memory.
final class FakeCacheMaps: ResolutionCacheMaps {
    var inserted: [(key: DirectoryKey, stamp: fsp_cache_stamp)] = []
    var removed: [DirectoryKey] = []
    var fragments: [DirectoryKey: fsp_fragment] = [:]
    var singles: [DirectoryKey: fsp_single_fragment] = [:]
    var removedFragments: [DirectoryKey] = []
    var lookups = 0

    func insertCachedDirectory(_ key: DirectoryKey, stamp: fsp_cache_stamp) throws(ProbeError) {
        inserted.append((key, stamp))
    }

    func removeCachedDirectory(_ key: DirectoryKey) {
        removed.append(key)
    }

    func removeFragment(_ key: DirectoryKey) {
        removedFragments.append(key)
        fragments[key] = nil
    }

    func fragment(_ key: DirectoryKey) -> fsp_fragment? {
        lookups += 1
        return fragments[key]
    }

    func singleFragment(_ key: DirectoryKey) -> fsp_single_fragment? {
        lookups += 1
        return singles[key]
    }
}
