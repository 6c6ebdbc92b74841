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
}
