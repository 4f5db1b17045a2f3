namespace Lockstep.Encryption;

/// <summary>A flow's <c>encrypt:</c>: the mapped fields (dotted paths) to seal, with the current key.</summary>
public sealed record EncryptOptions(IReadOnlyList<string> Fields, FieldKey Key);
