import Foundation
import FSProbeTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP forwarder between a client and a broker that can cut the
/// network: `cutOff()` closes every connection and the listening port (new
/// connections are refused), `restore()` listens again on the same port.
///
/// An outage seen from the client exactly as a broker going away, while the
/// broker (in-memory storage) keeps the messages delivered before it.
public final class TCPOutageProxy: @unchecked Sendable {
    public let port: UInt16
    private let upstreamPort: UInt16
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var connections: Set<Int32> = []

    public init(port: UInt16, forwardingTo upstreamPort: UInt16) throws {
        self.port = port
        self.upstreamPort = upstreamPort
        try listen()
    }

    deinit { cutOff() }

    /// Closes the listener and every forwarded connection, both sides.
    public func cutOff() {
        lock.lock()
        let sockets = connections.union(listener >= 0 ? [listener] : [])
        connections.removeAll()
        listener = -1
        lock.unlock()
        for socket in sockets {
            shutdown(socket, Int32(SHUT_RDWR))
            close(socket)
        }
    }

    public func restore() throws { try listen() }

    private func listen() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(socket, 64) == 0 else {
            close(socket)
            throw FSProbeProcess.Failure("proxy cannot listen on port \(port): errno \(errno)")
        }
        lock.lock()
        listener = socket
        lock.unlock()
        Thread { [self] in acceptLoop(socket) }.start()
    }

    private func acceptLoop(_ socket: Int32) {
        while true {
            let client = accept(socket, nil, nil)
            guard client >= 0 else { return }  // closed by cutOff()
            let upstream = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0, track([client, upstream]) else {
                close(client)
                close(upstream)
                continue
            }
            Thread { [self] in pump(from: client, to: upstream) }.start()
            Thread { [self] in pump(from: upstream, to: client) }.start()
        }
    }

    /// Registers sockets unless the proxy was cut off meanwhile.
    private func track(_ sockets: [Int32]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard listener >= 0 else { return false }
        connections.formUnion(sockets)
        return true
    }

    private func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + offset, count - offset) }
                guard written > 0 else { return }
                offset += written
            }
        }
        // One side ended: end the other, so the client sees the connection drop.
        shutdown(destination, Int32(SHUT_RDWR))
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
