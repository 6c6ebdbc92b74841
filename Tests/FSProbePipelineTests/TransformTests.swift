import Foundation
import FSProbeCore
import FSProbePipeline
import FSProbeTestSupport
import FSProbePipelineFile
import FSProbeSinks
import FSProbeSources
import Testing

/// The transforms of FSProbeCore (`filter`, `sample`, `fields`), built as a
/// pipeline file builds them: from option values, through their component type.
@Suite struct TransformTests {
    static let registry = PipelineFileTests.registry

    /// Builds a transform of `type` from option values (a String is a scalar, an array a list).
    func transform(_ type: String, _ values: [String: Any]) throws -> any EventTransform {
        let componentType = try #require(Self.registry.type(named: type))
        let built = try componentType.build(Self.options(values), context: ComponentContext(name: "t"))
        guard case .transform(let transform) = built else { throw CocoaError(.featureUnsupported) }
        return transform
    }

    static func options(_ values: [String: Any]) -> ComponentOptions {
        ComponentOptions(component: "t", values: values.mapValues { value in
            if let list = value as? [String] { return .list(list) }
            return .scalar("\(value)")
        })
    }

    /// The option a decoding error names, or nil when the options are accepted.
    func rejectedOption(_ type: String, _ values: [String: Any]) -> String? {
        do {
            try Self.registry.type(named: type)!.check(Self.options(values))
            return nil
        } catch {
            return error.option
        }
    }

    func keeps(_ transform: any EventTransform, _ event: FileEvent) -> Bool {
        var copy = event
        return transform.apply(&copy)
    }

    func keeps(_ transform: any EventTransform, path: String, target: String? = nil) -> Bool {
        keeps(transform, makeEvent(.rename, path: Array(path.utf8), target: target.map { Array($0.utf8) }))
    }

    func json(_ event: FileEvent) throws -> (line: [UInt8], object: [String: Any]) {
        var line: [UInt8] = []
        JSONLineEncoder().encode(event, into: &line)
        return (line, try parseJSONLine(line))
    }

    // MARK: filter

    @Test func prefixMatchesWholeComponentsOnEitherPath() throws {
        let etc = try transform("filter", ["path_prefix": ["/etc/", "/var/log"]])
        #expect(keeps(etc, path: "/etc"))
        #expect(keeps(etc, path: "/etc/hosts"))
        #expect(keeps(etc, path: "/var/log/syslog"))
        #expect(!keeps(etc, path: "/etcetera"))
        #expect(!keeps(etc, path: "/etcetera/hosts"))
        #expect(!keeps(etc, path: "/et"))
        #expect(!keeps(etc, path: "/var/logs/x"))
        #expect(!keeps(etc, path: "/tmp/etc/hosts"))
        // A rename into /etc matches by its target, one out of it by its source.
        #expect(keeps(etc, path: "/tmp/x", target: "/etc/x"))
        #expect(keeps(etc, path: "/etc/x", target: "/tmp/x"))
        #expect(!keeps(etc, path: "/tmp/x", target: "/etcx"))

        let root = try transform("filter", ["path_prefix": "/"])
        #expect(keeps(root, path: "/anything/at/all"))
    }

