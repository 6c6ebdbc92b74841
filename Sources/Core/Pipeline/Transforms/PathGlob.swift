/// A shell glob matched against a whole path given as raw bytes (the
/// `path_glob` condition of `filter`).
///
/// Syntax: `*` any run of characters but `/`; `**` any run, `/` included;
/// `**/` zero or more whole directories (`/a/**/b` matches `/a/b` and
/// `/a/x/y/b`); `?` one character but `/`; `[abc]`, `[a-z]`, `[!a-z]` or
/// `[^a-z]` one character (never `/`) in, or not in, the set; `\c` the
/// character c itself. A glob starts with `/` or `**`: it matches the whole
/// absolute path, so a relative one could never match.
///
/// File names are raw bytes, not text: a well-formed UTF-8 sequence is one
/// character (`?` matches `é`), and a byte that is not part of one is a
/// character of its own that equals no character of the glob. So `?`, `*`
/// and negated sets match it, literals never do — as opposed to matching a
/// lossy String, where such a byte would turn into U+FFFD and match a
/// literal U+FFFD.
///
/// The glob is compiled once into a small automaton run as a set of states
/// per character: time proportional to path length × glob length whatever
/// the stars (no backtracking blow-up), and no heap allocation per match
/// (the state sets live on the stack).
import FSProbeCore
public struct PathGlob: Sendable {
    /// Why a glob was rejected.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Keeps the automaton's state sets small enough for the stack.
    public static let maximumStates = 1024

