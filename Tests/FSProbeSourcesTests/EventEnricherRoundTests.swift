import FSProbeCore
@testable import FSProbeSources
import Testing

/// Within a round of events the enricher reuses the last answer for the
/// same key, and only for it; the next round asks the caches again.
@Suite struct EventEnricherRoundTests {
    static func event(uid: UInt32, gid: UInt32 = 0) -> FileEvent {
        FileEvent(type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 0), pid: 1, tid: 1,
                  uid: uid, gid: gid, comm: ProcessName("t"), source: EventPath("/x"),
                  process: ProcessContext(euid: uid, egid: gid))
    }

    @Test func aRoundAnswersEachKeyItsOwnWayAndTheNextRoundAsksAgain() {
        let accounts = AccountNames()
        let enricher = EventEnricher(accounts: accounts)
        var root = Self.event(uid: 0)
        var unknown = Self.event(uid: AccountNamesTests.unusedID)
        var rootAgain = Self.event(uid: 0)
        enricher.enrich(&root)
        enricher.enrich(&unknown)
        enricher.enrich(&rootAgain)
        #expect(root.process.userName == "root")
        #expect(unknown.process.userName == nil, "its own answer, not the previous event's")
        #expect(rootAgain.process.userName == "root")
        #expect(unknown.process.groupName == "root" && rootAgain.process.effectiveGroupName == "root")
        // Users 0, unused, 0: three lookups (the memo holds the last key);
        // group 0 for all three events: one.
        #expect(accounts.lookups == 4)

        var sameRound = Self.event(uid: 0)
        enricher.enrich(&sameRound)
        #expect(accounts.lookups == 4, "user 0 and group 0 again, in the same round: no lookup")

        enricher.endRound()
        var nextRound = Self.event(uid: 0)
        enricher.enrich(&nextRound)
        #expect(nextRound.process.userName == "root")
        #expect(accounts.lookups == 6, "a new round asks the caches again, for the user and the group")
    }

    /// Each path of an event, the executable's too, gets the mount its id
    /// names; a path without a mount id gets none.
    @Test func everyPathGetsItsOwnMount() throws {
        let proc = try MountTableCachingTests.FakeProc()
        defer { proc.remove() }
        let enricher = EventEnricher(mounts: MountTable(procRoot: proc.root))
        func path(_ text: String, mountID: UInt32) -> EventPath {
            var path = EventPath(text)
            path.mountID = mountID
            return path
        }
        var rename = FileEvent(type: .rename, timestamp: EventTimestamp(nanosecondsSinceEpoch: 0), pid: 1, tid: 1,
                               uid: 0, gid: 0, comm: ProcessName("mv"), source: path("/a", mountID: 1),
                               target: path("/run/b", mountID: 2),
                               process: ProcessContext(executable: path("/run/mv", mountID: 2)))
        enricher.enrich(&rename)
        #expect(rename.source.mount?.mountPoint == Array("/".utf8) && rename.source.mount?.fsType == "ext4")
        #expect(rename.target?.mount?.mountPoint == Array("/run".utf8))
        #expect(rename.process.executable?.mount?.mountPoint == Array("/run".utf8))

        var kernelThread = FileEvent(type: .rename, timestamp: EventTimestamp(nanosecondsSinceEpoch: 0), pid: 2,
                                     tid: 2, uid: 0, gid: 0, comm: ProcessName("k"), source: path("/a", mountID: 1),
                                     target: path("/b", mountID: 0))
        enricher.enrich(&kernelThread)
        #expect(kernelThread.target?.mount == nil, "no mount id, no mount")
        #expect(kernelThread.process.executable == nil)
    }
}