    @Test func globStarStaysInANameDoubleStarCrosses() throws {
        func matches(_ glob: String, _ path: String) throws -> Bool {
            keeps(try transform("filter", ["path_glob": glob]), path: path)
        }
        #expect(try matches("/home/*/.ssh/*", "/home/ann/.ssh/id_ed25519"))
        #expect(try !matches("/home/*/.ssh/*", "/home/ann/sub/.ssh/id_ed25519"))
        #expect(try !matches("/home/*", "/home/ann/notes"))
        #expect(try matches("/home/**", "/home/ann/notes"))
        #expect(try matches("/home/**/id_*", "/home/ann/a/b/.ssh/id_rsa"))
        #expect(try matches("/a/**/b", "/a/b"))
        #expect(try !matches("/a/**/b", "/a/xb"))
        #expect(try matches("**/*.log", "/var/log/app/x.log"))
        #expect(try !matches("**/*.log", "/var/log/app/x.log.1"))
        // The whole path, not a prefix or a substring.
        #expect(try !matches("/etc/host?", "/etc/hosts.allow"))
        #expect(try matches("/etc/host?", "/etc/hosts"))
        #expect(try !matches("/a?b", "/a/b"))
        #expect(try matches("/tmp/[abc]-[0-9][!x]", "/tmp/b-7y"))
        #expect(try !matches("/tmp/[abc]-[0-9][!x]", "/tmp/d-7y"))
        #expect(try !matches("/tmp/[abc]-[0-9][!x]", "/tmp/b-7x"))
        #expect(try matches("/tmp/[]x]", "/tmp/]"))
        #expect(try matches(#"/tmp/\*"#, "/tmp/*"))
        #expect(try !matches(#"/tmp/\*"#, "/tmp/a"))
        // A list matches when any glob does.
        let either = try transform("filter", ["path_glob": ["/a/*", "/b/*"]])
        #expect(keeps(either, path: "/b/x") && !keeps(either, path: "/c/x"))
    }

    @Test func pathsMatchAsRawBytesNotLossyText() throws {
        // Two bytes that are not UTF-8, then a two-byte character.
        let hostile = makeEvent(path: Array("/tmp/".utf8) + [0xFF, 0xFE] + Array("/é".utf8))
        func matches(_ values: [String: Any]) throws -> Bool { keeps(try transform("filter", values), hostile) }
        #expect(try matches(["path_prefix": "/tmp"]))
        #expect(try matches(["path_glob": "/tmp/*/*"]))
        #expect(try matches(["path_glob": "/tmp/??/?"]), "each lone byte is one character, é is one")
        #expect(try !matches(["path_glob": "/tmp/?/?"]))
        #expect(try !matches(["path_glob": "/tmp/??/??"]))
        #expect(try matches(["path_glob": "/tmp/[!a][!a]/[é]"]))
        // Through a lossy String both bytes would be U+FFFD and these would match.
        #expect(try !matches(["path_glob": "/tmp/\u{FFFD}\u{FFFD}/é"]))
        #expect(try !matches(["path_prefix": "/tmp/\u{FFFD}\u{FFFD}"]))
    }