    public let pattern: String
    private let states: [State]
    private let sets: [ScalarSet]

    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        var parser = Parser(Array(pattern.unicodeScalars))
        try parser.parse()
        states = parser.states
        sets = parser.sets
    }

    /// Whether the glob matches all of `path`.
    public func matches(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        let accept = states.count
        let words = (accept + 64) >> 6
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * words) { buffer in
            var current = UnsafeMutableBufferPointer(rebasing: buffer[0..<words])
            var next = UnsafeMutableBufferPointer(rebasing: buffer[words..<(2 * words)])
            current.update(repeating: 0)
            current.insert(0)
            close(current)
            var index = 0
            while index < path.count {
                let (character, length) = Self.character(in: path, at: index)
                next.update(repeating: 0)
                var alive = false
                for word in 0..<words {
                    var bits = current[word]
                    while bits != 0 {
                        let state = word << 6 | bits.trailingZeroBitCount
                        bits &= bits &- 1
                        guard state < accept else { continue }
                        let s = states[state]
                        if s.first.matches(character, sets) { next.insert(s.firstTarget); alive = true }
                        if s.second.matches(character, sets) { next.insert(s.secondTarget); alive = true }
                    }
                }
                guard alive else { return false }
                close(next)
                swap(&current, &next)
                index += length
            }
            return current.contains(accept)
        }
    }

    public func matches(_ path: [UInt8]) -> Bool {
        path.withUnsafeBufferPointer { matches($0) }
    }

    /// Adds the states reachable without consuming a character. Empty moves
    /// only go forward, so one pass in order reaches them all.
    private func close(_ set: UnsafeMutableBufferPointer<UInt64>) {
        for state in states.indices where set.contains(state) {
            if states[state].empty >= 0 { set.insert(states[state].empty) }
        }
    }

    /// The character at `index`: a Unicode scalar for well-formed UTF-8,
    /// else the lone byte tagged so that it equals no scalar.
    static func character(in path: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int) {
        let lead = path[index]
        if lead < 0x80 { return (UInt32(lead), 1) }
        let length = UTF8Scanner.sequenceLength(path, at: index)
        guard length > 0 else { return (Self.loneByteTag | UInt32(lead), 1) }
        var scalar = UInt32(lead) & (0x7F >> UInt32(length))
        for offset in 1..<length { scalar = scalar << 6 | UInt32(path[index + offset] & 0x3F) }
        return (scalar, length)
    }

    static let loneByteTag: UInt32 = 0x8000_0000
    static let slash = UInt32(UInt8(ascii: "/"))

    /// What one move of the automaton accepts.
    enum Matcher: Sendable {
        case none
        case scalar(UInt32)
        case slash
        case notSlash
        case any
        case set(Int)

        @inline(__always)
        func matches(_ character: UInt32, _ sets: [ScalarSet]) -> Bool {
            switch self {
            case .none: false
            case .scalar(let scalar): character == scalar
            case .slash: character == PathGlob.slash
            case .notSlash: character != PathGlob.slash
            case .any: true
            case .set(let index): character != PathGlob.slash && sets[index].contains(character)
            }
        }
    }

    /// One state: up to two moves on a character, and one empty move
    /// (`empty`, -1 when none).
    struct State: Sendable {
        var first = Matcher.none, firstTarget = 0
        var second = Matcher.none, secondTarget = 0
        var empty = -1
    }

    /// A bracket expression: scalar ranges, possibly negated.
    struct ScalarSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        var negated = false

        func contains(_ character: UInt32) -> Bool {
            ranges.contains { $0.contains(character) } != negated
        }
    }

    private struct Parser {
        let pattern: [Unicode.Scalar]
        var index = 0
        var states: [State] = []
        var sets: [ScalarSet] = []

        init(_ pattern: [Unicode.Scalar]) { self.pattern = pattern }

        mutating func parse() throws(SyntaxError) {
            guard !pattern.isEmpty else { throw SyntaxError(message: "is empty") }
            guard pattern[0] == "/" || pattern.starts(with: ["*", "*"]) else {
                throw SyntaxError(message: "does not start with / or **: a glob matches the whole absolute path")
            }
            while index < pattern.count {
                switch pattern[index] {
                case "*": stars()
                case "?": step(.notSlash)
                case "[": try bracket()
                case "\\":
                    guard index + 1 < pattern.count else { throw SyntaxError(message: "ends with a lone \\") }
                    index += 1
                    step(.scalar(pattern[index].value))
                default: step(.scalar(pattern[index].value))
                }
                guard states.count <= PathGlob.maximumStates else {
                    throw SyntaxError(message: "is too long (more than \(PathGlob.maximumStates) elements)")
                }
            }
        }

        /// A state that consumes one character matching `matcher`.
        mutating func step(_ matcher: Matcher) {
            states.append(State(first: matcher, firstTarget: states.count + 1))
            index += 1
        }

        mutating func stars() {
            var end = index
            while end < pattern.count && pattern[end] == "*" { end += 1 }
            let here = states.count
            if end - index == 1 {
                states.append(State(first: .notSlash, firstTarget: here, empty: here + 1))
            } else if end < pattern.count && pattern[end] == "/" {
                // `**/`: whole directories, so nothing or runs each ending in `/`.
                // `here`: at a component start; `here + 1`: inside a component.
                states.append(State(first: .slash, firstTarget: here, second: .notSlash, secondTarget: here + 1,
                                    empty: here + 2))
                states.append(State(first: .notSlash, firstTarget: here + 1, second: .slash, secondTarget: here))
                end += 1
            } else {
                states.append(State(first: .any, firstTarget: here, empty: here + 1))
            }
            index = end
        }

        mutating func bracket() throws(SyntaxError) {
            let start = index
            index += 1
            var set = ScalarSet()
            if index < pattern.count && (pattern[index] == "!" || pattern[index] == "^") {
                set.negated = true
                index += 1
            }
            var first = true
            while true {
                guard index < pattern.count else {
                    throw SyntaxError(message: "has an unclosed [ at character \(start + 1)")
                }
                var low = pattern[index]
                if low == "]" && !first { break }
                first = false
                if low == "[" && index + 1 < pattern.count && [":", ".", "="].contains(pattern[index + 1]) {
                    throw SyntaxError(message: "uses [\(pattern[index + 1])...\(pattern[index + 1])], which is not supported: list the characters")
                }
                if low == "\\" && index + 1 < pattern.count {
                    index += 1
                    low = pattern[index]
                }
                index += 1
                var high = low
                if index + 1 < pattern.count && pattern[index] == "-" && pattern[index + 1] != "]" {
                    index += 1
                    if pattern[index] == "\\" && index + 1 < pattern.count { index += 1 }
                    high = pattern[index]
                    index += 1
                    guard low <= high else {
                        throw SyntaxError(message: "has a reversed range \(low)-\(high)")
                    }
                }
                if (low.value...high.value).contains(PathGlob.slash) {
                    throw SyntaxError(message: "has / in a [...] set, which never matches /: a set matches within one name")
                }
                set.ranges.append(low.value...high.value)
            }
            index += 1  // the closing ]
            sets.append(set)
            states.append(State(first: .set(sets.count - 1), firstTarget: states.count + 1))
        }
    }
}

extension UnsafeMutableBufferPointer where Element == UInt64 {
    /// Bit-set operations on the automaton's state sets.
    fileprivate func insert(_ bit: Int) { self[bit >> 6] |= 1 << UInt64(bit & 63) }
    fileprivate func contains(_ bit: Int) -> Bool { self[bit >> 6] & (1 << UInt64(bit & 63)) != 0 }
}
