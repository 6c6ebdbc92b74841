/// An option value as written in a pipeline file (after `${VAR}` interpolation).
public enum OptionValue: Sendable, Equatable {
    case scalar(String)
    case list([String])
}
