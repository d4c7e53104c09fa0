// Placeholder until the target is filled in.
enum ClientPlaceholder {}
