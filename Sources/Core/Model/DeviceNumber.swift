/// A device number in the kernel's own encoding (`MKDEV`: major << 20 |
/// minor), as the kernel reports a superblock's `s_dev` and events carry it.
/// One place for it: the mount table parses it, the outputs print it.
public enum DeviceNumber {
    /// Major and minor of `device`.
    public static func split(_ device: UInt32) -> (major: UInt32, minor: UInt32) {
        (device >> 20, device & 0xfffff)
    }

    /// The device number of `major:minor`; nil if either is out of its range.
    public static func make(major: UInt32, minor: UInt32) -> UInt32? {
        guard major < 1 << 12, minor < 1 << 20 else { return nil }
        return major << 20 | minor
    }

    /// Appends `major:minor`, as mountinfo and `ls -l` show devices.
    public static func appendText(_ device: UInt32, to output: inout [UInt8]) {
        appendText(device, into: &output)
    }

    static func appendText(_ device: UInt32, into output: inout some ByteOutput) {
        let (major, minor) = split(device)
        output.appendDecimal(UInt64(major))
        output.append(UInt8(ascii: ":"))
        output.appendDecimal(UInt64(minor))
    }
}