    @Test func pathologicalGlobRunsInLinearTime() throws {
        let filter = try transform("filter", ["path_glob": "/**a*a**a*a**a*a**a*a**a*a**b"])
        let path = "/" + String(repeating: "a", count: 4000)
        let start = ContinuousClock.now
        #expect(!keeps(filter, path: path))
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test(arguments: [PathResolution.truncated, .unresolved, .detached])
    func pathsNotFromTheRootMatchNoPathCondition(resolution: PathResolution) throws {
        var event = makeEvent(path: Array("/etc/passwd".utf8))
        event.source.resolution = resolution  // really .../something/etc/passwd
        #expect(!keeps(try transform("filter", ["path_prefix": "/etc"]), event))
        #expect(!keeps(try transform("filter", ["path_glob": "/etc/*"]), event))
        #expect(keeps(try transform("filter", ["path_prefix": "/etc", "exclude": "true"]), event))
    }

    @Test func excludeDropsWhatWouldBeKept() throws {
        let opens = try transform("filter", ["event_types": ["open", "unlink"]])
        let noOpens = try transform("filter", ["event_types": ["open", "unlink"], "exclude": "true"])
        for type in EventType.allCases {
            let event = makeEvent(type)
            let matching = type == .open || type == .unlink
            #expect(keeps(opens, event) == matching, "\(type)")
            #expect(keeps(noOpens, event) == !matching, "\(type)")
        }
        // exclude drops only what matches every condition.
        let dropEtcOpens = try transform("filter", ["event_types": "open", "path_prefix": "/etc", "exclude": "true"])
        #expect(!keeps(dropEtcOpens, makeEvent(.open, path: Array("/etc/x".utf8))))
        #expect(keeps(dropEtcOpens, makeEvent(.open, path: Array("/tmp/x".utf8))))
        #expect(keeps(dropEtcOpens, makeEvent(.unlink, path: Array("/etc/x".utf8))))
    }

    @Test func processAndOutcomeConditions() throws {
        var event = makeEvent(comm: "sshd", retval: -13)  // uid 1001, gid 1002
        let uids = try transform("filter", ["uid": ["0", "1001"]])
        #expect(keeps(uids, event))
        event.uid = 0
        #expect(keeps(uids, event))
        event.uid = 1000
        #expect(!keeps(uids, event))
        event.uid = 1001

        #expect(keeps(try transform("filter", ["gid": "1002"]), event))
        #expect(!keeps(try transform("filter", ["gid": ["1001", "1003"]]), event))
        #expect(keeps(try transform("filter", ["comm": ["bash", "sshd"]]), event))
        #expect(!keeps(try transform("filter", ["comm": "ssh"]), event))
        #expect(keeps(try transform("filter", ["retval": "failure"]), event))
        #expect(!keeps(try transform("filter", ["retval": "success"]), event))
        event.retval = 0
        #expect(keeps(try transform("filter", ["retval": "success"]), event))

        // Every condition must hold.
        let both = try transform("filter", ["uid": "1001", "comm": "cron"])
        #expect(!keeps(both, event))
        event.comm = ProcessName("cron")
        #expect(keeps(both, event))
    }

    @Test func containerAndEffectiveUserConditions() throws {
        var event = makeEvent()
        let id = String(repeating: "0f", count: 32)
        let inContainer = try transform("filter", ["in_container": "true"])
        let onHost = try transform("filter", ["in_container": "false"])
        let thisOne = try transform("filter", ["container_id": [id, "web"]])
        let hostByID = try transform("filter", ["container_id": ""])
        // No cgroup known: the host (an empty container id).
        #expect(!keeps(inContainer, event) && keeps(onHost, event) && !keeps(thisOne, event) && keeps(hostByID, event))
        event.process.cgroup = CgroupInfo(id: 7, path: Array("/docker/\(id)".utf8), containerID: id, runtime: .docker)
        #expect(keeps(inContainer, event) && !keeps(onHost, event) && keeps(thisOne, event) && !keeps(hostByID, event))
        event.process.cgroup = CgroupInfo(id: 8, path: Array("/docker/x".utf8), containerID: "other", runtime: .docker)
        #expect(keeps(inContainer, event) && !keeps(thisOne, event))

        // The effective uid, not the real one: a set-user-id root binary run by 1001.
        let asRoot = try transform("filter", ["euid": "0"])
        event.process.euid = 0
        #expect(event.uid == 1001 && keeps(asRoot, event))
        event.process.euid = 1001
        #expect(!keeps(asRoot, event))
        #expect(throws: ComponentOptionError.self) { try transform("filter", ["euid": "root"]) }
        #expect(throws: ComponentOptionError.self) { try transform("filter", ["in_container": "yes please"]) }
    }

    @Test func extendedAttributeNameCondition() throws {
        var event = makeEvent()
        event.type = .setattr
        let security = try transform("filter", ["xattr_prefix": ["security.", "trusted.overlay."]])
        let anyXattr = try transform("filter", ["xattr_prefix": ""])
        // A chmod is no extended attribute change.
        event.attributes = AttributeChange(mode: 0o600)
        #expect(!keeps(security, event) && !keeps(anyXattr, event))
        event.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: Array("security.capability".utf8)))
        #expect(keeps(security, event) && keeps(anyXattr, event))
        event.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: Array("trusted.overlay.origin".utf8)))
        #expect(keeps(security, event))
        // A prefix, not a substring; bytes, not UTF-8.
        event.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: Array("user.security.x".utf8) + [0xff]))
        #expect(!keeps(security, event) && keeps(anyXattr, event))
    }

    @Test func filterOptionsAreRejectedByName() {
        #expect(rejectedOption("filter", ["path_glob": ["/ok/*", "/tmp/[abc"]]) == "path_glob")
        #expect(rejectedOption("filter", ["path_glob": #"/tmp/x\"#]) == "path_glob")
        #expect(rejectedOption("filter", ["path_glob": "/tmp/[z-a]"]) == "path_glob")
        #expect(rejectedOption("filter", ["path_glob": "*.log"]) == "path_glob", "relative: could never match")
        #expect(rejectedOption("filter", ["path_glob": "/tmp/[[:alpha:]]"]) == "path_glob")
        #expect(rejectedOption("filter", ["path_prefix": "etc"]) == "path_prefix")
        #expect(rejectedOption("filter", ["uid": ["0", "root"]]) == "uid")
        #expect(rejectedOption("filter", ["gid": "-1"]) == "gid")
        #expect(rejectedOption("filter", ["comm": "systemd-journald"]) == "comm", "16 bytes: the kernel keeps 15")
        #expect(rejectedOption("filter", ["event_types": "opne"]) == "event_types")
        #expect(rejectedOption("filter", ["retval": "maybe"]) == "retval")
        #expect(rejectedOption("filter", ["exclude": "yes"]) == "exclude")
        #expect(rejectedOption("filter", ["path_glob": "/tmp/[abc]/**/x?", "comm": "systemd-journal", "uid": "0"]) == nil)
    }

    // MARK: sample

    @Test func sampleKeepsExactlyOneInRate() throws {
        for rate in [1, 7, 100, 9999, 20000] {
            let sample = try transform("sample", ["rate": "\(rate)"])
            let kept = (0..<10_000).filter { keeps(sample, makeEvent(seq: $0)) }
            #expect(kept == Array(stride(from: 0, to: 10_000, by: rate)), "rate \(rate)")
        }
        // Each component counts for itself.
        let a = try transform("sample", ["rate": "3"]), b = try transform("sample", ["rate": "3"])
        #expect([keeps(a, makeEvent()), keeps(a, makeEvent()), keeps(b, makeEvent())] == [true, false, true])
    }

    @Test func sampleByKeyKeepsOrDropsEachKeyWhole() throws {
        let paths = (0..<2000).map { Array("/data/file-\($0)".utf8) }
        let sample = try transform("sample", ["rate": "10", "key": "src_filename"])
        var verdicts: [[Bool]] = Array(repeating: [], count: paths.count)
        for round in 0..<5 {
            for (index, path) in paths.enumerated() {
                verdicts[index].append(keeps(sample, makeEvent(seq: round, path: path)))
            }
        }
        #expect(verdicts.allSatisfy { Set($0).count == 1 }, "a key is kept or dropped as a whole")
        let keptKeys = verdicts.indices.filter { verdicts[$0][0] }
        #expect((150...250).contains(keptKeys.count), "about 1 key in 10: \(keptKeys.count)")
        // Stable across components and runs: a fixed hash, not a per-process seed.
        let again = try transform("sample", ["rate": "10", "key": "src_filename"])
        #expect(paths.indices.filter { keeps(again, makeEvent(path: paths[$0])) } == keptKeys)
        #expect(keptKeys.count == 181 && keptKeys.prefix(3) == [9, 41, 48], "pinned selection changed: \(keptKeys.count) \(keptKeys.prefix(3))")

        let byPid = try transform("sample", ["rate": "4", "key": "pid"])
        var pidVerdicts: [UInt32: Set<Bool>] = [:]
        for seq in 0..<4000 {
            var event = makeEvent(seq: seq)
            event.pid = UInt32(seq % 400)
            pidVerdicts[event.pid, default: []].insert(keeps(byPid, event))
        }
        #expect(pidVerdicts.values.allSatisfy { $0.count == 1 })
        #expect((60...140).contains(pidVerdicts.values.filter { $0 == [true] }.count))
    }

    @Test func sampleOptionsAreRejectedByName() {
        #expect(rejectedOption("sample", ["rate": "0"]) == "rate")
        #expect(rejectedOption("sample", ["rate": "-5"]) == "rate")
        #expect(rejectedOption("sample", ["rate": "ten"]) == "rate")
        #expect(rejectedOption("sample", [:]) == "rate")
        #expect(rejectedOption("sample", ["rate": "2", "key": "inode"]) == "key")
        #expect(rejectedOption("sample", ["rate": "2", "key": "pid"]) == nil)
    }

    // MARK: fields

    @Test func fieldsAddRemoveRenameShowInTheJSON() throws {
        let fields = try transform("fields", [
            "add": ["env=prod", "note=a=b"],
            "remove": ["flags", "mode", "tid"],
            "rename": ["src_filename=path", "pid=process_id"],
        ])
        var event = makeEvent(path: Array("/etc/hosts".utf8))
        #expect(fields.apply(&event))
        let (line, json) = try json(event)
        #expect(json["path"] as? String == "/etc/hosts")
        #expect(json["process_id"] as? Int == 1000)
        #expect(json["env"] as? String == "prod")
        #expect(json["note"] as? String == "a=b", "split at the first =")
        for gone in ["flags", "mode", "tid", "src_filename", "pid"] { #expect(json[gone] == nil, "\(gone)") }
        #expect(json["comm"] as? String == "cat")
        #expect(json.count == 1 + 63 - 3 + 2)  // schema_version, the fields, the added ones
        // Renamed fields keep their place; added ones come last.
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.hasSuffix(#""modify_bytes":null,"event_id":null,"host":null,"env":"prod","note":"a=b"}"# + "\n"), "\(text)")
        #expect(text.hasPrefix(#"{"schema_version":1,"event_type":"open","timestamp":"2026-11-26T06:45:44.123456789Z","process_id":1000,"uid":1001,"#))
    }

    @Test func hostileNamesAndValuesGiveOneValidLine() throws {
        let value = "x\"}\n{\"forged\":1}\u{1b}[31m\u{2028}\\"
        let fields = try FieldsTransform(name: "t", options: try FieldsOptions(Self.options([
            "add": ["we\"ird\\key=\(value)"],
            "rename": ["src_filename=path"],
            "host_name": "machine",
        ])), hostName: "evil\nhost\u{1b}")
        for name in HostileNames.all {
            var event = makeEvent(.rename, path: name.bytes, target: name.bytes)
            #expect(fields.apply(&event))
            let (line, json) = try json(event)
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(!line.dropLast().contains { $0 < 0x20 || $0 == 0x7F }, "\(name.label)")
            #expect(json["we\"ird\\key"] as? String == value)
            #expect(json["machine"] as? String == "evil\nhost\u{1b}")
            #expect(json["forged"] == nil)
            // The exact bytes are still recoverable under the new name.
            let recovered = (json["path_raw"] as? String).map { Array(Data(base64Encoded: $0)!) }
                ?? Array((json["path"] as! String).utf8)
            #expect(recovered == name.bytes, "\(name.label)")
            #expect(json["src_filename_raw"] == nil && json["src_filename"] == nil)
        }
    }

    @Test func removingAFieldRemovesItsRawCompanion() throws {
        let fields = try transform("fields", ["remove": ["src_filename", "comm_raw"]])
        var event = makeEvent(.rename, path: [0x2F, 0xFF], target: [0x2F, 0xFE])
        event.comm = ([0x61, 0xC3] as [UInt8]).withUnsafeBytes { ProcessName(bytes: $0) }
        _ = fields.apply(&event)
        let json = try json(event).object
        #expect(json["src_filename"] == nil && json["src_filename_raw"] == nil, "no leak through the raw field")
        #expect(json["comm"] as? String == "a\u{FFFD}" && json["comm_raw"] == nil)
        #expect(json["target_filename_raw"] as? String == Data([0x2F, 0xFE]).base64EncodedString())
    }

    @Test func fieldTransformsComposeAndTheLaterWins() throws {
        let first = try transform("fields", ["add": ["a=1", "b=2"], "rename": ["pid=p"]])
        let second = try transform("fields", ["rename": ["tid=a"], "remove": ["pid"], "add": ["p=again"]])
        var one = makeEvent(seq: 1), two = makeEvent(seq: 2)
        for transform in [first, second] {
            _ = transform.apply(&one)
            _ = transform.apply(&two)
        }
        let json = try json(one).object
        #expect(json["a"] as? Int == Int(one.tid), "tid renamed to a replaces the earlier a")
        #expect(json["b"] as? String == "2")
        #expect(json["p"] as? String == "again", "pid removed by its standard name, p re-added")
        #expect(json["pid"] == nil && json["tid"] == nil)
        // Events share one layout object: a pointer per event, nothing rebuilt.
        #expect(one.fields != nil && one.fields === two.fields)
    }

    @Test func eachIncomingLayoutIsComposedOnce() throws {
        // Two branches meet in one transform: its input alternates between layouts.
        let left = try transform("fields", ["add": "branch=left"])
        let right = try transform("fields", ["add": "branch=right"])
        let merged = try transform("fields", ["remove": "tid"])
        var outputs: [(branch: String, layout: EventFieldLayout?)] = []
        for seq in 0..<6 {
            var event = makeEvent(seq: seq)
            _ = (seq % 2 == 0 ? left : right).apply(&event)
            _ = merged.apply(&event)
            outputs.append((try json(event).object["branch"] as! String, event.fields))
        }
        #expect(outputs.map(\.branch) == ["left", "right", "left", "right", "left", "right"])
        #expect(outputs.allSatisfy { $0.layout?.name(of: .tid) == nil && $0.layout?.name(of: .pid) == "pid" })
        for index in 2..<outputs.count {
            #expect(outputs[index].layout === outputs[index - 2].layout, "rebuilt for event \(index)")
        }
        #expect(outputs[0].layout !== outputs[1].layout)
    }

    @Test func fieldsOptionsAreRejectedByName() {
        #expect(rejectedOption("fields", ["add": ["ok=1", "novalue"]]) == "add")
        #expect(rejectedOption("fields", ["add": "=x"]) == "add")
        #expect(rejectedOption("fields", ["add": "bad\u{1b}name=x"]) == "add")
        #expect(rejectedOption("fields", ["add": "pid=3"]) == "add", "pid already exists")
        #expect(rejectedOption("fields", ["add": ["x=1", "x=2"]]) == "add")
        // schema_version is written first in every JSON object: no field may take its name.
        #expect(rejectedOption("fields", ["add": "schema_version=2"]) == "add")
        #expect(rejectedOption("fields", ["rename": "pid=schema_version"]) == "rename")
        #expect(rejectedOption("fields", ["host_name": "schema_version"]) == "host_name")
        #expect(rejectedOption("fields", ["add": "schema=2"]) == nil)
        #expect(rejectedOption("fields", ["remove": "pidd"]) == "remove")
        #expect(rejectedOption("fields", ["rename": "pid"]) == "rename")
        #expect(rejectedOption("fields", ["rename": "pidd=x"]) == "rename")
        #expect(rejectedOption("fields", ["rename": "pid=tid"]) == "rename")
        #expect(rejectedOption("fields", ["rename": "comm=x", "add": "x_raw=1"]) == "add", "comm_raw becomes x_raw")
        #expect(rejectedOption("fields", ["rename": "src_filename_raw=x"]) == "rename")
        #expect(rejectedOption("fields", ["rename": "pid=\u{2028}"]) == "rename")
        #expect(rejectedOption("fields", ["host_name": "uid"]) == "host_name")
        #expect(rejectedOption("fields", ["host_name": ""]) == "host_name")
        // Freed names may be reused; a swap is fine.
        #expect(rejectedOption("fields", ["remove": "comm", "add": ["comm=redacted", "comm_raw=none"]]) == nil)
        #expect(rejectedOption("fields", ["rename": ["pid=tid", "tid=pid"]]) == nil)

        // The message names what is wrong.
        do {
            try Self.registry.type(named: "fields")!.check(Self.options(["remove": ["pid", "pidd"]]))
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.description.hasPrefix("option 'remove': unknown field 'pidd'"), "\(error)")
        }
    }

    @Test func hostNameIsReadFromTheMachine() throws {
        var buffer = [CChar](repeating: 0, count: 256)
        #expect(gethostname(&buffer, 255) == 0)
        let expected = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var event = makeEvent()
        _ = try transform("fields", ["host_name": "machine"]).apply(&event)
        let json = try json(event).object
        #expect(!expected.isEmpty && json["machine"] as? String == expected)
    }

    /// Files written before `host` was a standard field asked for it with
    /// `host_name: host`: still accepted, and the line keeps one `host` key,
    /// the event's own.
    @Test func hostNameUnderTheStandardKeyKeepsTheEventsHost() throws {
        var event = makeEvent()
        event.origin = EventOrigin(host: "agent-7", stream: 42)
        _ = try transform("fields", ["host_name": "host"]).apply(&event)
        let (line, json) = try json(event)
        #expect(json["host"] as? String == "agent-7")
        #expect(String(decoding: line, as: UTF8.self).components(separatedBy: #""host":"#).count == 2)
        // Renamed away, the standard field frees the key for host_name.
        #expect(rejectedOption("fields", ["host_name": "host", "rename": ["host=origin"]]) == nil)
    }

    @Test func tableFormatIgnoresTheLayout() throws {
        let plain = makeEvent()
        var changed = plain
        _ = try transform("fields", ["remove": "pid", "add": "x=1"]).apply(&changed)
        #expect(changed.fields != nil && changed != plain)
        var table = TableFormatter(clock: .utc)
        #expect(table.line(changed) == table.line(plain))
    }

    // MARK: pipeline files

    @Test func pipelineFileWithEveryTransformValidates() throws {
        let yaml = """
            sources:
              k: {type: kernel, paths: [/etc, /home]}
            transforms:
              etc:
                type: filter
                inputs: [k]
                event_types: [open, rename, unlink]
                path_prefix: [/etc]
                path_glob: ["/etc/**/*.conf", "/etc/[a-z]*"]
                comm: [vim, sshd]
                uid: [0, 1000]
                gid: 0
                retval: success
              quiet:
                type: filter
                inputs: [etc]
                comm: [updatedb]
                exclude: true
              some:
                type: sample
                inputs: [quiet]
                rate: 10
                key: src_filename
              shaped:
                type: fields
                inputs: [some]
                add: ["env=${ENV}", "team=infra"]
                remove: [flags, mode]
                rename: [src_filename=path]
                host_name: host
                buffer_size: 1024
            sinks:
              out: {type: stdout, inputs: [shaped], format: json}
            """
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: ["ENV": "prod"])
        let validator = PipelineValidator(registry: Self.registry)
        #expect(validator.problems(in: document).map(\.description) == [])

        // The same file with mistakes: each reported at its option's line, by name.
        let broken = yaml
            .replacingOccurrences(of: "\"/etc/[a-z]*\"", with: "\"/etc/[a-z\"")
            .replacingOccurrences(of: "comm: [updatedb]", with: "comm: [updatedb, a-name-of-16-byte]")
            .replacingOccurrences(of: "rate: 10", with: "rate: 0")
            .replacingOccurrences(of: "team=infra", with: "team")
        let problems = validator.problems(in: PipelineDocument(file: "p.yaml", text: broken, environment: ["ENV": "prod"]))
            .map(\.description)
        let expected = [
            "p.yaml:9:5: 'etc' (filter): option 'path_glob': '/etc/[a-z' has an unclosed [",
            "p.yaml:17:5: 'quiet' (filter): option 'comm': 'a-name-of-16-byte' ",
            "p.yaml:22:5: option 'rate' of 'some': expected a positive integer, got '0'",
            "p.yaml:27:5: 'shaped' (fields): option 'add': 'team' is not name=value",
        ]

        // A buffer size that once passed validation and crashed the run.
        let huge = yaml.replacingOccurrences(of: "buffer_size: 1024", with: "buffer_size: 4611686018427387904")
        let sizeProblems = validator.problems(in: PipelineDocument(file: "p.yaml", text: huge, environment: ["ENV": "prod"]))
            .map(\.description)
        #expect(sizeProblems.count == 1 && sizeProblems[0].contains("buffer_size")
                    && sizeProblems[0].contains("expected 1 to 16777216 events, got 4611686018427387904"), "\(sizeProblems)")
        #expect(problems.count == expected.count, "\(problems)")
        for (problem, prefix) in zip(problems, expected) { #expect(problem.hasPrefix(prefix), "\(problem)") }
    }

    @Test func everyBadOptionOfAComponentIsReportedAtOnce() {
        let yaml = """
            sources:
              k: {type: kernel, paths: [/]}
            transforms:
              f: {type: filter, inputs: [k], path_glob: "/etc/[a", comm: [a-name-of-16-bytes], buffer_size: 0}
            sinks:
              out: {type: stdout, inputs: [f]}
            """
        let problems = PipelineValidator(registry: Self.registry)
            .problems(in: PipelineDocument(file: "p.yaml", text: yaml, environment: [:])).map(\.description)
        #expect(problems.count == 3, "\(problems)")
        for option in ["path_glob", "comm", "buffer_size"] {
            #expect(problems.contains { $0.contains("option '\(option)'") }, "\(option) missing from \(problems)")
        }
    }

    @Test func valuesFromTheEnvironmentAreNeverEchoed() {
        let yaml = """
            sources:
              k: {type: kernel, paths: [/]}
            transforms:
              some: {type: sample, inputs: [k], rate: "${RATE}"}
            sinks:
              out: {type: stdout, inputs: [some], format: "${FORMAT}"}
            """
        let environment = ["RATE": "Hunter2-S3cr3t", "FORMAT": "xml-S3cr3t"]
        let problems = PipelineValidator(registry: Self.registry)
            .problems(in: PipelineDocument(file: "p.yaml", text: yaml, environment: environment)).map(\.description)
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.allSatisfy { !$0.contains("S3cr3t") }, "a secret in \(problems)")
        #expect(problems.contains { $0.contains("'${RATE}'") } && problems.contains { $0.contains("'${FORMAT}'") }, "\(problems)")
    }

    @Test func transformsBuiltFromAFileFilterAPipeline() throws {
        let yaml = """
            sources:
              k: {type: kernel, paths: [/]}
            transforms:
              etc: {type: filter, inputs: [k], path_prefix: /etc}
              half: {type: sample, inputs: [etc], rate: 2}
            sinks:
              out: {type: stdout, inputs: [half]}
            """
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: [:])
        #expect(PipelineValidator(registry: Self.registry).problems(in: document).isEmpty)
        let transforms = try document.components.filter { $0.role == .transform }.map { component in
            let built = try Self.registry.type(named: component.type!)!
                .build(component.componentOptions, context: ComponentContext(name: component.name))
            guard case .transform(let transform) = built else { throw CocoaError(.featureUnsupported) }
            return transform
        }
        let events = (0..<10).map { makeEvent(seq: $0, path: Array(($0 % 2 == 0 ? "/etc/f\($0)" : "/tmp/f\($0)").utf8)) }
        let sink = CollectingSink(name: "out")
        let pipeline = Pipeline(source: ArraySource(events), transforms: transforms, sinks: [sink])
        try pipeline.run()
        #expect(sink.events.map(\.pid) == [1000, 1004, 1008])
        #expect(pipeline.stats.transforms.map(\.filtered) == [5, 2])
    }
}
