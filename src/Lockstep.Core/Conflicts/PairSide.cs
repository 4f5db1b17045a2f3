namespace Lockstep.Conflicts;

/// <summary>
/// One side of a two-way pair: the sources whose changes come in from that system and the flow that writes to it.
/// <see cref="Name"/> is <c>source</c> or <c>target</c>.
/// </summary>
public sealed record PairSide(string Name, string? System, IReadOnlyList<string> Sources, string Flow);
