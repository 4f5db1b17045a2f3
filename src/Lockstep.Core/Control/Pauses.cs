using System.Collections.Concurrent;

namespace Lockstep.Control;

/// <summary>The pauses in effect, read by the delivery loop and the sources on every pass; the journal holds the durable copy.</summary>
internal sealed class Pauses
{
    private readonly ConcurrentDictionary<(PauseKind, string), Pause> _pauses = new();

    public void Load(IEnumerable<Pause> pauses)
    {
        _pauses.Clear();
        foreach (var pause in pauses) _pauses[(pause.Kind, pause.Name)] = pause;
    }

    public bool Has(PauseKind kind, string name) => !_pauses.IsEmpty && _pauses.ContainsKey((kind, name));

    public Pause? Get(PauseKind kind, string name) => _pauses.GetValueOrDefault((kind, name));

    public void Add(Pause pause) => _pauses[(pause.Kind, pause.Name)] = pause;

    public void Remove(PauseKind kind, string name) => _pauses.TryRemove((kind, name), out _);

    public IReadOnlyList<Pause> All => [.. _pauses.Values.OrderBy(p => p.Kind).ThenBy(p => p.Name, StringComparer.Ordinal)];
}
