namespace Lockstep.Encryption;

/// <summary>An AES-256 key with its id; the id travels in every envelope so receivers pick the right key after a rotation.</summary>
public sealed record FieldKey(string Id, byte[] Key);
